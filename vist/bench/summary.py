"""Short speed tables for the book, read from the stored benchmark files (``benchmarks/kernels*.json``).

A benchmark file holds every measurement of a run (tile sweeps, kernel-only timings, several ways
of timing one call); a chapter shows the few rows that carry its point. :func:`speed_table` picks
the rows of one kind of measurement (e.g. every SD-KL row, whatever rows the file has), keeps one
timing per implementation and names the file's device, date and commit in a caption.
"""

from __future__ import annotations

import json
import os
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from vist.bench.common import BenchTable
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


@dataclass
class SpeedTable:
    """The rows a chapter shows (``frame``: measurement, shape, implementation, time, speed-up) and
    the caption naming the file, device, date and commit."""

    frame: pd.DataFrame
    caption: str

    @property
    def formats(self) -> dict[str, Any]:
        """Display formats of the columns, for :func:`vist.report.table`."""
        return {"time (ms)": format_ms, "× slower than vist": "{:.1f}×"}


def format_ms(ms: float) -> str:
    """``0.143``, ``42.4``, ``1688``: three significant digits, no exponent."""
    return f"{ms:.3g}" if abs(ms) < 1000 else f"{ms:.0f}"


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


def train_step_chart(path: str | os.PathLike[str], target_ms: float = 40.0) -> tuple[Figure, str]:
    """A bar chart of one stored GPU training-step run (``tools/gpu_train_step.py``'s JSON): ms per
    step of each variant, the authors' module ("reference") first, the target as a line; and its
    caption (device, torch, date and commit as the file records them).

    Raises:
        ValueError: the file has no ``train_step`` rows with a time.
    """
    path = Path(path)
    data = json.loads(path.read_text())
    rows = [r for r in data.get("train_step", {}).get("rows", []) if r.get("ms_per_step")]
    if not rows:
        raise ValueError(f"{path.name}: expected train_step rows with ms_per_step, found none")
    ref = next((r["ms_per_step"] for r in rows if r["impl"] == "reference"), None)
    fig, ax = plt.subplots(figsize=(6.8, 0.45 * len(rows) + 1.3))
    names = [r["impl"].replace("reference", "authors' module (reference)") for r in rows]
    ms = [r["ms_per_step"] for r in rows]
    colours = ["0.55" if r["impl"] == "reference" else "tab:blue" for r in rows]
    ax.barh(range(len(rows)), ms, color=colours)
    for i, r in enumerate(rows):
        text = f" {r['ms_per_step']:.0f} ms"
        if ref and r["impl"] != "reference":
            text += f" ({ref / r['ms_per_step']:.1f}× faster)"
        if r.get("peak_mib"):
            text += f", {r['peak_mib'] / 1024:.1f} GiB"
        ax.text(r["ms_per_step"], i, text, va="center")
    ax.axvline(target_ms, color="tab:red", ls="--", lw=1)
    ax.text(target_ms, len(rows) - 0.4, f" target {target_ms:.0f} ms", color="tab:red", va="bottom")
    ax.set_yticks(range(len(rows)), names)
    ax.invert_yaxis()
    ax.set_xlim(0, max(ms) * 1.75)
    ax.set_xlabel("ms per training step (median)")
    ax.grid(axis="y", visible=False)
    fig.tight_layout()
    commit = re.search(r"code measured was commit (\w+)", data.get("provenance_note", ""))
    caption = (f"{path.name}: {data.get('device', 'device not recorded')}, torch {data.get('torch', '?')}, "
               f"{str(data['date'])[:10] if data.get('date') else 'date not recorded'}, commit "
               f"{commit.group(1) if commit else data.get('commit', 'not recorded')}")
    return fig, caption


def kernels_chart(path: str | os.PathLike[str], measurements: tuple[str, ...] = ("SD-KL", "soft-DTW")
                  ) -> tuple[Figure, str]:
    """A bar chart (log time) of the stored kernel benchmark ``path``: each measurement of
    ``measurements``, vist against the other implementations; and the caption of the file."""
    tables = [speed_table(path, m) for m in measurements]
    df = pd.concat([t.frame for t in tables], ignore_index=True)
    fig, ax = plt.subplots(figsize=(7.2, 0.5 * len(df) + 1.4))
    vist_rows = df["implementation"].str.startswith("vist")
    ax.barh(range(len(df)), df["time (ms)"], color=np.where(vist_rows, "tab:blue", "0.6"))
    for i, r in df.iterrows():
        slower = "" if np.isnan(r["× slower than vist"]) else f" ({r['× slower than vist']:.1f}× vist)"
        ax.text(r["time (ms)"], i, f" {format_ms(r['time (ms)'])} ms{slower}", va="center")
    ax.set_yticks(range(len(df)), [textwrap.shorten(m, 36, placeholder="…") + "\n"
                                   + textwrap.shorten(i, 36, placeholder="…")
                                   for m, i in zip(df["measurement"], df["implementation"], strict=True)])
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlim(df["time (ms)"].min() / 2, df["time (ms)"].max() * 30)
    ax.set_xlabel("ms per call (median, log scale)")
    ax.grid(axis="y", visible=False)
    fig.tight_layout()
    return fig, tables[0].caption
