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

:func:`sd_kl` runs all four steps of a cell in one compiled function (numba), cell after cell:

* peaks, prominences and widths are those of scipy's loops (``_local_maxima_1d``,
  ``_peak_prominences``, ``_peak_widths``): the same comparisons and the same arithmetic, so the
  durations are scipy's to the last bit, but without their walks. scipy walks from each peak to
  the next higher sample on either side, to the cell's edge for a peak at β: ``O(peaks × T)``,
  most of the time on a model's output. Here the samples between two neighbouring peaks (a
  valley) are scanned once, and each peak's bases come from its neighbours' in a stack pass per
  side (see :func:`_peak_widths`);
* each KDE kernel is evaluated only on the grid points within ``BAND`` = 8 bandwidths of its
  centre (beyond, it is below ``exp(-64)`` ≈ 1.6e-28 of its peak, under the 1e-10 floor's last
  bit), without an exponential per point: along the grid, ``exp(-u_k²)`` with ``u_k = a + v·k``
  is a product of ratios that themselves shrink by the constant factor ``exp(-2v²)``, so two
  multiplications per point (relative rounding ≲ 1e-11 after 200 points). Whole-frame widths
  repeat (base crossings on samples at zero): one kernel per distinct whole width, weighted by
  its count.

The compiled functions release the GIL: from ``THREADED_SAMPLES`` samples on, the cells are
split in two halves, each scored on its own thread, when the machine has two cores. They are
compiled on the first call in a process (seconds; ``python -m vist.bench kernels`` times it)
and cached on disk where numba can write (beside this file, else in the user's cache folder;
``NUMBA_CACHE_DIR`` chooses another); without a writable place they are compiled once per
process. :func:`sd_kl_reference` is the direct per-cell scipy transcription, kept for tests and
the benchmark.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
from scipy.signal import find_peaks, peak_widths
from scipy.stats import gaussian_kde

from vist.metrics.correlation import as_rates

__all__ = ["SDKLDetails", "peak_durations", "sd_kl", "sd_kl_details", "sd_kl_reference"]

MAX_SCORE = 1000.0
N_GRID = 200
EPS = 1e-10
BAND = 8.0   # kernel half-width evaluated, in bandwidths (√2 σ): exp(-64) ≈ 1.6e-28
DIRECT_V = 2.0   # grid step / bandwidth above which each kernel point gets its own exponential
THREADED_SAMPLES = 40_000   # samples (T × cells) from which sd_kl splits the cells over two threads


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


def _jit(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``numba.njit``, GIL released, cached on disk where numba finds a writable folder."""
    options = {"nogil": True, "error_model": "numpy"}
    try:
        return numba.njit(cache=True, **options)(fn)
    except RuntimeError:   # "cannot cache function …: no locator available" (read-only install)
        return numba.njit(**options)(fn)


@_jit
def _clip_rows(x, c0, nc, beta, out):
    """``out[j] = clip(x[:, c0 + j], 0, beta)`` for ``j < nc``: a block of cells, read row by row."""
    for i in range(x.shape[0]):
        for j in range(nc):
            v = x[i, c0 + j]
            out[j, i] = 0.0 if v < 0.0 else (beta if v > beta else v)


@_jit
def _find_peaks(x, peaks):
    """scipy's ``_local_maxima_1d`` (``find_peaks(x, height=0)`` for ``x ≥ 0``): peak positions
    into ``peaks``, returns their count. A plateau's peak is its middle sample (the left one of
    two), and neither end sample is a peak.

    scipy's loop tests each sample for a rise, then looks for the end of a plateau. Here every
    sample that rises and does not fall (``x[i-1] < x[i] >= x[i+1]``) is listed first, without
    a branch (noisy traces defeat branch prediction); the plateaus among them are then followed
    as scipy does: the same peaks, since the samples that scipy skips after a plateau's end
    are not listed.
    """
    n = x.shape[0]
    if n < 3:
        return 0
    m = 0
    before, here = x[0], x[1]
    for i in range(1, n - 1):
        after = x[i + 1]
        peaks[m] = i
        m += (before < here) & (here >= after)
        before, here = here, after
    found = 0
    for k in range(m):
        i = peaks[k]
        ahead = i + 1
        while ahead < n - 1 and x[ahead] == x[i]:
            ahead += 1
        if x[ahead] < x[i]:
            peaks[found] = (i + ahead - 1) // 2
            found += 1
    return found


@_jit
def _bases(x, peaks, first, stop, step, offset, v_min, v_pos, s_top, s_min, s_pos, s_val,
           out_min, out_base, out_val):
    """One side's bases of the peaks, in one stack pass over ``k = first, first + step, …``
    (before ``stop``): for each peak ``k``, the lowest valley minimum met walking outwards from
    it up to the first higher peak (``out_min[k]``), where it lies (``out_base[k]``, from
    ``v_pos``) and its valley (``out_val[k]``). The valley beside peak ``k`` on this side is
    ``k + offset`` (left: ``offset = 0``, right: ``1``); the stack (``s_*``) holds peaks of
    decreasing height, each with the lowest minimum since the previous one. Ties keep the
    nearest valley.
    """
    top = -1
    for k in range(first, stop, step):
        xq = x[peaks[k]]
        low, pos, val = v_min[k + offset], v_pos[k + offset], k + offset
        while top >= 0 and s_top[top] <= xq:
            if s_min[top] < low:
                low, pos, val = s_min[top], s_pos[top], s_val[top]
            top -= 1
        top += 1
        s_top[top], s_min[top], s_pos[top], s_val[top] = xq, low, pos, val
        out_min[k], out_base[k], out_val[k] = low, pos, val


@_jit
def _peak_widths(x, widths, iw, fw):
    """``peak_widths(x, find_peaks(x, height=0)[0], rel_height=1)[0]`` of one clipped trace
    (``x ≥ 0``) into ``widths``, in time order; returns the number of peaks.

    Same comparisons as scipy's ``_peak_prominences`` and ``_peak_widths``, without their walks.
    Between two neighbouring peaks lies a *valley*, which falls (or stays level) to its lowest
    sample and then rises (or stays level): anything else would hold another peak. A peak's
    base search (walk outwards while no sample is higher than the peak, keep the lowest sample,
    the nearest one if tied) covers whole valleys and the peaks between them that are not
    higher, up to the first higher peak. So each peak's base is the lowest of those valleys'
    minima, found for all peaks in one stack pass per side (the stack holds peaks of decreasing
    height, each with the lowest minimum since the previous one). The width's crossing search
    then skips every valley whose minimum is above the crossing height and walks within the
    first that is not. ``iw [9, ≥ T//2 + 2]`` and ``fw [5, ≥ T//2 + 2]`` are work space.
    """
    n = x.shape[0]
    peaks, v_left, v_right, s_pos, s_val, l_base, l_val, r_base, r_val = (
        iw[0], iw[1], iw[2], iw[3], iw[4], iw[5], iw[6], iw[7], iw[8])
    v_min, s_top, s_min, l_min, r_min = fw[0], fw[1], fw[2], fw[3], fw[4]
    m = _find_peaks(x, peaks)
    if m == 0:
        return 0
    # valley j: the samples strictly between peaks j-1 and j (peak -1 at -1, peak m at n); its
    # lowest sample is where its first level-or-falling run ends (the last position of the
    # minimum); the first position is the start of that level stretch
    start = 0
    for j in range(m + 1):
        stop = peaks[j] if j < m else n
        i = start
        while i + 1 < stop and x[i + 1] <= x[i]:
            i += 1
        v_min[j], v_right[j] = x[i], i
        while i > start and x[i - 1] == x[i]:
            i -= 1
        v_left[j] = i
        start = stop + 1
    # left bases (the last position of the lowest minimum), peaks left to right; right bases
    # (the first position of the lowest minimum), peaks right to left
    _bases(x, peaks, 0, m, 1, 0, v_min, v_right, s_top, s_min, s_pos, s_val, l_min, l_base, l_val)
    _bases(x, peaks, m - 1, -1, -1, 1, v_min, v_left, s_top, s_min, s_pos, s_val, r_min, r_base, r_val)
    for k in range(m):
        xq = x[peaks[k]]
        prominence = xq - max(l_min[k], r_min[k])
        height = xq - prominence * 1.0   # rel_height = 1, as scipy computes it
        # scipy: i = peak; while left_base < i and height < x[i]: i -= 1. On the side of the
        # higher base, `height` is (but for rounding) the base's value, which every sample
        # between the base and the peak exceeds: the walk ends on the base. Otherwise valleys
        # above `height`, and the peaks between them, are passed whole
        if height == l_min[k]:
            left = float(l_base[k])
        else:
            j = k
            while j > l_val[k] and v_min[j] > height:
                j -= 1
            i = peaks[j]
            while l_base[k] < i and height < x[i]:
                i -= 1
            left = float(i)
            if x[i] < height:
                left += (height - x[i]) / (x[i + 1] - x[i])
        if height == r_min[k]:
            right = float(r_base[k])
        else:
            j = k + 1
            while j < r_val[k] and v_min[j] > height:
                j += 1
            i = peaks[j - 1]
            while i < r_base[k] and height < x[i]:
                i += 1
            right = float(i)
            if x[i] < height:
                right -= (height - x[i]) / (x[i - 1] - x[i])
        widths[k] = right - left
    return m


_BLOCK = 8   # cells clipped and laid out contiguously at a time


@_jit
def _all_widths(x, beta):
    """``(widths [P], cell [P])`` of every cell's peaks in ``x [T, cells]`` (see :func:`peak_durations`)."""
    T, C = x.shape
    rows = np.empty((_BLOCK, T))
    iw, fw = np.empty((9, T // 2 + 2), dtype=np.intp), np.empty((5, T // 2 + 2))
    widths = np.empty(C * (T // 2 + 1))
    cell = np.empty(C * (T // 2 + 1), dtype=np.intp)
    n = 0
    for c0 in range(0, C, _BLOCK):
        nc = min(_BLOCK, C - c0)
        _clip_rows(x, c0, nc, beta, rows)
        for j in range(nc):
            m = _peak_widths(rows[j], widths[n:], iw, fw)
            cell[n:n + m] = c0 + j
            n += m
    return widths[:n].copy(), cell[:n].copy()


@_jit
def _kde(w, n, lo, step, bw, hist, kw, ki, dens):
    """``dens[k] = Σ_i exp(-((lo + step·k - w_i) / bw)²)``, ``k < N_GRID``, over ``w[:n]``.

    Each kernel within ``BAND`` bandwidths of its centre; equal whole widths once, weighted by
    their count (``hist``: zeros, longer than ``max(w)``, left zeroed). ``kw [3, ≥ n]`` and
    ``ki [≥ n]`` are work space, ``dens [3 · N_GRID]``: the grid in its middle third, margins
    for the kernels that start before it or end after it.
    """
    centres, counts, e0 = kw[0], kw[1], kw[2]
    # kernels: the fractional widths, then the distinct whole widths with their counts
    nk = 0
    top = -1
    for i in range(n):
        if w[i] == math.floor(w[i]):
            k = int(w[i])
            hist[k] += 1
            top = max(top, k)
        else:
            centres[nk], counts[nk] = w[i], 1.0
            nk += 1
    for k in range(top + 1):
        if hist[k]:
            centres[nk], counts[nk] = float(k), float(hist[k])
            nk += 1
            hist[k] = 0
    dens[:] = 0.0
    v = step / bw
    if v > DIRECT_V:   # narrow kernels, a few grid points each: one exponential per point
        for i in range(nk):
            a = (lo - centres[i]) / bw
            first = max(0, int(math.floor(-a / v - BAND / v)))
            last = min(N_GRID - 1, int(math.ceil(-a / v + BAND / v)))
            for k in range(first, last + 1):
                u = a + v * k
                dens[N_GRID + k] += counts[i] * math.exp(-u * u)
        return
    # along the grid, exp(-u_{k+1}²) = exp(-u_k²) · r_k with r_k = exp(-v(2u_k + v)) and
    # r_{k+1} = r_k · q: each kernel's L points from its first one, k0 (wide kernels: the whole
    # grid), centres inside the grid so that k0 ≥ -L
    q = math.exp(-2.0 * v * v)
    L = min(N_GRID, int(2.0 * BAND / v) + 2)
    r0 = kw[1]   # (the counts are folded into e0 first)
    for i in range(nk):
        a = (lo - centres[i]) / bw
        k0 = 0 if L == N_GRID else int(math.floor(-a / v - BAND / v))
        u = a + v * k0
        ki[i] = N_GRID + k0
        e0[i] = counts[i] * math.exp(-u * u)
        r0[i] = math.exp(-v * (2.0 * u + v))
    i = 0
    while i + 4 <= nk:   # four kernels at a time: four independent chains of products
        ka, kb, kc, kd = ki[i], ki[i + 1], ki[i + 2], ki[i + 3]
        ea, eb, ec, ed = e0[i], e0[i + 1], e0[i + 2], e0[i + 3]
        ra, rb, rc, rd = r0[i], r0[i + 1], r0[i + 2], r0[i + 3]
        for j in range(L):
            dens[ka + j] += ea
            dens[kb + j] += eb
            dens[kc + j] += ec
            dens[kd + j] += ed
            ea *= ra
            eb *= rb
            ec *= rc
            ed *= rd
            ra *= q
            rb *= q
            rc *= q
            rd *= q
        i += 4
    while i < nk:
        ka, ea, ra = ki[i], e0[i], r0[i]
        for j in range(L):
            dens[ka + j] += ea
            ea *= ra
            ra *= q
        i += 1


@_jit
def _score_one(D, Dh, alpha, hist, kw, ki, dens_t, dens_p):
    """SD-KL of one cell from its durations ``D`` (target) and ``D̂`` (prediction)."""
    nt, npr = D.shape[0], Dh.shape[0]
    if nt < 2 or npr < 2:
        return MAX_SCORE
    st, sp = 0.0, 0.0
    lo, hi = np.inf, -np.inf
    for i in range(nt):
        st += D[i]
        lo, hi = min(lo, D[i]), max(hi, D[i])
    for i in range(npr):
        sp += Dh[i]
        lo, hi = min(lo, Dh[i]), max(hi, Dh[i])
    mt, mp, mu = st / nt, sp / npr, (st + sp) / (nt + npr)
    sst, ssp, ssu = 0.0, 0.0, 0.0
    for i in range(nt):
        sst += (D[i] - mt) ** 2
        ssu += (D[i] - mu) ** 2
    for i in range(npr):
        ssp += (Dh[i] - mp) ** 2
        ssu += (Dh[i] - mu) ** 2
    if not (sst > 0.0 and ssp > 0.0):   # a KDE of equal values is undefined
        return MAX_SCORE
    s = alpha * ssu / (nt + npr)
    lo, hi = lo - 3.0 * s, hi + 3.0 * s
    step = (hi - lo) / (N_GRID - 1)
    # gaussian_kde(·, bw_method=alpha): kernel variance alpha² var(·, ddof=1); bw = √2 σ
    bw_t = math.sqrt(2.0 * alpha * alpha * sst / (nt - 1))
    bw_p = math.sqrt(2.0 * alpha * alpha * ssp / (npr - 1))
    _kde(D, nt, lo, step, bw_t, hist, kw, ki, dens_t)
    _kde(Dh, npr, lo, step, bw_p, hist, kw, ki, dens_p)
    norm_t = 1.0 / (nt * bw_t * math.sqrt(math.pi))
    norm_p = 1.0 / (npr * bw_p * math.sqrt(math.pi))
    sum_t, sum_p = 0.0, 0.0
    for k in range(N_GRID, 2 * N_GRID):
        dens_t[k] = dens_t[k] * norm_t + EPS
        dens_p[k] = dens_p[k] * norm_p + EPS
        sum_t += dens_t[k]
        sum_p += dens_p[k]
    kl = 0.0
    for k in range(N_GRID, 2 * N_GRID):
        P, Ph = dens_t[k] / sum_t, dens_p[k] / sum_p
        kl += Ph * math.log(Ph / P)
    return min(max(kl, 0.0), MAX_SCORE)


@_jit
def _score_cells(p, t, c0, c1, alpha, beta, out):
    """``out[c] =`` SD-KL of cell ``c`` of ``p``, ``t`` ``[T, cells]``, for ``c0 ≤ c < c1``."""
    T = t.shape[0]
    rows_t, rows_p = np.empty((_BLOCK, T)), np.empty((_BLOCK, T))
    iw, fw = np.empty((9, T // 2 + 2), dtype=np.intp), np.empty((5, T // 2 + 2))
    D, Dh = np.empty(T // 2 + 1), np.empty(T // 2 + 1)
    hist = np.zeros(T + 1, dtype=np.int64)
    kw, ki = np.empty((3, T // 2 + 1)), np.empty(T // 2 + 1, dtype=np.intp)
    dens_t, dens_p = np.empty(3 * N_GRID), np.empty(3 * N_GRID)
    for b in range(c0, c1, _BLOCK):
        nc = min(_BLOCK, c1 - b)
        _clip_rows(t, b, nc, beta, rows_t)
        _clip_rows(p, b, nc, beta, rows_p)
        for j in range(nc):
            nt = _peak_widths(rows_t[j], D, iw, fw)
            npr = _peak_widths(rows_p[j], Dh, iw, fw)
            out[b + j] = _score_one(D[:nt], Dh[:npr], alpha, hist, kw, ki, dens_t, dens_p)


def peak_durations(traces, beta: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Peak widths at the base of every cell's clipped trace.

    Equal, bit for bit, to ``peak_widths(clip(x_c), find_peaks(clip(x_c), height=0)[0],
    rel_height=1)[0]`` per cell ``c`` (compiled, see the module docstring).

    Args:
        traces: ``[T, cells]`` rates (spikes per bin).
        beta: clip ceiling.

    Returns:
        ``(widths [P], cell [P])``: every peak's width in frames and the cell it belongs to,
        sorted by cell then time.
    """
    return _all_widths(np.ascontiguousarray(as_rates(traces, "peak_durations")), float(beta))


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
    """SD-KL per cell (SPEC §5), compiled, cell after cell.

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
    # C-contiguous float64: one compiled version for every input (a new memory layout would be
    # compiled anew)
    p, t = map(np.ascontiguousarray, _pair(pred, target))
    T, C = t.shape
    out = np.empty(C)
    alpha, beta = float(alpha), float(beta)

    def score(cells: slice) -> None:
        _score_cells(p, t, cells.start, cells.stop, alpha, beta, out)

    if C < 2 or T * C < THREADED_SAMPLES:
        score(slice(0, C))
    else:  # cells are independent, the compiled loop releases the GIL: two halves, two threads
        half = (C + 1) // 2
        _on_both(score, slice(0, half), slice(half, C))
    return out


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
