"""Figures of the model chapter: temporal reach and the causality check."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from vist import FPS


def temporal_reach(rows: list[dict], title: str = "") -> plt.Figure:
    """Cumulative frames before t each stage's output depends on (rows of ``vist.model.temporal_reach``)."""
    fig, ax = plt.subplots(figsize=(8, 3.4))
    past = [r["past"] for r in rows]
    ax.barh(range(len(rows)), past, color="tab:blue")
    ax.set_yticks(range(len(rows)), [r["stage"] for r in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("frames before t that reach the output at t")
    top = ax.secondary_xaxis("top", functions=(lambda f: f / FPS * 1000, lambda ms: ms * FPS / 1000))
    top.set_xlabel("milliseconds")
    for i, p in enumerate(past):
        ax.text(p + 1, i, f"{p}", va="center", fontsize=7)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def causality(profiles: dict[str, np.ndarray], footprints: dict[str, np.ndarray], t0: int,
              t_probe: int) -> plt.Figure:
    """Left: output change per frame after redrawing inputs from ``t0`` on. Right: input footprint
    of the output at ``t_probe`` (|∂y/∂x| per input frame). One line per model."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    tiny = 1e-12
    for name, prof in profiles.items():
        axes[0].semilogy(np.maximum(prof, tiny), label=name, lw=1.2)
    axes[0].axvline(t0, color="k", ls="--", lw=0.8)
    axes[0].set_ylim(tiny / 2, None)
    axes[0].set_xlabel("frame t")
    axes[0].set_ylabel("max |Δ output| (floor 1e-12 = exactly 0)")
    axes[0].set_title(f"inputs redrawn from frame {t0} on (dashed)", fontsize=9)
    for name, fp in footprints.items():
        axes[1].semilogy(np.maximum(fp / max(fp.max(), tiny), tiny), label=name, lw=1.2)
    axes[1].axvline(t_probe, color="k", ls="--", lw=0.8)
    axes[1].set_ylim(tiny / 2, 2)
    axes[1].set_xlabel("input frame s")
    axes[1].set_ylabel("|∂ y_t / ∂ x_s| (normalised)")
    axes[1].set_title(f"which input frames the output at t = {t_probe} reads", fontsize=9)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig
