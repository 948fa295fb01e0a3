"""Figures of the prior chapter: the patch grid, PCA colours over time, similarity across layers."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

from vist import FPS
from vist.prior.frames import resize_frames


def patch_grid(frame: np.ndarray, grid: int, img_size: int, rf_contours: Sequence[np.ndarray],
               coverage: np.ndarray, cells: Sequence[int] = (), title: str = "") -> plt.Figure:
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
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.8))
    ax = axes[0]
    ax.imshow(img, cmap="gray", vmin=0, vmax=1, extent=(0, img_size, img_size, 0))
    for k in np.arange(0, img_size + 1, img_size / grid):
        ax.axhline(k, color="y", lw=0.4, alpha=0.7)
        ax.axvline(k, color="y", lw=0.4, alpha=0.7)
    for c in cells:
        xy = np.asarray(rf_contours[c])
        ax.plot(np.r_[xy[0], xy[0, :1]] * img_size / w, np.r_[xy[1], xy[1, :1]] * img_size / h, lw=1.2,
                label=f"cell {c}")
    ax.set_title(title or f"{img_size}×{img_size} px input, {grid}×{grid} patches of {img_size // grid} px")
    if len(cells):
        ax.legend(fontsize=7, loc="lower right")
    ax.set_xlim(0, img_size)
    ax.set_ylim(img_size, 0)
    im = axes[1].imshow(coverage.sum(0), cmap="magma")
    axes[1].set_title(f"Σ RF coverage of {len(coverage)} cells per patch (AdaLN condition)")
    fig.colorbar(im, ax=axes[1], fraction=0.046)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def pca_strip(frames: np.ndarray, colors: np.ndarray, index: Sequence[int], label: str) -> plt.Figure:
    """Frames (top) above their patch features' first three PCs as RGB (bottom).

    Args:
        frames: ``uint8 [N, H, W]`` the frames shown; colors: ``[N, G, G, 3]`` their PCA colours
            (:func:`vist.prior.analysis.pca_colors`); index: their frame numbers in the movie.
        label: the prior, for the title.
    """
    n = len(index)
    if len(frames) != n or len(colors) != n:
        raise ValueError(f"pca_strip: expected {n} frames and colour maps, found {len(frames)} and {len(colors)}")
    fig, axes = plt.subplots(2, n, figsize=(1.6 * n, 3.6), squeeze=False)
    for k, t in enumerate(index):
        axes[0, k].imshow(frames[k], cmap="gray", vmin=0, vmax=255)
        axes[0, k].set_title(f"t = {t / FPS:.2f} s", fontsize=8)
        axes[1, k].imshow(colors[k], interpolation="nearest")
        for ax in axes[:, k]:
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].set_ylabel("frame")
    axes[1, 0].set_ylabel("PCs 1–3")
    fig.suptitle(label, fontsize=9)
    fig.tight_layout()
    return fig


def layer_similarity(panels: dict[str, tuple[list[int], np.ndarray]], label: str = "linear CKA"
                     ) -> plt.Figure:
    """One similarity heatmap per prior: ``{title: (layers, [L, L] matrix)}``, layers labelled L−n."""
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 4.2), squeeze=False)
    for ax, (title, (layers, sim)) in zip(axes[0], panels.items(), strict=True):
        im = ax.imshow(sim, vmin=0, vmax=1, cmap="viridis")
        names = [f"L{n}" if isinstance(n, int) else str(n) for n in layers]
        step = max(1, len(names) // 12)
        ax.set_xticks(range(0, len(names), step), names[::step], rotation=90, fontsize=7)
        ax.set_yticks(range(0, len(names), step), names[::step], fontsize=7)
        ax.set_title(textwrap.fill(title, 42), fontsize=8)
    fig.colorbar(im, ax=axes[0].tolist(), fraction=0.025, label=label)
    return fig
