"""Figures of the speed chapter (13): the stored training-step run and the stored kernel benchmark.

Each function takes the frame that :mod:`vist.bench.summary` reads from a stored benchmark file
(it does not read files itself) and returns the figure; the file's device, date and commit go in
the caption under it (:func:`vist.report.show`).
"""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from vist.plots.style import COLUMN_INCHES

REFERENCE = "reference"
"""The variant name of the authors' module in a training-step frame."""


def format_ms(ms: float) -> str:
    """``0.143``, ``42.4``, ``1688``: three significant digits, no exponent."""
    return f"{ms:.3g}" if abs(ms) < 1000 else f"{ms:.0f}"


def train_step_chart(frame: pd.DataFrame, target_ms: float = 40.0) -> Figure:
    """A bar chart of one training-step run: ms per step of each variant (grey: the authors'
    module, ``"reference"``; blue: the others), the speed-up over it and the peak memory written
    next to each bar, and ``target_ms`` as a dashed line.

    ``frame``: one row per variant, in the order drawn, with the columns ``variant``,
    ``ms per step``, ``× faster than the reference`` and ``peak GiB`` (NaN where not measured;
    :func:`vist.bench.summary.train_step_speeds`).

    Raises:
        ValueError: ``frame`` has no rows.
    """
    if frame.empty:
        raise ValueError("train_step_chart: expected one row per variant, found none")
    n = len(frame)
    reference = (frame["variant"] == REFERENCE).to_numpy()
    ms = frame["ms per step"].to_numpy(dtype=np.float64)
    faster = frame["× faster than the reference"].to_numpy(dtype=np.float64)
    peak = frame["peak GiB"].to_numpy(dtype=np.float64)
    fig, ax = plt.subplots(figsize=(6.8, 0.45 * n + 1.3))
    ax.barh(range(n), ms, color=np.where(reference, "0.55", "tab:blue"))
    for i, step in enumerate(ms):
        text = f" {step:.0f} ms"
        if not reference[i] and np.isfinite(faster[i]):
            text += f" ({faster[i]:.1f}× faster)"
        if np.isfinite(peak[i]) and peak[i] > 0:
            text += f", {peak[i]:.1f} GiB"
        ax.text(step, i, text, va="center")
    ax.axvline(target_ms, color="tab:red", ls="--", lw=1)
    ax.text(target_ms, n - 0.4, f" target {target_ms:.0f} ms", color="tab:red", va="bottom")
    ax.set_yticks(range(n), [v.replace(REFERENCE, "authors' module (reference)") for v in frame["variant"]])
    ax.invert_yaxis()
    ax.set_xlim(0, ms.max() * 1.75)
    ax.set_xlabel("ms per training step (median)")
    ax.grid(axis="y", visible=False)
    fig.tight_layout()
    return fig


def kernels_chart(frame: pd.DataFrame) -> Figure:
    """A bar chart (log time) of kernel measurements, vist (blue) against the other
    implementations (grey), each bar labelled with its time and how many times slower than vist.

    ``frame``: one row per implementation and measurement, with the columns ``measurement``,
    ``implementation``, ``time (ms)`` and ``× slower than vist`` (NaN for vist's own rows;
    :func:`vist.bench.summary.kernel_speeds`).

    Raises:
        ValueError: ``frame`` has no rows.
    """
    if frame.empty:
        raise ValueError("kernels_chart: expected one row per implementation, found none")
    df = frame.reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(COLUMN_INCHES, 0.5 * len(df) + 1.4))
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
    return fig
