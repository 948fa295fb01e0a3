"""SD-KL: does the model get the *durations* of firing events right? (poster Algorithm 1, SPEC §5).

Per cell, with α = 0.3 and β = 1.0:

1. clip each trace to ``[0, β]``; find its peaks (``scipy.signal.find_peaks``, height ≥ 0) and
   their widths at the base (``peak_widths``, ``rel_height=1``): durations ``D`` (target) and
   ``D̂`` (prediction), in frames;
2. union ``U = D ∪ D̂``; spread ``s = α · var(U)`` (population variance, frames²: the authors'
   choice of units); grid of 200 points from ``min(U) - 3s`` to ``max(U) + 3s``;
3. Gaussian KDEs of ``D`` and ``D̂`` with bandwidth factor α (``gaussian_kde(·, bw_method=α)``:
   kernel variance ``α² · var(·, ddof=1)``) evaluated on the grid, plus 1e-10, normalised to sum
   1 → ``P``, ``P̂``;
4. score ``KL(P̂ ‖ P) = Σ P̂ log(P̂/P)`` clipped to ``[0, 1000]``; fewer than 2 peaks in either
   set, or zero variance of either set (the KDE is undefined) → 1000.

Lower is better; 0 means identical duration distributions.

:func:`sd_kl` does this for all cells at once: the clipped traces of all cells are laid end to
end, separated by a sample higher than any clipped value (``β + 1``), so one call of scipy's
compiled peak routines serves every cell (the separator stops every left/right search exactly
where a cell's own edge would, so peaks, prominences and widths are those of the per-cell calls).
Most peaks never reach scipy's prominence search: the only peak of a run of non-zero samples has
its bases at the zeros around it (see :func:`peak_durations`). The KDEs of all cells are
evaluated in one array expression, one kernel per distinct duration and only on the grid points
within 8 bandwidths of its centre (the rest lie below 1e-27 of its peak, under the 1e-10 floor's
last bit). With many peaks (a noisy model output), each half of the cells runs on its own
thread when there are two cores.
:func:`sd_kl_reference` is the direct per-cell transcription, kept for tests and the benchmark.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.signal import find_peaks, peak_prominences, peak_widths
from scipy.sparse import csr_matrix
from scipy.stats import gaussian_kde

from vist.metrics.correlation import as_rates

__all__ = ["SDKLDetails", "peak_durations", "sd_kl", "sd_kl_details", "sd_kl_reference"]

MAX_SCORE = 1000.0
N_GRID = 200
EPS = 1e-10
_POWERS = np.arange(N_GRID, dtype=float) ** np.arange(3)[:, None]   # [3, N_GRID]: 1, k, k²
_CHUNK = 1 << 16   # elements per chunk of the kernel evaluations (512 KiB in float64)
BAND = 8.0   # kernel half-width evaluated, in bandwidths (√2 σ): exp(-64) ≈ 1.6e-28
THREADED_PEAKS = 20_000   # peaks (target + prediction) from which sd_kl splits the cells over two threads


def _pair(pred, target) -> tuple[np.ndarray, np.ndarray]:
    p, t = as_rates(pred, "sd_kl: pred"), as_rates(target, "sd_kl: target")
    if p.shape != t.shape:
        raise ValueError(f"sd_kl: pred and target must have the same shape; found {p.shape} and {t.shape}")
    return p, t


def _check_params(alpha: float, beta: float) -> None:
    if not alpha > 0:
        raise ValueError(f"sd_kl: alpha must be > 0, found {alpha}")
    if not beta > 0:
        raise ValueError(f"sd_kl: beta must be > 0, found {beta}")


def peak_durations(traces, beta: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Peak widths at the base of every cell's clipped trace, all cells in one pass.

    Equal to ``peak_widths(clip(x_c), find_peaks(clip(x_c), height=0)[0], rel_height=1)[0]`` per
    cell ``c``: whole-frame widths exactly, interpolated ones up to the rounding of their position
    in the laid-out array (~1e-11 frames). The cells are laid end to end with a separator (see
    the module docstring). scipy's prominence search walks from each peak to the next higher sample, through
    any zeros: to the cell's edge for every peak at ``β``, ``O(peaks × T)`` in all. Here the
    common case is settled directly: the only peak of a run of non-zero samples ("island") with
    a zero on both sides is the island's top, so its bases are those zeros and its prominence
    is its full height. Only the other peaks go through scipy, each walk windowed to its
    island (nothing beyond a zero can be lower).

    Args:
        traces: ``[T, cells]`` rates (spikes per bin).
        beta: clip ceiling.

    Returns:
        ``(widths [P], cell [P])``: every peak's width in frames and the cell it belongs to,
        sorted by cell then time.
    """
    return _durations(as_rates(traces, "peak_durations"), beta)


def _durations(x: np.ndarray, beta: float) -> tuple[np.ndarray, np.ndarray]:
    """:func:`peak_durations` of an already checked ``[T, cells]`` float array."""
    full = _laid_out(x, beta)
    return _widths(full, _peaks(full, x.shape[0]), x.shape[0], beta)


def _laid_out(x: np.ndarray, beta: float) -> np.ndarray:
    """``[T, cells]`` → the clipped cells laid end to end, each followed by a separator (β + 1): ``[cells·(T + 1)]``."""
    T, C = x.shape
    rows = np.empty((C, T + 1))
    np.clip(x.T, 0.0, beta, out=rows[:, :T])
    rows[:, T] = beta + 1.0                   # separator: higher than any clipped sample
    return rows.ravel()


def _peaks(full: np.ndarray, T: int) -> np.ndarray:
    """Positions in ``full`` (:func:`_laid_out`) of every cell's peaks (``find_peaks``, height ≥ 0), sorted."""
    peaks, _ = find_peaks(full[:-1], height=0)
    return peaks[peaks % (T + 1) != T]


def _widths(full: np.ndarray, peaks: np.ndarray, T: int, beta: float) -> tuple[np.ndarray, np.ndarray]:
    """``(widths [P], cell [P])`` at the base of the ``peaks`` of ``full`` (see :func:`peak_durations`)."""
    flat = full[:-1]
    if peaks.size == 0:
        return np.zeros(0), np.zeros(0, dtype=np.intp)
    # islands: maximal runs of samples in (0, β]; [start, end) in `full`, whose last sample is
    # a separator, so every island ends before it
    inside = (full > 0) & (full <= beta)
    change = np.empty(full.size, dtype=bool)
    change[0] = inside[0]
    np.not_equal(inside[1:], inside[:-1], out=change[1:])
    edges = np.flatnonzero(change)            # island starts and ends, alternating
    start, end = edges[0::2], edges[1::2]
    isl = np.searchsorted(start, peaks, side="right") - 1
    # an island's highest sample is one of its peaks (zeros flank it), so an island holding a
    # single peak holds it at its top
    alone = np.bincount(isl, minlength=start.size)[isl] == 1
    simple = (alone & (start[isl] > 0)
              & (full[np.maximum(start[isl] - 1, 0)] == 0) & (full[end[isl]] == 0))
    # a simple peak's width: from the zero before its island to the zero after, whole frames
    widths = (end[isl] - start[isl] + 1).astype(float)
    rest = np.flatnonzero(~simple)
    if rest.size:
        pk, isl = peaks[rest], isl[rest]
        prom, left, right = np.empty(rest.size), np.empty(rest.size, np.intp), np.empty(rest.size, np.intp)
        reach = np.maximum(pk - start[isl] + 1, end[isl] - pk)
        group = np.ceil(np.log2(reach)).astype(int)
        for g in np.unique(group):
            sel = group == g
            prom[sel], left[sel], right[sel] = peak_prominences(flat, pk[sel], wlen=2 ** (g + 1) + 1)
        widths[rest] = peak_widths(flat, pk, rel_height=1, prominence_data=(prom, left, right))[0]
    return widths, peaks // (T + 1)


def _kde_on_grids(w: np.ndarray, cell: np.ndarray, n: np.ndarray, ss: np.ndarray,
                  keep: np.ndarray, lo: np.ndarray, step: np.ndarray, alpha: float) -> np.ndarray:
    """Normalised ``gaussian_kde(w_c, bw_method=alpha)`` on cell ``c``'s grid, + EPS, per cell.

    ``w``/``cell``: flat widths sorted by cell; ``n``/``ss``: each cell's count and sum of
    squared deviations; ``keep``: boolean ``[cells]``; cell ``c``'s grid is
    ``lo[c] + step[c] · k``, ``k = 0 … N_GRID-1``. Returns ``[cells, N_GRID]`` (the rows of dropped
    cells are uniform, for the caller to drop).
    """
    C = keep.shape[0]
    var1 = ss / np.maximum(n - 1, 1)
    bw = np.sqrt(2.0 * alpha ** 2 * np.where(keep, var1, 1.0))   # √2 × kernel standard deviation
    sel = keep[cell]
    w, cell = w[sel], cell[sel]
    if w.size == 0:
        return np.zeros((C, N_GRID))
    # whole-frame durations repeat (base crossings on samples at zero): one kernel per distinct
    # (cell, whole width), weighted by its count; interpolated widths are nearly all distinct
    whole = w == np.round(w)
    span = int(w[whole].max(initial=0)) + 1
    keys = cell[whole] * span + w[whole].astype(np.int64)
    if C * span <= 16 * keys.size + (1 << 16):  # a dense count is cheaper than sorting
        count = np.bincount(keys, minlength=C * span)
        key = np.flatnonzero(count)
        count = count[key]
    else:
        key, count = np.unique(keys, return_counts=True)
    frac = ~whole
    w = np.concatenate([(key % span).astype(float), w[frac]])
    cell = np.concatenate([key // span, cell[frac]])
    count = np.concatenate([count, np.ones(w.size - key.size, dtype=np.int64)])
    # count · exp(-(grid_k - w)² / (2σ²)) = exp(log(count) - (a + v·k)²), grid_k = lo + step·k.
    # A kernel is below exp(-64) of its peak (far below the 1e-10 floor added next) more than
    # BAND bandwidths from its centre: each distinct width needs only the L grid points around
    # it (all N_GRID when the kernels are wide), starting at k0. Shifted to k0, the exponent is
    # a quadratic in j = k - k0: [distinct widths, L] exponents are one matrix product.
    a = (lo[cell] - w) / bw[cell]
    v = step[cell] / bw[cell]
    L = int(min(N_GRID, np.ceil(2 * BAND / v.min()) + 2))
    k0 = np.clip(np.floor((-a - BAND) / v), 0, N_GRID - L).astype(np.intp)
    a += v * k0
    coef = np.stack([np.log(count) - a * a, -2.0 * a * v, -v * v], axis=1)
    powers = np.ascontiguousarray(_POWERS[:, :L])   # (a strided operand would skip BLAS)
    if L == N_GRID:  # wide kernels: whole rows, summed per cell by a sparse 0/1 [C, U] product
        # (scipy's CSR loop is ~4× faster than np.add.reduceat over rows)
        z = coef @ powers
        np.exp(z, out=z)
        indptr = np.zeros(C + 1, dtype=np.intp)
        np.cumsum(np.bincount(cell, minlength=C), out=indptr[1:])
        rows_of = csr_matrix((np.ones(w.size), np.argsort(cell, kind="stable"), indptr), shape=(C, w.size))
        out = rows_of @ z
    else:  # narrow kernels: chunks of rows in reused buffers (fresh [U, L] arrays would cost
        # more in new pages than in arithmetic), added into the cells' grids by flat index
        base, offsets = cell * N_GRID + k0, np.arange(L)
        rows = max(1, _CHUNK // L)
        z, at = np.empty((rows, L)), np.empty((rows, L), dtype=np.intp)
        out = np.zeros(C * N_GRID)
        for r0 in range(0, w.size, rows):
            zz, aa = z[:min(rows, w.size - r0)], at[:min(rows, w.size - r0)]
            np.matmul(coef[r0:r0 + rows], powers, out=zz)
            np.exp(zz, out=zz)
            np.add(base[r0:r0 + rows, None], offsets, out=aa)
            out += np.bincount(aa.ravel(), weights=zz.ravel(), minlength=C * N_GRID)
        out = out.reshape(C, N_GRID)
    # whole rows, kept or not (boolean-indexed updates would copy three times)
    out *= np.where(keep, 1.0 / (np.maximum(n, 1) * bw * np.sqrt(np.pi)), 0.0)[:, None]
    out += EPS
    out /= out.sum(1, keepdims=True)
    return out


_POOL: tuple[int, ThreadPoolExecutor] | None = None   # (owning process id, pool)


def _on_both(fn: Callable[[Any], Any], a: Any, b: Any) -> tuple[Any, Any]:
    """``(fn(a), fn(b))``, ``fn(b)`` on a second thread when this machine has more than one core."""
    global _POOL
    if (os.cpu_count() or 1) < 2:
        return fn(a), fn(b)
    if _POOL is None or _POOL[0] != os.getpid():  # a forked child has the pool but not its thread
        _POOL = (os.getpid(), ThreadPoolExecutor(max_workers=1, thread_name_prefix="vist-sdkl"))
    other = _POOL[1].submit(fn, b)
    return fn(a), other.result()


def sd_kl(pred, target, alpha: float = 0.3, beta: float = 1.0) -> np.ndarray:
    """SD-KL per cell (SPEC §5), vectorised across cells.

    Args:
        pred: ``[T, cells]`` (or ``[T]``) predicted rates, spikes per bin; array or tensor.
        target: the same shape: recorded (trial-mean) rates.
        alpha: KDE bandwidth factor and spread factor (poster: 0.3).
        beta: clip ceiling, spikes per bin (poster: 1.0).

    Returns:
        ``[cells]`` scores in ``[0, 1000]`` (lower is better; 1000 = undefined: fewer than 2
        peaks, or zero variance of durations, in either trace). Average over cells for the
        paper's number.

    Raises:
        ValueError: NaN/inf in the inputs (naming where), or shapes that differ.
    """
    _check_params(alpha, beta)
    p, t = _pair(pred, target)
    T, C = t.shape
    # one layout per side (a cell's target and prediction lie at the same offsets, so that equal
    # traces give bit-equal durations), the two sides on two threads where there are cores

    def lay_out(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        full = _laid_out(x, beta)
        return full, _peaks(full, T)

    (ft, kt), (fp, kp) = _on_both(lay_out, t, p)

    def score(cells: slice) -> np.ndarray:
        lo, hi = cells.start * (T + 1), cells.stop * (T + 1)

        def part(full: np.ndarray, peaks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            peaks = peaks[np.searchsorted(peaks, lo):np.searchsorted(peaks, hi)] - lo
            return _widths(full[lo:hi], peaks, T, beta)

        return _score(*part(ft, kt), *part(fp, kp), cells.stop - cells.start, alpha)

    if C < 2 or kt.size + kp.size < THREADED_PEAKS:
        return score(slice(0, C))
    # cells are independent: each half of them on its own thread where there are two cores.
    # scipy's peak loops and numpy's large array operations release the GIL; with few peaks the
    # work is many small numpy calls that hold it, and two threads only take turns
    half = (C + 1) // 2
    return np.concatenate(_on_both(score, slice(0, half), slice(half, C)))


def _score(wt: np.ndarray, ct: np.ndarray, wp: np.ndarray, cp: np.ndarray, C: int, alpha: float) -> np.ndarray:
    """SD-KL ``[C]`` from the durations ``w`` and cells ``c`` of target (``t``) and prediction (``p``)."""
    # target cells are 0…C-1, predicted cells C…2C-1
    w, c = np.r_[wt, wp], np.r_[ct, cp + C]
    n = np.bincount(c, minlength=2 * C)
    mean = np.bincount(c, weights=w, minlength=2 * C) / np.maximum(n, 1)
    ss = np.bincount(c, weights=(w - mean[c]) ** 2, minlength=2 * C)
    keep = (n[:C] >= 2) & (n[C:] >= 2) & (ss[:C] > 0) & (ss[C:] > 0)
    # union statistics: population variance of D ∪ D̂ from the two sets' moments
    nt, npk, mt, mp = n[:C], n[C:], mean[:C], mean[C:]
    nu = nt + npk
    mu = (nt * mt + npk * mp) / np.maximum(nu, 1)
    var_u = (ss[:C] + nt * (mt - mu) ** 2 + ss[C:] + npk * (mp - mu) ** 2) / np.maximum(nu, 1)
    s = alpha * var_u
    lo, hi = np.full(2 * C, np.inf), np.full(2 * C, -np.inf)
    np.minimum.at(lo, c, w)
    np.maximum.at(hi, c, w)
    lo = np.where(keep, np.minimum(lo[:C], lo[C:]) - 3 * s, 0.0)
    hi = np.where(keep, np.maximum(hi[:C], hi[C:]) + 3 * s, 1.0)
    step = (hi - lo) / (N_GRID - 1)
    P = _kde_on_grids(wt, ct, n[:C], ss[:C], keep, lo, step, alpha)[keep]
    Ph = _kde_on_grids(wp, cp, n[C:], ss[C:], keep, lo, step, alpha)[keep]
    kl = np.full(C, MAX_SCORE)
    kl[keep] = np.sum(Ph * np.log(Ph / P), axis=1)
    return np.clip(kl, 0.0, MAX_SCORE)


@dataclass
class SDKLDetails:
    """The intermediate quantities of SD-KL for one cell (for figures).

    Attributes:
        target_clipped, pred_clipped: ``[T]`` traces clipped to ``[0, β]``.
        target_peaks, pred_peaks: peak frame indices.
        target_widths, pred_widths: ``[4, n_peaks]``: width (frames), base height, left and
            right interpolated crossing positions (``peak_widths`` output).
        grid: ``[200]`` duration grid (frames) or ``None`` if the score is undefined.
        P, P_hat: ``[200]`` normalised KDEs of target and prediction durations, or ``None``.
        score: the cell's SD-KL.
    """

    target_clipped: np.ndarray
    pred_clipped: np.ndarray
    target_peaks: np.ndarray
    pred_peaks: np.ndarray
    target_widths: np.ndarray
    pred_widths: np.ndarray
    grid: np.ndarray | None
    P: np.ndarray | None
    P_hat: np.ndarray | None
    score: float


def sd_kl_details(pred, target, alpha: float = 0.3, beta: float = 1.0) -> SDKLDetails:
    """Every step of SD-KL for a single cell's ``[T]`` traces, the direct per-cell way."""
    _check_params(alpha, beta)
    p, t = _pair(pred, target)
    if p.shape[1] != 1:
        raise ValueError(f"sd_kl_details: expected one cell's traces [T], found {p.shape[1]} cells")
    tc, pc = np.clip(t[:, 0], 0, beta), np.clip(p[:, 0], 0, beta)
    tpk, _ = find_peaks(tc, height=0)
    ppk, _ = find_peaks(pc, height=0)
    tw = np.array(peak_widths(tc, tpk, rel_height=1)) if tpk.size else np.zeros((4, 0))
    pw = np.array(peak_widths(pc, ppk, rel_height=1)) if ppk.size else np.zeros((4, 0))
    D, Dh = tw[0], pw[0]
    grid = P = Ph = None
    score = MAX_SCORE
    if len(D) >= 2 and len(Dh) >= 2 and np.var(D) > 0 and np.var(Dh) > 0:
        U = np.concatenate([D, Dh])
        s = alpha * np.var(U)
        grid = np.linspace(U.min() - 3 * s, U.max() + 3 * s, N_GRID)
        P = gaussian_kde(D, bw_method=alpha)(grid) + EPS
        P /= P.sum()
        Ph = gaussian_kde(Dh, bw_method=alpha)(grid) + EPS
        Ph /= Ph.sum()
        score = float(np.clip(np.sum(Ph * np.log(Ph / P)), 0.0, MAX_SCORE))
    return SDKLDetails(tc, pc, tpk, ppk, tw, pw, grid, P, Ph, score)


def sd_kl_reference(pred, target, alpha: float = 0.3, beta: float = 1.0) -> np.ndarray:
    """SD-KL per cell by the direct per-cell scipy transcription of SPEC §5 (the authors' way).

    One ``find_peaks``/``peak_widths``/two ``gaussian_kde`` per cell, in a Python loop. Same
    arguments and result as :func:`sd_kl`; slow, kept as the reference for tests and benchmarks.
    """
    p, t = _pair(pred, target)
    return np.array([sd_kl_details(p[:, c], t[:, c], alpha, beta).score for c in range(t.shape[1])])
