"""Noise ceilings from repeated trials: how well could any model do on this recording?

All functions take spike counts ``spikes [trials, T, cells]`` (a :class:`vist.data.Recording`'s
``spikes``) and return one value per cell, ``[cells]``.
"""

from __future__ import annotations

import warnings

import numpy as np


def _check_trials(spikes: np.ndarray, minimum: int = 2) -> np.ndarray:
    spikes = np.asarray(spikes, dtype=np.float64)
    if spikes.ndim != 3:
        raise ValueError(f"expected spike counts [trials, T, cells], found shape {spikes.shape}")
    if spikes.shape[0] < minimum:
        raise ValueError(f"expected at least {minimum} trials, found {spikes.shape[0]}")
    if not np.all(np.isfinite(spikes)):
        raise ValueError("expected finite spike counts, found NaN or inf")
    return spikes


def pearson_columns(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r between matching columns of ``a`` and ``b`` (``[..., T, cells]`` → ``[..., cells]``).

    A constant column (zero range, tested exactly, so rounding cannot hide it) gives NaN.
    """
    constant = (np.ptp(a, axis=-2) == 0) | (np.ptp(b, axis=-2) == 0)
    a = a - a.mean(axis=-2, keepdims=True)
    b = b - b.mean(axis=-2, keepdims=True)
    num = (a * b).sum(axis=-2)
    den = np.sqrt((a * a).sum(axis=-2) * (b * b).sum(axis=-2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((den > 0) & ~constant, num / np.where(den > 0, den, 1.0), np.nan)


def spearman_brown(r, factor: float):
    """Reliability of a mean of ``factor`` times as many trials: ``k r / (1 + (k − 1) r)``.

    With trials ``y_i = s + e_i`` (a signal and independent noise of equal variance), the
    correlation of two independent means of ``m`` trials is ``ρ_m = σ_s² / (σ_s² + σ_e²/m)``;
    solving for ``σ_e²/σ_s²`` and substituting ``k m`` trials gives the formula (negative ``r``,
    pure noise, maps to a negative value).
    """
    r = np.asarray(r, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return factor * r / (1.0 + (factor - 1.0) * r)


def split_half_reliability(spikes: np.ndarray, n_splits: int = 50, seed: int = 0) -> np.ndarray:
    """Split-half reliability of the trial-mean rate, Spearman–Brown corrected, per cell.

    Trials are split at random into two disjoint halves of ``m = ⌊n/2⌋`` trials ``n_splits``
    times (with an odd ``n`` one trial, a different one in each split, sits out); the Pearson r
    between the two half means is averaged over splits and corrected from ``m`` to the full ``n``
    trials with the general Spearman–Brown formula, factor ``n/m`` (:func:`spearman_brown`: ``2 r /
    (1 + r)`` for even ``n``; for odd ``n`` the factor 2 would correct to ``n − 1`` trials only).
    It estimates the correlation between two independent repeats of the full ``n``-trial mean; its
    square root bounds the correlation any model can reach with the recorded trial mean (see
    :func:`cc_ceiling`).

    Args:
        spikes: ``[trials, T, cells]`` counts.
        n_splits: random splits to average.
        seed: seed of the random splits.

    Returns:
        ``float64 [cells]``; NaN for a cell that never fires in one half.
    """
    spikes = _check_trials(spikes)
    if int(n_splits) < 1:
        raise ValueError(f"n_splits: expected a positive number of random splits, found {n_splits}")
    n = spikes.shape[0]
    m = n // 2
    rng = np.random.default_rng(seed)
    rs = []
    for _ in range(n_splits):
        perm = rng.permutation(n)
        a = spikes[perm[:m]].mean(axis=0)
        b = spikes[perm[m: 2 * m]].mean(axis=0)
        rs.append(pearson_columns(a, b))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN cells stay NaN
        r = np.nanmean(np.stack(rs), axis=0)
    return spearman_brown(r, n / m)


def cc_ceiling(spikes: np.ndarray, n_splits: int = 50, seed: int = 0) -> np.ndarray:
    """Upper bound on the Pearson r between any prediction and the trial mean, per cell.

    ``sqrt(split_half_reliability)``: the correlation of the true rate with the noisy
    ``trials``-trial mean (clipped at 0 before the square root). ``float64 [cells]``; 0 for a cell
    whose reliability is not positive (no usable ceiling: see
    :func:`vist.metrics.correlation.normalised_cc`), NaN for one that never fires in a half.
    """
    rel = split_half_reliability(spikes, n_splits=n_splits, seed=seed)
    return np.sqrt(np.clip(rel, 0.0, None))


def oracle_correlation(spikes: np.ndarray) -> np.ndarray:
    """Jackknife (leave-one-out) oracle correlation per cell.

    For each trial, the Pearson r between that trial and the mean of the other trials; averaged
    over trials. This is the correlation a perfect model of the mean would reach with *single
    trials*, slightly deflated by the ``trials − 1`` mean it uses. ``float64 [cells]``.
    """
    spikes = _check_trials(spikes)
    n = spikes.shape[0]
    total = spikes.sum(axis=0)
    loo = (total[None] - spikes) / (n - 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(pearson_columns(spikes, loo), axis=0)


def feve(pred: np.ndarray, spikes: np.ndarray) -> np.ndarray:
    """Fraction of explainable variance explained, per cell, clipped to ``[0, 1]``.

    Definition of Cadena et al. (2019), on single trials: with ``y`` the trials ``[trials, T]``,
    noise variance ``s2 = mean_t var_trials(y)`` and total variance ``var(y)`` over trials and
    time, ``FEVE = 1 − (mean (ŷ − y)² − s2) / (var(y) − s2)``. A cell without explainable
    variance (``var(y) <= s2``) gives NaN.

    Args:
        pred: ``[T, cells]`` predicted rate in spikes per frame bin.
        spikes: ``[trials, T, cells]`` recorded counts.
    """
    spikes = _check_trials(spikes)
    pred = np.asarray(pred, dtype=np.float64)
    if pred.shape != spikes.shape[1:]:
        raise ValueError(f"pred: expected shape {spikes.shape[1:]} [T, cells], found {pred.shape}")
    if not np.all(np.isfinite(pred)):
        raise ValueError("pred: expected finite predictions, found NaN or inf")
    noise = spikes.var(axis=0, ddof=1).mean(axis=0)
    total = spikes.reshape(-1, spikes.shape[2]).var(axis=0, ddof=1)
    mse = ((pred[None] - spikes) ** 2).mean(axis=(0, 1))
    explainable = total - noise
    with np.errstate(invalid="ignore", divide="ignore"):
        out = 1.0 - (mse - noise) / explainable
    out = np.where(explainable > 0, np.clip(out, 0.0, 1.0), np.nan)
    return out
