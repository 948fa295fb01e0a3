"""Short speed tables for the book, read from the stored benchmark files (``benchmarks/kernels*.json``).

A benchmark file holds every measurement of a run (tile sweeps, kernel-only timings, several ways
of timing one call); a chapter shows the few rows that carry its point. :func:`speed_table` picks
the rows of one kind of measurement (e.g. every SD-KL row, whatever rows the file has), keeps one
timing per implementation and names the file's device, date and commit in a caption.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vist.bench.common import BenchTable

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

