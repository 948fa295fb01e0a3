"""Figures of the prior chapter: the patch grid, PCA colours over time, similarity across layers.

Every figure is drawn at most ``vist.plots.style.COLUMN_INCHES`` wide with the book's font sizes
(no explicit small fonts); what the figure shows, and on which data and prior, goes in the caption
under it (``vist.report.show``), not in a title.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

from vist import FPS
from vist.plots.style import COLUMN_INCHES
from vist.prior.frames import resize_frames


def patch_grid(frame: np.ndarray, grid: int, img_size: int, rf_contours: Sequence[np.ndarray],
               coverage: np.ndarray, cells: Sequence[int] = ()) -> plt.Figure:
    """The frame as the ViT sees it with its patch grid and some RF contours; the RF coverage map.

    Args:
        frame: ``uint8 [H, W]``.
        grid, img_size: patch grid side and ViT input size in pixels.
        rf_contours: per cell a ``[2, K]`` polygon in frame pixels.
        coverage: ``[cells, grid, grid]`` fractional RF coverage (``vist.data.rf_to_grid``).
        cells: cells whose contours are drawn.
    """
    h, w = frame.shape
    img = resize_frames(frame[None], img_size)[0, 0].numpy()
    fig, axes = plt.subplots(1, 2, figsize=(COLUMN_INCHES, 3.7), width_ratios=[1, 1.12])
    ax = axes[0]
    ax.imshow(img, cmap="gray", vmin=0, vmax=1, extent=(0, img_size, img_size, 0))
    for k in np.arange(0, img_size + 1, img_size / grid):
        ax.axhline(k, color="y", lw=0.4, alpha=0.7)
        ax.axvline(k, color="y", lw=0.4, alpha=0.7)
    for c in cells:
        xy = np.asarray(rf_contours[c])
        ax.plot(np.r_[xy[0], xy[0, :1]] * img_size / w, np.r_[xy[1], xy[1, :1]] * img_size / h, lw=1.5,
                label=f"cell {c}")
    ax.set_title(f"ViT input, {grid}×{grid} patches")
    if len(cells):
        ax.legend(loc="lower right", handlelength=1.2, borderpad=0.3, labelspacing=0.2)
    ax.set_xlim(0, img_size)
    ax.set_ylim(img_size, 0)
    im = axes[1].imshow(coverage.sum(0), cmap="magma")
    axes[1].set_title("Σ RF coverage per patch")
    fig.colorbar(im, ax=axes[1], fraction=0.046, pad=0.03, label="cells")
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
    fig.tight_layout()
    return fig


def pca_strip(frames: np.ndarray, colors: np.ndarray, index: Sequence[int], per_row: int = 5) -> plt.Figure:
    """Frames above their patch features' first three PCs as RGB, ``per_row`` frames a row, the
    time of each frame under its colours.

    Args:
        frames: ``uint8 [N, H, W]`` the frames shown; colors: ``[N, G, G, 3]`` their PCA colours
            (:func:`vist.prior.analysis.pca_colors`); index: their frame numbers in the movie.
        per_row: frames per row of the figure; each row of frames is followed by a row of colours.
    """
    n = len(index)
    if len(frames) != n or len(colors) != n:
        raise ValueError(f"pca_strip: expected {n} frames and colour maps, found {len(frames)} and {len(colors)}")
    if n == 0 or per_row < 1:
        raise ValueError(f"pca_strip: expected at least one frame and per_row ≥ 1, found {n} and {per_row}")
    cols = min(n, per_row)
    blocks = math.ceil(n / cols)
    side = COLUMN_INCHES / cols
    fig, axes = plt.subplots(2 * blocks, cols, figsize=(COLUMN_INCHES, 2 * blocks * side * 0.9 + 0.3 * blocks),
                             squeeze=False, layout="constrained")
    fig.get_layout_engine().set(h_pad=0.02, w_pad=0.02, hspace=0.0, wspace=0.02)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        ax.set_frame_on(False)
    for k, t in enumerate(index):
        top, bottom = axes[2 * (k // cols), k % cols], axes[2 * (k // cols) + 1, k % cols]
        top.imshow(frames[k], cmap="gray", vmin=0, vmax=255)
        bottom.imshow(colors[k], interpolation="nearest")
        bottom.set_xlabel(f"t = {t / FPS:.1f} s")
    for b in range(blocks):
        axes[2 * b, 0].set_ylabel("frame")
        axes[2 * b + 1, 0].set_ylabel("PCs 1–3")
    return fig


def layer_similarity(panels: dict[str, tuple[list[int], np.ndarray]], label: str = "linear CKA"
                     ) -> plt.Figure:
    """One similarity heatmap per prior: ``{title: (layers, [L, L] matrix)}``, layers labelled L−n.

    At most about eight layer names are written per axis, always including the last block.
    """
    n = len(panels)
    if n == 0:
        raise ValueError("layer_similarity: expected at least one prior's similarity matrix, found none")
    width = COLUMN_INCHES
    panel = (width - 0.9) / n
    fig, axes = plt.subplots(1, n, figsize=(width, panel + 1.6), squeeze=False, layout="constrained")
    chars = max(16, int(panel * 72 / 6.0))  # title characters per line at ~10 pt
    for ax, (title, (layers, sim)) in zip(axes[0], panels.items(), strict=True):
        im = ax.imshow(sim, vmin=0, vmax=1, cmap="viridis")
        names = [f"L{n}".replace("-", "−") if isinstance(n, int) else str(n) for n in layers]
        step = max(1, math.ceil(len(names) / 8))
        ticks = list(range(len(names) - 1, -1, -step))[::-1]
        ax.set_xticks(ticks, [names[i] for i in ticks], rotation=90)
        ax.set_yticks(ticks, [names[i] for i in ticks])
        ax.set_title(textwrap.fill(title, chars))
        ax.grid(False)
    first = next(iter(panels.values()))[0]
    for ax, (layers, _) in zip(axes[0][1:], list(panels.values())[1:], strict=True):
        if list(layers) == list(first):  # same blocks as the panel on the left: its names suffice
            ax.tick_params(labelleft=False)
    fig.colorbar(im, ax=axes[0].tolist(), fraction=0.04, shrink=0.7, label=label)
    return fig
