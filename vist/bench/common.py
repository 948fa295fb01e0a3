"""Shared pieces of the benchmark commands: timing, temporary environment variables, result tables.

The device description and commit of a table come from :mod:`vist.env`.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from vist.cache import write_json_atomic
from vist.env import git_commit


def median_time(fn: Callable[[], Any], repeat: int = 5, warmup: int = 1,
                sync: Callable[[], None] | None = None) -> float:
    """Median wall time of ``fn()`` in seconds over ``repeat`` calls after ``warmup`` calls.

    ``sync`` (e.g. ``torch.cuda.synchronize``) is called before reading the clock on GPUs.
    """
    return median_times([fn], repeat, warmup, sync, rounds=1)[0]


def median_times(fns: Sequence[Callable[[], Any]], repeat: int = 5, warmup: int = 1,
                 sync: Callable[[], None] | None = None, rounds: int = 3) -> list[float]:
    """Median wall time in seconds of each of ``fns`` over ``repeat`` timed calls, in turns.

    The calls are split into ``rounds`` blocks per function, taken in turns (a a a, b b b, a a a,
    …), each block after ``warmup`` untimed calls: every implementation meets the same drift in
    machine load (a shared CPU machine), while the untimed calls absorb the switch from one
    runtime to the other (cold caches, another library's thread pool still spinning).
    """
    times: list[list[float]] = [[] for _ in fns]
    rounds = max(1, min(rounds, repeat))
    for r in range(rounds):
        for fn, out in zip(fns, times, strict=True):
            for _ in range(warmup):
                fn()
            if sync:
                sync()
            for _ in range(repeat // rounds + (r < repeat % rounds)):
                t0 = time.perf_counter()
                fn()
                if sync:
                    sync()
                out.append(time.perf_counter() - t0)
    return [statistics.median(t) for t in times]


@contextmanager
def environment(**values: str) -> Iterator[None]:
    """Set environment variables (e.g. ``VIST_CACHE_DIR`` to a temporary folder) for a block,
    then restore them as they were (unset ones are unset again)."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@dataclass
class BenchTable:
    """Rows of one benchmark run, with its provenance.

    Attributes:
        name: the benchmark (``"data"``, ``"kernels"``, …).
        device: the machine, in words (:func:`vist.env.device_name`).
        rows: one dict per measurement; every row has the same keys.
        notes: free-text lines printed under the table (targets, reference figures).
    """

    name: str
    device: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    date: str = field(default_factory=lambda: _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
    commit: str = field(default_factory=git_commit)

    def to_text(self) -> str:
        """The table as aligned plain text, with a header naming device, date and commit."""
        lines = [f"vist.bench {self.name} — {self.device} — {self.date} — commit {self.commit}"]
        if self.rows:
            keys = list(self.rows[0])
            cells = [[_fmt(r.get(k)) for k in keys] for r in self.rows]
            widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]
            lines.append("  ".join(k.ljust(w) for k, w in zip(keys, widths, strict=True)))
            lines.append("  ".join("-" * w for w in widths))
            lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
        lines += self.notes
        return "\n".join(lines)

    def to_frame(self):
        """The rows as a pandas DataFrame (for chapters)."""
        return pd.DataFrame(self.rows)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the table as JSON, atomically."""
        path = Path(path)
        return write_json_atomic(path, asdict(self), indent=2)  # strict JSON: NaN written as null

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> BenchTable:
        """Read a table written by :meth:`save`."""
        return cls(**json.loads(Path(path).read_text()))


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def stored_sections(path: str | os.PathLike[str]) -> list[tuple[str, Any]]:
    """A saved result file as ``(heading, table or text)`` sections, for display in a chapter.

    Reads both :class:`BenchTable` files (``python -m vist.bench … --save``) and the JSON of the
    ``tools/gpu_*.py`` scripts (a header with the device, then one section per key). Tables are
    pandas DataFrames; notes are strings.
    """
    path = Path(path)
    data = json.loads(path.read_text())
    if "rows" in data:
        t = BenchTable.load(path)
        return [(f"{path.name}: {t.device} — {t.date} — commit {t.commit}", t.to_frame()),
                *((f"note: {n}", None) for n in t.notes)]
    out: list[tuple[str, Any]] = [
        (f"{path.name}: {data.get('device', 'device not recorded')} — torch {data.get('torch', '?')}", None)]
    for key, value in data.items():
        if key == "provenance_note" and isinstance(value, str):  # added when a result was saved
            out.append((f"note: {value}", None))
        elif isinstance(value, dict) and "rows" in value:
            out.append((f"[{key}]", pd.DataFrame(value["rows"])))
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            out.append((f"[{key}]", pd.DataFrame(value)))
        elif isinstance(value, dict) and isinstance(value.get("table"), str):  # a profiler's text table
            out.append((f"[{key}]\n{value['table']}", None))
        elif isinstance(value, dict):
            out.append((f"[{key}]", pd.json_normalize(value)))
    return out
