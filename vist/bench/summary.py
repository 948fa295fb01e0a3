"""Short speed tables for the book, read from the stored benchmark files (``benchmarks/*.json``).

A benchmark file holds every measurement of a run (tile sweeps, kernel-only timings, several ways
of timing one call); a chapter shows the few rows that carry its point. :func:`speed_table` picks
the rows of one kind of measurement (e.g. every SD-KL row, whatever rows the file has), keeps one
timing per implementation and names the file's device, date and commit in a caption;
:func:`kernel_speeds` and :func:`train_step_speeds` read the frames that the speed chapter's
figures (:mod:`vist.plots.speed`) draw.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vist.bench.common import BenchTable
from vist.plots.speed import format_ms
from vist.report import table as report_table

TIME_COLUMNS = ("median_ms", "ms")
"""The names a stored file gives its time per call, in milliseconds (CPU files: ``median_ms``)."""
LEFT_OUT = ("sweep", "alone")
"""Rows whose measurement name contains one of these are machine detail (tile sweeps, one kernel
timed alone): kept in the file, not shown."""
INTERNAL = r",?\s*SPEC §[\d.]+"
"""References to the project's internal notes in stored implementation names, not shown."""
GPU_TIMING = "CUDA graph replay"
"""On a GPU the time of one training call without launch overhead; used where a file has it."""
FORMATS: dict[str, Any] = {"time (ms)": format_ms, "× slower than vist": "{:.1f}×", "ms per step": "{:.1f}",
                           "× faster than the reference": "{:.2f}", "peak GiB": "{:.2f}"}
"""Display formats of the columns the tables here have."""


@dataclass
class SpeedTable:
    """The rows a chapter shows (``frame``: measurement, shape, implementation, time, speed-up) and
    the caption naming the file, device, date and commit."""

    frame: pd.DataFrame
    caption: str

    @property
    def formats(self) -> dict[str, Any]:
        """Display formats of the frame's columns (:data:`FORMATS`), for :func:`vist.report.table`."""
        return {c: f for c, f in FORMATS.items() if c in self.frame.columns}


def speed_table(path: str | os.PathLike[str], contains: str) -> SpeedTable:
    """The measurements of ``path`` whose name contains ``contains`` (case-insensitive).

    Columns: ``measurement``, ``shape``, ``implementation``, ``time (ms)`` and ``× slower than
    vist`` (each row's time over the vist row's of the same measurement and shape; "–" for vist
    itself). Where the file times a call several ways (GPU files' ``how``), only the CUDA-graph
    replay is kept if present, else the first.

    Raises:
        ValueError: the file has no time column, or no row matches ``contains``.
    """
    path = Path(path)
    table = BenchTable.load(path)
    df = table.to_frame()
    time_col = next((c for c in TIME_COLUMNS if c in df.columns), None)
    if time_col is None:
        raise ValueError(f"{path.name}: expected a time column {' or '.join(TIME_COLUMNS)}, found {list(df.columns)}")
    keep = df["what"].str.contains(contains, case=False, regex=False)
    keep &= ~df["what"].str.contains("|".join(LEFT_OUT), case=False)
    df = df[keep]
    if df.empty:
        raise ValueError(f"{path.name}: expected rows whose 'what' contains {contains!r}, found none "
                         f"(measurements: {sorted(set(table.to_frame()['what']))})")
    if "how" in df.columns:  # one timing per implementation: the graph replay first, else the first row
        graph = df["how"].astype(str).str.startswith(GPU_TIMING)
        first = df.assign(_graph=graph).sort_values("_graph", ascending=False, kind="stable")
        df = first.drop_duplicates(["what", "shape", "impl"]).sort_index()
    out = pd.DataFrame({"measurement": df["what"].str.replace(r"\s*\((CPU|GPU)\)", "", regex=True),
                        "shape": df["shape"],
                        "implementation": df["impl"].str.replace(INTERNAL, "", regex=True),
                        "time (ms)": df[time_col].astype(float)})
    if "how" in df.columns:
        out["timed as"] = df["how"]
    ref = out.groupby(["measurement", "shape"], sort=False)["time (ms)"].transform(
        lambda t: t[out.loc[t.index, "implementation"].str.startswith("vist")].min())
    slower = out["time (ms)"] / ref
    out["× slower than vist"] = np.where(out["implementation"].str.startswith("vist"), np.nan, slower)
    caption = f"{path.name}: {table.device}, {table.date[:10]}, commit {table.commit}"
    return SpeedTable(out.reset_index(drop=True), caption)


STORED_KERNELS = ("kernels_cpu.json", "kernels_gpu.json")
"""The stored kernel benchmarks a chapter shows, CPU first."""


def stored_speed_tables(folder: str | os.PathLike[str], contains: str, title: str) -> list[Any]:
    """For each stored kernel benchmark in ``folder`` (:data:`STORED_KERNELS`): a reader's table
    (:func:`vist.report.table`) of its ``contains`` rows captioned ``title`` and the file's
    device, date and commit — or, for a missing file, a line (Markdown) saying so."""
    from IPython.display import Markdown  # lazy: IPython, present only where the book runs

    out: list[Any] = []
    for name in STORED_KERNELS:
        path = Path(folder) / name
        if not path.exists():
            out.append(Markdown(f"No stored `{name}` in `{Path(folder).name}/`."))
            continue
        speed = speed_table(path, contains)
        out.append(report_table(speed.frame, f"{title} {speed.caption}", formats=speed.formats))
    return out


def small_preset_step(path: str | os.PathLike[str]) -> SpeedTable:
    """The stored comparison of the small preset's Vi-ST training step with the earlier small
    preset's (``python -m vist.bench train-step --small-presets``): one row each (``step``,
    ``shape``, ``ms per step``, ``training frames / s``, ``× the earlier``) and a caption naming
    the file's device, date and commit.

    Raises:
        ValueError: the file has no rows with ``frames_per_s``.
    """
    stored = BenchTable.load(path)
    rows = [r for r in stored.rows if r.get("frames_per_s")]
    if not rows:
        raise ValueError(f"{Path(path).name}: expected rows with frames_per_s "
                         "(python -m vist.bench train-step --small-presets), found none")
    first = rows[0]["frames_per_s"]
    frame = pd.DataFrame([{"step": r["impl"].removeprefix("small preset ").replace("before", "earlier"),
                           "shape": r["shape"], "ms per step": r["ms_per_step"],
                           "training frames / s": r["frames_per_s"],
                           "× the earlier": r["frames_per_s"] / first} for r in rows])
    return SpeedTable(frame, f"{Path(path).name}: {stored.device}, {stored.date[:10]}, commit {stored.commit}")


def train_step_speeds(path: str | os.PathLike[str]) -> SpeedTable:
    """The training-step rows of one stored GPU run (``tools/gpu_train_step.py``'s JSON), in the
    file's order: ``variant``, ``ms per step``, ``× faster than the reference`` (the row
    ``"reference"``, the authors' module, over each; NaN if the file has none) and ``peak GiB``
    (NaN where not recorded); the caption names the device, torch, date and commit as the file
    records them. :func:`vist.plots.speed.train_step_chart` draws it.

    Raises:
        ValueError: the file has no ``train_step`` rows with a time.
    """
    path = Path(path)
    data = json.loads(path.read_text())
    rows = [r for r in data.get("train_step", {}).get("rows", []) if r.get("ms_per_step")]
    if not rows:
        raise ValueError(f"{path.name}: expected train_step rows with ms_per_step, found none")
    ref = next((r["ms_per_step"] for r in rows if r["impl"] == "reference"), np.nan)
    frame = pd.DataFrame([{"variant": r["impl"], "ms per step": r["ms_per_step"],
                           "× faster than the reference": ref / r["ms_per_step"],
                           "peak GiB": r["peak_mib"] / 1024 if r.get("peak_mib") else np.nan} for r in rows])
    commit = re.search(r"code measured was commit (\w+)", data.get("provenance_note", ""))
    caption = (f"{path.name}: {data.get('device', 'device not recorded')}, torch {data.get('torch', '?')}, "
               f"{str(data['date'])[:10] if data.get('date') else 'date not recorded'}, commit "
               f"{commit.group(1) if commit else data.get('commit', 'not recorded')}")
    return SpeedTable(frame, caption)


def kernel_speeds(path: str | os.PathLike[str], measurements: tuple[str, ...] = ("SD-KL", "soft-DTW")
                  ) -> SpeedTable:
    """The rows of the stored kernel benchmark ``path`` for each of ``measurements`` in turn
    (:func:`speed_table`'s columns), with the file's caption. :func:`vist.plots.speed.kernels_chart`
    draws it.

    Raises:
        ValueError: as :func:`speed_table`, for any of ``measurements``.
    """
    tables = [speed_table(path, m) for m in measurements]
    return SpeedTable(pd.concat([t.frame for t in tables], ignore_index=True), tables[0].caption)
