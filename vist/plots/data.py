"""Figures of a recording: frames and eye movements, RF mosaics, rasters, reliability, patch grid."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from vist.data import Recording, rf_to_grid

TYPE_COLOURS = {"OFF fast": "tab:blue", "OFF slow": "tab:cyan", "ON": "tab:red",
                "ON-OFF": "tab:purple", "cell": "tab:gray"}


def cell_types(rec: Recording) -> list[str]:
    """Each cell's type name (``"cell"`` where the recording does not say)."""
    return list(rec.meta.get("cell_type", ["cell"] * rec.n_cells))


def frame_strip(rec: Recording, n: int = 8, start: int = 0, step: int = 15) -> Figure:
    """``n`` frames from ``start`` every ``step`` frames, with their times."""
    cols = min(n, 4)
    fig, axes = plt.subplots(-(-n // cols), cols, figsize=(7.2, 2.1 * -(-n // cols)), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    for ax, k in zip(axes.flat, range(start, start + n * step, step), strict=False):
        ax.imshow(rec.frames[min(k, rec.n_frames - 1)], cmap="gray", vmin=0, vmax=255)
        ax.set_title(f"frame {k}, {k / rec.fps:.2f} s")
        ax.axis("off")
    fig.tight_layout()
    return fig


def eye_trace(rec: Recording, seconds: float | None = None) -> Figure | None:
    """The simulated eye position over time, scene changes marked (``None`` for recorded data)."""
    if "eye_x" not in rec.meta:
        return None
    x, y = np.asarray(rec.meta["eye_x"]), np.asarray(rec.meta["eye_y"])
    scene = np.asarray(rec.meta["scene"])
    n = len(x) if seconds is None else min(len(x), int(seconds * rec.fps))
    t = np.arange(n) / rec.fps
    fig, ax = plt.subplots(figsize=(7.2, 2.6))
    ax.plot(t, x[:n] - x[0], label="horizontal", lw=1)
    ax.plot(t, y[:n] - y[0], label="vertical", lw=1)
    for k in np.flatnonzero(np.diff(scene[:n])) + 1:
        ax.axvline(k / rec.fps, color="k", lw=0.8, ls="--")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("gaze shift (px)")
    ax.legend(loc="upper right")
    fig.tight_layout()
    return fig


def rf_mosaic(rec: Recording, frame: int = 0) -> Figure:
    """RF contours over a frame, one panel per cell type, and all types together."""
    types = cell_types(rec)
    names = list(dict.fromkeys(types))
    cols = min(len(names) + 1, 3)
    rows = -(-(len(names) + 1) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(7.2, 2.5 * rows), squeeze=False)
    for ax in axes.flat[len(names) + 1:]:
        ax.set_visible(False)
    for ax, name in zip(axes.flat, [*names, "all"], strict=False):
        ax.imshow(rec.frames[frame], cmap="gray", vmin=0, vmax=255, alpha=0.6)
        for c, t in enumerate(types):
            if name in ("all", t):
                xy = rec.rf_contours[c]
                ax.fill(xy[0], xy[1], fc=TYPE_COLOURS.get(t, "tab:gray"), ec="k", lw=0.5, alpha=0.45)
        count = len(types) if name == "all" else types.count(name)
        ax.set_title(f"{name} ({count})")
        ax.set_xlim(0, rec.frame_shape[1])
        ax.set_ylim(rec.frame_shape[0], 0)
        ax.axis("off")
    fig.tight_layout()
    return fig


def rasters(rec: Recording, cells: Sequence[int], start: int = 0, stop: int = 300) -> Figure:
    """Trial rasters and trial-mean rate (and the true rate, if simulated) of a few cells."""
    types = cell_types(rec)
    fig, axes = plt.subplots(2, len(cells), figsize=(7.2, 4.4), sharex=True,
                             gridspec_kw={"height_ratios": [1.2, 1]})
    axes = np.asarray(axes).reshape(2, -1)
    t = np.arange(start, stop) / rec.fps
    for j, c in enumerate(cells):
        counts = rec.spikes[:, start:stop, c]
        trial, frame = np.nonzero(counts)
        axes[0, j].scatter((frame + start) / rec.fps, trial, s=2 * counts[trial, frame], c="k", marker="|")
        axes[0, j].set_title(f"cell {c} ({types[c]})")
        if j == 0:
            axes[0, j].set_ylabel("trial")
        axes[1, j].plot(t, rec.rates[start:stop, c], color=TYPE_COLOURS.get(types[c], "k"), lw=1,
                        label=f"trial mean ({rec.n_trials} trials)")
        if rec.true_rates is not None:
            axes[1, j].plot(t, rec.true_rates[start:stop, c], color="k", lw=0.8, ls=":", label="true rate")
        axes[1, j].set_xlabel("time (s)")
        if j == 0:
            axes[1, j].set_ylabel("spikes / bin")
    handles, labels = axes[1, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncols=len(labels), frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig


def statistics_histograms(stats: dict[str, np.ndarray], rec: Recording, columns: int = 3) -> Figure:
    """One histogram per firing statistic, coloured by cell type, ``columns`` panels per row (the
    data are named in the caption the chapter gives the figure)."""
    types = np.array(cell_types(rec))
    rows = -(-len(stats) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(7.2, 2.5 * rows), squeeze=False)
    groups = list(dict.fromkeys(types))
    for ax, (name, values) in zip(axes.flat, stats.items(), strict=False):
        finite = values[np.isfinite(values)]
        bins = np.linspace(finite.min(), finite.max() + 1e-9, 16) if finite.size else 10
        ax.hist([values[(types == g) & np.isfinite(values)] for g in groups], bins=bins, stacked=True,
                color=[TYPE_COLOURS.get(g, "tab:gray") for g in groups], label=groups)
        ax.set_xlabel(textwrap.fill(name, 24))
    for ax in axes[:, 0]:
        ax.set_ylabel("cells")
    for ax in axes.flat[len(stats):]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncols=len(groups), bbox_to_anchor=(0.5, 1.0), frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    return fig


def patch_grid_coverage(rec: Recording, grid: int = 16, cell: int = 0) -> Figure:
    """The RF coverage on the ViT patch grid: one cell's polygon over the grid, its coverage, and
    the population's summed coverage (what Vi-ST's AdaLN-Zero is conditioned on)."""
    cov = rf_to_grid(rec.rf_contours, rec.frame_shape, grid)
    h, w = rec.frame_shape
    fig, axes = plt.subplots(1, 3, figsize=(7.2, 2.8))
    axes[0].imshow(rec.frames[0], cmap="gray", vmin=0, vmax=255, extent=(0, w, h, 0))
    for k in range(1, grid):
        axes[0].axhline(k * h / grid, color="w", lw=0.3)
        axes[0].axvline(k * w / grid, color="w", lw=0.3)
    xy = rec.rf_contours[cell]
    axes[0].fill(xy[0], xy[1], fc="none", ec="tab:red", lw=1.5)
    axes[0].set_title(f"cell {cell} on the {grid}×{grid} grid")
    im = axes[1].imshow(cov[cell], cmap="magma", vmin=0, vmax=1)
    axes[1].set_title(f"cell {cell}: coverage")
    fig.colorbar(im, ax=axes[1], fraction=0.046)
    im = axes[2].imshow(cov.sum(axis=0), cmap="viridis")
    axes[2].set_title(f"all {rec.n_cells} cells: sum")
    fig.colorbar(im, ax=axes[2], fraction=0.046)
    for ax in axes[1:]:
        ax.set_xlabel("patch column")
        ax.set_ylabel("patch row")
    fig.tight_layout()
    return fig
