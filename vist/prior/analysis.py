"""Looking at patch features: PCA colours and layer-to-layer similarity (linear CKA)."""

from __future__ import annotations

import numpy as np


def pca_colors(features: np.ndarray, grid: int, index: np.ndarray | None = None,
               fit_frames: int = 256) -> np.ndarray:
    """Patch features as RGB: the first three principal components, scaled to ``[0, 1]``.

    Args:
        features: ``[T, G·G, D]`` (may be a memory map).
        grid: G.
        index: frames to colour (default: all).
        fit_frames: frames (chosen evenly over the movie) on which the components and the colour
            range are fit, so all frames share one colour code.

    Returns:
        ``float32 [len(index), G, G, 3]``.
    """
    t, p, d = features.shape
    if p != grid * grid:
        raise ValueError(f"features: expected {grid * grid} patches for a {grid}×{grid} grid, found {p}")
    idx = np.linspace(0, t - 1, min(fit_frames, t)).round().astype(int)
    fit = np.asarray(features[idx], dtype=np.float32).reshape(-1, d)
    mean = fit.mean(0)
    _, _, vt = np.linalg.svd(fit - mean, full_matrices=False)
    comps = vt[:3].T
    proj_fit = (fit - mean) @ comps
    lo, hi = np.percentile(proj_fit, 1, axis=0), np.percentile(proj_fit, 99, axis=0)
    index = np.arange(t) if index is None else np.asarray(index)
    out = (np.asarray(features[index], dtype=np.float32).reshape(-1, d) - mean) @ comps
    out = np.clip((out - lo) / np.maximum(hi - lo, 1e-12), 0, 1)
    return out.reshape(len(index), grid, grid, 3).astype(np.float32)


def linear_cka(a: np.ndarray, b: np.ndarray) -> float:
    """Linear centred kernel alignment (Kornblith et al. 2019) between two representations.

    Args:
        a: ``[N, D1]``, b: ``[N, D2]`` — the same N samples (e.g. patches × frames).

    Returns:
        Similarity in ``[0, 1]``; 1 for representations equal up to rotation and scale.
    """
    a = np.asarray(a, dtype=np.float64).reshape(len(a), -1)
    b = np.asarray(b, dtype=np.float64).reshape(len(b), -1)
    if len(a) != len(b):
        raise ValueError(f"linear_cka: expected the same samples, found {len(a)} and {len(b)} rows")
    a = a - a.mean(0)
    b = b - b.mean(0)
    cross = np.linalg.norm(a.T @ b) ** 2
    return float(cross / (np.linalg.norm(a.T @ a) * np.linalg.norm(b.T @ b)))


def token_cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Mean cosine similarity of the same token in two representations ``[..., D]`` of equal shape
    (1 = every patch's feature vector points the same way in both)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, np.shape(a)[-1])
    b = np.asarray(b, dtype=np.float64).reshape(-1, np.shape(b)[-1])
    if a.shape != b.shape:
        raise ValueError(f"token_cosine: expected equal shapes, found {a.shape} and {b.shape}")
    num = np.sum(a * b, axis=1)
    return float(np.mean(num / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)))


def layer_similarity(layer_features: dict[int, np.ndarray], metric: str = "cka") -> tuple[list[int], np.ndarray]:
    """Similarity between every pair of layers' ``[T, P, D]`` features (samples = frames × patches).

    Args:
        metric: ``"cka"`` (linear CKA: same geometry up to rotation and scale) or ``"cosine"``
            (:func:`token_cosine`: same coordinates).

    Returns:
        (layers in the dict's order, ``[L, L]`` similarity matrix).
    """
    fn = {"cka": linear_cka, "cosine": token_cosine}.get(metric)
    if fn is None:
        raise ValueError(f"metric: expected 'cka' or 'cosine', found {metric!r}")
    layers = list(layer_features)
    flat = {k: np.asarray(v).reshape(-1, np.asarray(v).shape[-1]) for k, v in layer_features.items()}
    sim = np.eye(len(layers))
    for i, a in enumerate(layers):
        for j in range(i + 1, len(layers)):
            sim[i, j] = sim[j, i] = fn(flat[a], flat[layers[j]])
    return layers, sim
