"""Where the CRNN's Gaussian readout looks, against where each cell's receptive field is.

Each cell of the CRNN with the Gaussian readout (:mod:`vist.model.crnn`) reads the conv maps at
one learned point; nothing tells it where. On the virtual retina each cell's RF contour is
known, so the point can be checked: its distance from the RF's centre (the coverage-weighted
centroid of the pixels the contour touches, in pixels of the CRNN's downsampled frame), and
whether it falls on a pixel the contour touches. Chance: the same points against the RFs of
other cells (a fixed derangement of the cells).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from vist.data.rf import rf_to_grid
from vist.experiments.common import pm
from vist.train.inputs import recording
from vist.train.runs import Run

SHUFFLE_SEED = 0
"""Seed of the derangement that pairs points with other cells' RFs (the chance control)."""


def rf_centres(coverage: np.ndarray) -> np.ndarray:
    """Coverage-weighted centroids ``[cells, 2]`` as ``(x, y)`` of RF maps ``[cells, S, S]``
    (:func:`vist.data.rf.rf_to_grid` at the frame's size; pixel ``j`` spans ``[j, j + 1)``).

    Raises:
        ValueError: a cell whose map is empty (its RF lies outside the frame).
    """
    if coverage.ndim != 3:
        raise ValueError(f"coverage: expected RF maps [cells, S, S], found shape {coverage.shape}")
    mass = coverage.sum(axis=(1, 2))
    if np.any(mass <= 0):
        raise ValueError(f"coverage: expected every cell's RF inside the frame, found empty maps for cells "
                         f"{np.flatnonzero(mass <= 0).tolist()}")
    centre = np.arange(coverage.shape[-1]) + 0.5
    x = (coverage.sum(axis=1) * centre).sum(axis=1) / mass
    y = (coverage.sum(axis=2) * centre).sum(axis=1) / mass
    return np.stack([x, y], axis=1)


def _derangement(n: int, seed: int = SHUFFLE_SEED) -> np.ndarray:
    rng = np.random.default_rng(seed)
    while True:
        perm = rng.permutation(n)
        if n < 2 or not np.any(perm == np.arange(n)):
            return perm


def point_offsets(points: np.ndarray, coverage: np.ndarray) -> pd.DataFrame:
    """Per cell: its point and RF centre (``point_x``, ``point_y``, ``rf_x``, ``rf_y``; px),
    ``distance`` (px) from the one to the other and ``inside`` (the point lies on a pixel its
    contour touches), and the same against another cell's RF (``distance_chance``,
    ``inside_chance``).

    Args:
        points: ``[cells, 2]`` readout points ``(x, y)`` in pixels of the frame (:meth:`CRNN.points`).
        coverage: ``[cells, S, S]`` RF maps at that frame's size.
    """
    if points.shape != (len(coverage), 2):
        raise ValueError(f"points: expected [{len(coverage)}, 2] (one (x, y) per cell), found {points.shape}")
    size = coverage.shape[-1]
    centres = rf_centres(coverage)
    col, row = (np.clip(np.floor(points[:, i]), 0, size - 1).astype(int) for i in (0, 1))
    other = _derangement(len(points))
    cells = np.arange(len(points))
    return pd.DataFrame({
        "point_x": points[:, 0], "point_y": points[:, 1], "rf_x": centres[:, 0], "rf_y": centres[:, 1],
        "distance": np.linalg.norm(points - centres, axis=1),
        "inside": coverage[cells, row, col] > 0,
        "distance_chance": np.linalg.norm(points - centres[other], axis=1),
        "inside_chance": coverage[other, row, col] > 0,
    })


def has_points(run: Run) -> bool:
    """Whether ``run`` is of a CRNN with the Gaussian readout (runs stored before the readout
    existed are of the dense one)."""
    return run.record.get("model_class") == "CRNN" and run.record["model_config"].get("readout") == "gaussian"


def run_offsets(run: Run) -> pd.DataFrame:
    """:func:`point_offsets` of a stored CRNN run with the Gaussian readout, against the RF
    contours of its training recording."""
    model = run.model()
    rec = recording(run.spec, run.spec.train_movie)
    coverage = rf_to_grid(rec.rf_contours, rec.frame_shape, model.config.img_size)
    return point_offsets(model.points(), coverage)


def scores(runs: Mapping[tuple[str, int], Run]) -> pd.DataFrame:
    """One row per run keyed ``(direction, seed)``: the median distance (px) and the fraction of
    points inside their cell's RF, and both at chance; ``size`` is the frame's side (px). Runs of
    a CRNN with the dense readout (no points) are left out."""
    rows = []
    for (direction, seed), run in runs.items():
        if not has_points(run):
            continue
        o = run_offsets(run)
        rows.append({"direction": direction, "seed": seed, "size": int(run.record["model_config"]["img_size"]),
                     "median_distance": float(o["distance"].median()), "inside": float(o["inside"].mean()),
                     "median_distance_chance": float(o["distance_chance"].median()),
                     "inside_chance": float(o["inside_chance"].mean())})
    return pd.DataFrame(rows, columns=["direction", "seed", "size", "median_distance", "inside",
                                       "median_distance_chance", "inside_chance"])


def findings(points: pd.DataFrame, columns: Sequence[str] = ("median_distance", "inside")) -> list[str]:
    """One sentence per direction of :func:`scores`: how far the points fall from the RFs and
    how many lie inside them, mean ± sd over seeds, against chance."""
    out = []
    for d, g in points.groupby("direction", sort=False):
        dist, inside = (g[c] for c in columns)
        out.append(f"**{d}**: the CRNN's readout points lie a median {pm(dist.mean(), dist.std(), 1)} px from "
                   f"their cell's RF centre on its {int(g['size'].iloc[0])}-px frame (paired with another "
                   f"cell's RF: {g['median_distance_chance'].mean():.1f} px); "
                   f"{pm(100 * inside.mean(), 100 * inside.std(), 0)} % fall inside their own cell's RF "
                   f"(another cell's: {100 * g['inside_chance'].mean():.0f} %).")
    return out
