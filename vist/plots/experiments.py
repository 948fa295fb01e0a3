"""Figures of the discussion experiments (chapters 8–12): ablation, layer depth, losses,
complementary coding, receptive-field recovery. Each takes the rows a :mod:`vist.experiments`
table builder returns (or its results) and a caption line naming data, prior and preset."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from vist.experiments.paper import PAPER_SOURCE


def _caption(fig: Figure, text: str) -> None:
    """The caption line (data, prior, preset) above a figure, wrapped to its width."""
    width = max(60, int(fig.get_figwidth() * 15))
    fig.suptitle(textwrap.fill(text, width), fontsize=8)


def _err(rows: Sequence[Mapping[str, Any]], key: str) -> np.ndarray:
    return np.array([r[key] if np.isfinite(r[key]) else 0.0 for r in rows], dtype=np.float64)


def ablation(rows: Sequence[Mapping[str, Any]], caption: str) -> Figure:
    """Left: each row's change in CC from the baseline, ours (bars, ± sd over seeds) beside the
    poster's (diamonds). Right: our SD-KL per row (lower is better)."""
    rows = list(rows)
    y = np.arange(len(rows))[::-1]
    fig, axes = plt.subplots(1, 2, figsize=(12, 0.45 * len(rows) + 1.6), sharey=True,
                             gridspec_kw={"width_ratios": [3, 2]})
    ours = np.array([r["ΔCC vs baseline (ours)"] for r in rows])
    axes[0].barh(y, np.nan_to_num(ours), xerr=_err(rows, "CC sd (ours)"), color="tab:blue", alpha=0.8,
                 label="ours (mean ± sd over seeds)")
    axes[0].scatter([r[f"ΔCC ({PAPER_SOURCE})"] for r in rows], y, marker="D", color="k", zorder=3,
                    label="poster (real data, pretrained)")
    for yi, r in zip(y, rows, strict=True):
        if r["status"] != "run":
            axes[0].text(0, yi, "  not run with this preset", va="center", fontsize=8, color="0.4")
    axes[0].axvline(0, color="k", lw=0.6)
    axes[0].set_yticks(y, [r["ablation"] for r in rows])
    axes[0].set_xlabel("ΔCC vs the baseline (negative: the part mattered)")
    axes[0].legend(fontsize=8, loc="upper left")
    axes[1].barh(y, np.nan_to_num([r["SD-KL (ours)"] for r in rows]), xerr=_err(rows, "SD-KL sd (ours)"),
                 color="tab:red", alpha=0.8)
    axes[1].set_xlabel("SD-KL, ours (lower is better)")
    _caption(fig, caption)
    fig.tight_layout()
    return fig


def by_setting(rows: Sequence[Mapping[str, Any]], x: str, xlabel: str, caption: str) -> Figure:
    """CC and SD-KL (mean ± sd over seeds) against one setting (e.g. the ViT block)."""
    rows = list(rows)
    xs = [r[x] for r in rows]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    for ax, key, color, label in ((axes[0], "CC", "tab:green", "CC (signed mean over cells)"),
                                  (axes[1], "SD-KL", "tab:red", "SD-KL (lower is better)")):
        ax.errorbar(np.arange(len(rows)), [r[f"{key} (ours)"] for r in rows], yerr=_err(rows, f"{key} sd (ours)"),
                    fmt="o-", color=color, capsize=3)
        ax.set_xticks(np.arange(len(rows)), xs)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(label)
    _caption(fig, caption)
    fig.tight_layout()
    return fig


def durations(target: np.ndarray, arms: Mapping[str, np.ndarray], rows: Sequence[Mapping[str, Any]],
              caption: str, cells: int = 1) -> Figure:
    """Left: how many responses of each duration (peak widths at the base, frames, all cells
    pooled, per cell) the recorded trial means and each loss arm's predictions contain, on
    log-spaced bins. Middle and right: each arm's CC and SD-KL (mean ± sd over seeds)."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), gridspec_kw={"width_ratios": [3, 1.3, 1.3]})
    every = np.concatenate([target, *arms.values()]) if arms else target
    hi = max(2.0, float(every.max())) if every.size else 10.0
    bins = np.geomspace(0.5, hi * 1.05, 30)
    w = np.full(target.size, 1.0 / cells)
    axes[0].hist(target, bins=bins, weights=w, color="0.75", label=f"recorded ({target.size / cells:.0f} per cell)")
    for name, d in arms.items():
        axes[0].hist(d, bins=bins, weights=np.full(d.size, 1.0 / cells), histtype="step", lw=1.5,
                     label=f"{name} ({d.size / cells:.0f} per cell)")
    axes[0].set_xscale("log")
    axes[0].set_xlabel("response duration: peak width at the base (frames of 33 ms)")
    axes[0].set_ylabel("responses per cell")
    axes[0].legend(fontsize=7)
    rows = list(rows)
    y = np.arange(len(rows))[::-1]
    for ax, key, color, label in ((axes[1], "CC", "tab:green", "CC"), (axes[2], "SD-KL", "tab:red",
                                                                       "SD-KL (lower is better)")):
        ax.barh(y, [r[f"{key} (ours)"] for r in rows], xerr=_err(rows, f"{key} sd (ours)"), color=color)
        ax.set_xlabel(label)
        ax.set_yticks(y, [r["loss"] for r in rows] if ax is axes[1] else [], fontsize=8)
    _caption(fig, caption)
    fig.tight_layout()
    return fig


def complementary(scores: Sequence[Mapping[str, Any]], rows: Sequence[Mapping[str, Any]], caption: str) -> Figure:
    """Top-8 mean CC against population size, one panel per direction: each seed × draw (dots),
    their mean (line) and the poster's values (dashed)."""
    dirs = list(dict.fromkeys(r["train→test"] for r in rows))
    paper_key = next((k for k in (rows[0] if rows else {}) if k.startswith("top-8 CC (poster")), None)
    fig, axes = plt.subplots(1, len(dirs), figsize=(5.5 * len(dirs), 3.6), squeeze=False)
    for ax, d in zip(axes[0], dirs, strict=True):
        pts = [s for s in scores if s["train→test"] == d]
        ax.scatter([s["cells"] for s in pts], [s["top-8 CC"] for s in pts], color="tab:blue", alpha=0.5, s=18,
                   label="ours: each seed × draw")
        rs = sorted((r for r in rows if r["train→test"] == d), key=lambda r: r["cells"])
        ax.plot([r["cells"] for r in rs], [r["top-8 CC (ours)"] for r in rs], "o-", color="tab:blue",
                label="ours: mean")
        if paper_key:
            ref = [(r["cells"], r[paper_key]) for r in rs if isinstance(r[paper_key], float | int)]
            if ref:
                ax.plot(*zip(*ref, strict=True), "D--", color="k", label="poster (real data, pretrained)")
        ax.set_xscale("log")
        ticks = sorted({r["cells"] for r in rs})
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.minorticks_off()
        ax.set_xlabel("cells in the population the model is trained on")
        ax.set_ylabel("mean CC of the top 8 cells")
        ax.set_title(d, fontsize=9)
        ax.legend(fontsize=7)
    _caption(fig, caption)
    fig.tight_layout()
    return fig


def rf_maps(result: Mapping[str, Any], cells: Mapping[str, int], caption: str) -> Figure:
    """Example cells (rows): the true RF on the patch grid and the maps the probe recovers from
    the noise-free rates and from the model; and (last column) every cell's agreement."""
    names = ["true rates", "model"]
    fig = plt.figure(figsize=(12, 2.4 * len(cells) + 0.6))
    grid = fig.add_gridspec(len(cells), 4, width_ratios=[1, 1, 1, 2.2])
    for i, (title, c) in enumerate(cells.items()):
        panels = [("true RF (simulator)", result["true"][c])] + [
            (f"probe on {n} (r = {result['r'][n][c]:.2f})", result["maps"][n][c]) for n in names]
        for j, (sub, img) in enumerate(panels):
            ax = fig.add_subplot(grid[i, j])
            lim = float(np.max(np.abs(img))) or 1.0
            ax.imshow(img, cmap="RdBu_r", vmin=-lim, vmax=lim)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(sub, fontsize=8)
            if j == 0:
                ax.set_ylabel(title, fontsize=8)
    ax = fig.add_subplot(grid[:, 3])
    bins = np.linspace(-1, 1, 41)
    for n, color in (("true rates", "0.5"), ("recorded", "tab:purple"), ("model", "tab:orange")):
        r = result["r"][n]
        ax.hist(r[np.isfinite(r)], bins=bins, histtype="step", lw=1.5, color=color,
                label=f"probe on {n}: median {np.nanmedian(r):.2f}")
    rs = result["r_shuffled"]["model"]
    ax.hist(rs[np.isfinite(rs)], bins=bins, histtype="step", ls="--", color="k",
            label=f"model, shuffled cells: median {np.nanmedian(rs):.2f}")
    ax.set_xlabel("r(recovered map, true RF) over the 16×16 patches")
    ax.set_ylabel("cells")
    ax.legend(fontsize=7, loc="upper left")
    _caption(fig, caption)
    fig.tight_layout()
    return fig
