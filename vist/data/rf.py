"""Receptive fields on the ViT patch grid: the authors' ``rf_to_dinov2``.

A receptive-field contour is a polygon in frame pixels (``[2, K]``: x row, y row; the frame spans
``[0, W] × [0, H]``). The frame is cut into ``grid × grid`` equal patches — the 16×16 patches a
ViT-L/14 sees at 224×224 — and each patch gets the fraction of its area inside the polygon.
Areas are exact (polygon clipping), not pixel counts.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _clip(poly: list[tuple[float, float]], axis: int, bound: float, keep_below: bool
          ) -> list[tuple[float, float]]:
    """One Sutherland–Hodgman step: keep the part of ``poly`` with coordinate ``axis`` ≤/≥ bound."""
    out: list[tuple[float, float]] = []
    n = len(poly)
    for i in range(n):
        p, q = poly[i], poly[(i + 1) % n]
        p_in = (p[axis] <= bound) if keep_below else (p[axis] >= bound)
        q_in = (q[axis] <= bound) if keep_below else (q[axis] >= bound)
        if p_in:
            out.append(p)
        if p_in != q_in:
            t = (bound - p[axis]) / (q[axis] - p[axis])
            out.append((p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])))
    return out


def _area(poly: list[tuple[float, float]]) -> float:
    if len(poly) < 3:
        return 0.0
    xy = np.asarray(poly)
    x, y = xy[:, 0], xy[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def polygon_area(contour: np.ndarray) -> float:
    """Area of a ``[2, K]`` polygon in square pixels (shoelace formula)."""
    return _area(list(zip(contour[0], contour[1], strict=True)))


def rf_to_grid(rf_contours: Sequence[np.ndarray], frame_shape: tuple[int, int], grid: int = 16
               ) -> np.ndarray:
    """Fractional coverage of each patch by each cell's RF polygon.

    Args:
        rf_contours: per cell a ``[2, K]`` polygon (x row, y row) in frame pixels.
        frame_shape: ``(H, W)`` of the frames the contours refer to.
        grid: patches per side (16 for ViT-L/14 at 224×224).

    Returns:
        ``float32 [cells, grid, grid]``; entry ``[c, i, j]`` is the fraction of patch (row ``i``,
        column ``j``) inside cell ``c``'s polygon, in ``[0, 1]``. Parts of a polygon outside
        the frame are ignored. Self-intersecting polygons are not supported.
    """
    if len(frame_shape) != 2 or min(frame_shape) <= 0:
        raise ValueError(f"frame_shape: expected (H, W) with positive sizes, found {frame_shape}")
    if int(grid) < 1:
        raise ValueError(f"grid: expected a positive number of patches per side, found {grid}")
    h, w = float(frame_shape[0]), float(frame_shape[1])
    ph, pw = h / grid, w / grid
    out = np.zeros((len(rf_contours), grid, grid), np.float32)
    for c, contour in enumerate(rf_contours):
        contour = np.asarray(contour, dtype=np.float64)
        if contour.ndim != 2 or contour.shape[0] != 2 or contour.shape[1] < 3:
            raise ValueError(f"rf_contours[{c}]: expected a [2, K] polygon with K >= 3, found shape {contour.shape}")
        if not np.all(np.isfinite(contour)):
            raise ValueError(f"rf_contours[{c}]: expected finite coordinates, found NaN or inf")
        poly = list(zip(contour[0], contour[1], strict=True))
        # Only patches overlapping the polygon's bounding box can be covered.
        j0 = max(int(np.floor(contour[0].min() / pw)), 0)
        j1 = min(int(np.ceil(contour[0].max() / pw)), grid)
        i0 = max(int(np.floor(contour[1].min() / ph)), 0)
        i1 = min(int(np.ceil(contour[1].max() / ph)), grid)
        for i in range(i0, i1):
            band = _clip(_clip(poly, 1, i * ph, keep_below=False), 1, (i + 1) * ph, keep_below=True)
            if len(band) < 3:
                continue
            for j in range(j0, j1):
                piece = _clip(_clip(band, 0, j * pw, keep_below=False), 0, (j + 1) * pw, keep_below=True)
                out[c, i, j] = _area(piece) / (ph * pw)
    return np.clip(out, 0.0, 1.0)
