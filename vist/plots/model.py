"""Figures of the model chapter: temporal reach and the causality check.

Drawn at most ``vist.plots.style.COLUMN_INCHES`` wide with the book's font sizes; what a figure
shows and for which model goes in the caption under it (``vist.report.show``).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from vist import FPS
from vist.plots.style import COLUMN_INCHES


def temporal_reach(rows: list[dict]) -> plt.Figure:
    """Cumulative frames before t each stage's output depends on (rows of ``vist.model.temporal_reach``)."""
    if not rows:
        raise ValueError("temporal_reach: expected one row per stage, found none")
    fig, ax = plt.subplots(figsize=(COLUMN_INCHES, 0.3 * len(rows) + 1.4))
    past = [r["past"] for r in rows]
    ax.barh(range(len(rows)), past, color="tab:blue")
    ax.set_yticks(range(len(rows)), [r["stage"] for r in rows])
    ax.invert_yaxis()
    ax.set_xlim(0, max(past) * 1.12 + 1)
    ax.set_xlabel("frames before t that reach the output at t")
    top = ax.secondary_xaxis("top", functions=(lambda f: f / FPS * 1000, lambda ms: ms * FPS / 1000))
    top.set_xlabel("milliseconds")
    for i, p in enumerate(past):
        ax.text(p + max(past) * 0.01 + 0.5, i, f"{p}", va="center")
    ax.grid(axis="y", visible=False)
    fig.tight_layout()
    return fig


def causality(profiles: dict[str, np.ndarray], footprints: dict[str, np.ndarray], t0: int,
              t_probe: int) -> plt.Figure:
    """Left: output change per frame after redrawing inputs from ``t0`` on. Right: input footprint
    of the output at ``t_probe`` (|∂y/∂x| per input frame). One line per model, one legend below.

    Exact zeros are drawn at a floor of 1e-12 (say so in the caption)."""
    fig, axes = plt.subplots(1, 2, figsize=(COLUMN_INCHES, 4.4), layout="constrained")
    tiny = 1e-12
    colours = {name: f"C{i}" for i, name in enumerate(dict.fromkeys([*profiles, *footprints]))}
    for name, prof in profiles.items():
        axes[0].semilogy(np.maximum(prof, tiny), label=name, lw=1.3, color=colours[name])
    axes[0].axvline(t0, color="k", ls="--", lw=0.8)
    axes[0].set_ylim(tiny / 2, None)
    axes[0].set_xlabel("frame t")
    axes[0].set_ylabel("max |Δ output|")
    axes[0].set_title(f"inputs redrawn from t = {t0}")
    for name, fp in footprints.items():
        axes[1].semilogy(np.maximum(fp / max(fp.max(), tiny), tiny), label=name, lw=1.3, color=colours[name])
    axes[1].axvline(t_probe, color="k", ls="--", lw=0.8)
    axes[1].set_ylim(tiny / 2, 2)
    axes[1].set_xlabel("input frame s")
    axes[1].set_ylabel("|∂y_t / ∂x_s|, normalised")
    axes[1].set_title(f"inputs the output at t = {t_probe} reads")
    handles = {}
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(lab, h)
    fig.legend(handles.values(), handles.keys(), loc="outside lower center", ncol=2, frameon=False)
    return fig
