"""The authors' SD-KL computation as published, re-written here only to time it (SPEC §7).

The issue's speed target compares :func:`vist.metrics.sd_kl` with the authors' per-cell code
(wurining/Vi-ST, ``src/metrics/spike_kde_divergence.py``: 126–140 ms for 90 cells, measured by
the project). This module repeats its work per cell, call for call, so that the ratio is
measured in the same process rather than against a figure from another machine:

* negatives set to 0; peaks found on the trace *before* the ``β`` clip, widths measured on the
  clipped trace (``peak_widths(…, rel_height=β)``);
* for each of the two duration sets: one ``gaussian_kde`` of the union for the grid (bandwidth
  factor ``scott · α``, grid ``min − 3·bw … max + 3·bw``), one ``gaussian_kde`` of the set itself
  (bandwidth factor ``α · α``, as its ``bw_method=α`` then ``set_bandwidth(factor · α)`` gives),
  evaluated on that grid: four KDEs per cell;
* ``torchmetrics.functional.kl_divergence`` of the two densities as 1-row tensors; scores that
  are undefined (fewer than 2 peaks, singular data) → 1000 via ``nan_to_num``.

It is *not* SPEC §5's function (the grids, bandwidths and peak detection differ), so its values
are not compared with vist's; :func:`vist.metrics.sd_kl_reference` is the same-function
reference. Needs ``torchmetrics`` (a test extra).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.signal import find_peaks, peak_widths
from scipy.stats import gaussian_kde

__all__ = ["authors_sd_kl"]


def _durations(trace: np.ndarray, beta: float) -> np.ndarray:
    peaks, _ = find_peaks(trace, height=0)
    return peak_widths(np.minimum(trace, beta), peaks, rel_height=beta)[0]


def _density(data: np.ndarray, other: np.ndarray, alpha: float) -> np.ndarray:
    union = gaussian_kde(np.concatenate([data, other]))
    union.set_bandwidth(union.factor * alpha)
    bw = float(np.sqrt(union.covariance.squeeze()))
    both = np.concatenate([data, other])
    grid = np.linspace(both.min() - 3 * bw, both.max() + 3 * bw, 200)
    kde = gaussian_kde(data, bw_method=alpha)
    kde.set_bandwidth(bw_method=kde.factor * alpha)
    return kde(grid)


def _one_cell(pred: np.ndarray, target: np.ndarray, alpha: float, beta: float, kl) -> float:
    d, dh = _durations(target, beta), _durations(pred, beta)
    if len(d) < 2 or len(dh) < 2:
        return np.inf
    try:
        p, ph = _density(d, dh, alpha), _density(dh, d, alpha)
    except np.linalg.LinAlgError:      # singular data: zero variance of a set
        return np.inf
    return float(kl(torch.tensor(np.array([ph])), torch.tensor(np.array([p]))))


def authors_sd_kl(pred, target, alpha: float = 0.3, beta: float = 1.0) -> np.ndarray:
    """The authors' per-cell SD-KL variant, for timing only (see the module docstring).

    Args:
        pred, target: ``[T, cells]`` rates (spikes per bin).
        alpha: their ``bandwidth_factor``; beta: their ``high_cut``.

    Returns:
        ``[cells]`` scores (their definition; undefined → 1000).
    """
    from torchmetrics.functional.regression import kl_divergence  # lazy: optional (a test extra)

    p = np.maximum(np.asarray(pred, dtype=np.float64), 0.0)
    t = np.maximum(np.asarray(target, dtype=np.float64), 0.0)
    scores = [_one_cell(p[:, c], t[:, c], alpha, beta, kl_divergence) for c in range(t.shape[1])]
    return np.nan_to_num(np.array(scores), nan=1000.0, posinf=1000.0, neginf=0.0)
