"""Triton soft-DTW kernels: values and gradients of a whole batch in one launch, no atomics.

Imported lazily by :mod:`vist.kernels.soft_dtw` (only when the Triton path is used), so the
package works where Triton is missing. Under ``TRITON_INTERPRET=1`` (set before this module is
imported) the same kernels run on CPU tensors, which is how the tests run them. Launch shapes
and variants come from a :class:`vist.kernels.settings.KernelSettings` (results do not depend
on them); measurements are in ``benchmarks/README.md``.

Notation as in :mod:`vist.kernels.soft_dtw`: cost ``C[i, j] = ||a_i - b_j||²``, table ``R``,
soft alignment ``E = ∂R[La-1, Lb-1]/∂C``, and ``Q = R - C`` (the softmin a cell took). Every
kernel walks the anti-diagonals ``s = i + j``; the cells of a diagonal are independent and sit on
the lanes of a program, lane ↔ row ``i``. Softmins are log-sum-exps around the minimum (stable at
γ = 1e-3); cells outside the table hold ``R = +inf`` / ``E = 0`` and every neighbour term is
guarded by ``tl.where``, so no NaN/inf reaches a result.

The gradients are formed in the forward launch (when an input needs one): a program runs the
forward sweep, then the reverse sweep for ``E``, then turns ``E`` into the gradients of its own
sequences, written with plain stores to buffers it owns. The autograd backward only scales them
by the incoming gradient (and, for the Vi-ST windows, overlap-adds the windows). Results are
deterministic.

* ``_tile_kernel`` — sequences of at most ``settings.tile_max`` steps (the Vi-ST windows, 6 and
  12 frames of 90 cells). One program per (batch item, window) handles the three pairs of a
  divergence, ``(x, y)``, ``(x, x)``, ``(y, y)``, as a ``[4, BL]`` tile (pair × row; pair 3 is
  padding); the windows are read in place from ``[B, T, cells]`` through their strides, both
  window sizes in one launch (programs ``>= split`` belong to the second size). Steps: (1) the
  three cost matrices ``[BL, BL]``, stored diagonal-major ``[pair, s, i]`` in a per-program
  scratch; (2) forward sweep with the previous diagonal of ``R`` in registers, shifted by one
  row with ``tl.gather`` (or a masked sum), ``Q`` stored as computed; (3) reverse sweep for
  ``E`` the same way, ``E`` stored over ``Q``; (4) the gradients of
  ``D(x,y) - ½(D(x,x) + D(y,y))``: with ``A = E_xy``, ``S = E_xx``, ``T = E_yy``,
  ``∂/∂x = 2[(rowsum A - rowsum S)·x - A y + S x]`` and
  ``∂/∂y = 2[(colsum A - rowsum T)·y - Aᵀ x + T y]``, stored per window. The Vi-ST backward
  is one more launch (``_overlap_add_kernel``): each frame sums the windows that cover it,
  scaled by ``∂L/∂S_w / (B · n_w)``. A plain :func:`soft_dtw_triton` on short sequences uses the
  same kernel with one program per batch item.

* ``_long_kernel`` — longer sequences (e.g. ``[90, 800, 1]``). One program per pair, lanes =
  the cells of a diagonal (up to ``settings.long_max_lanes``; longer diagonals in lane chunks).
  The previous two diagonals of ``R`` (then of ``E``) live in a per-program rolling buffer of 3
  rows, ``Q`` in a compact diagonal-major buffer (``4·La·Lb`` bytes per pair), and
  ``tl.debug_barrier()`` separates diagonals. In the reverse sweep each cell adds
  ``2·E[i,j]·(a_i - b_j)`` to row ``i`` of its ``∂/∂a`` buffer and subtracts it from row ``j``
  of its ``∂/∂b`` buffer (rows and columns are distinct on a diagonal: plain read-modify-writes);
  the pairs of a divergence are combined afterwards. Windows longer than ``tile_max`` are copied
  (:func:`vist.kernels.windows.unfold_windows`) and go through this kernel.

Both paths are CUDA-graph capturable: no host synchronisation, no ``.item()``; buffers are
allocated per call, and the only cache (the 0/1 matrix summing windows per size) is built with
device operations.
"""

from __future__ import annotations

import math
import warnings

import torch
import triton
import triton.language as tl

from vist.kernels.settings import DEFAULT_SETTINGS, KernelSettings
from vist.kernels.windows import unfold_windows

_INF = tl.constexpr(float("inf"))  # globals read inside @triton.jit must be constexpr

_GATHER_BROKEN: set[str] = set()
"""Device types on which the ``tl.gather`` variant of the tile kernel failed to compile: the
masked-sum shift is used there for the rest of the process (a warning says so once)."""


# ---------------------------------------------------------------------------------------------
# shared device helpers
# ---------------------------------------------------------------------------------------------

@triton.jit
def _softmin(up, left, dg, k2, g_ln2):
    """``-γ log Σ exp(-v/γ)`` of three tensors, around their minimum (``k2 = log2(e)/γ``)."""
    mn = tl.minimum(tl.minimum(up, left), dg)
    z = tl.exp2((mn - up) * k2) + tl.exp2((mn - left) * k2) + tl.exp2((mn - dg) * k2)
    return mn - g_ln2 * tl.log2(z)


@triton.jit
def _shift(v, i, delta: tl.constexpr, BL: tl.constexpr, GATHER: tl.constexpr):
    """``v[:, i + delta]`` of a ``[P, BL]`` tile (index clamped to the tile; callers mask)."""
    src = tl.minimum(tl.maximum(i + delta, 0), BL - 1)
    if GATHER:
        return tl.gather(v, src + tl.zeros(v.shape, dtype=tl.int32), axis=1)
    else:
        k = tl.arange(0, BL)[None, None, :]
        sel = k == src[:, :, None]
        return tl.sum(tl.where(sel, v[:, None, :], 0.0), axis=2)


# ---------------------------------------------------------------------------------------------
# short sequences: register tiles, three pairs per program
# ---------------------------------------------------------------------------------------------

@triton.jit
def _tile_kernel(x_ptr, y_ptr, sxb, sxt, sxc, syb, syt, syc, D,
                 N, M, n_win, hop, split, N2, n_win2, hop2,
                 val_ptr, inv1, inv2, gxs_ptr, gys_ptr, LA, LB, scr_ptr, k2, g_ln2,
                 NP: tl.constexpr, BL: tl.constexpr, BD: tl.constexpr,
                 NEED_GRAD: tl.constexpr, GATHER: tl.constexpr, STAGES: tl.constexpr,
                 PREFETCH: tl.constexpr):
    # --- which windows: item -> (batch b, window start); second window size for items >= split
    item = tl.program_id(0).to(tl.int64)
    second = item >= split
    local = tl.where(second, item - split, item)
    nw = tl.where(second, n_win2, n_win)
    b = local // nw
    start = (local % nw) * tl.where(second, hop2, hop)
    La = tl.where(second, N2, N)            # x window length
    Lb = tl.where(second, N2, M)            # y window length
    inv = tl.where(second, inv2, inv1)      # weight of this item's value (1 / #windows)
    xb = x_ptr + b * sxb + start * sxt
    yb = y_ptr + b * syb + start * syt
    NS: tl.constexpr = 2 * BL               # diagonal slots per pair in the scratch
    cbuf = scr_ptr + item * (2 * NP * NS * BL)   # costs  [NP, NS, BL]
    rbuf = cbuf + NP * NS * BL                   # R, then E [NP, NS, BL]

    # --- 1. cost matrices, stored diagonal-major: (p, s = i + j, i)
    ii = tl.arange(0, BL)[:, None]
    jj = tl.arange(0, BL)[None, :]
    dl = tl.arange(0, BD)[None, :]
    cxy = tl.zeros([BL, BL], dtype=tl.float32)
    cxx = tl.zeros([BL, BL], dtype=tl.float32)
    cyy = tl.zeros([BL, BL], dtype=tl.float32)
    for d0 in tl.range(0, D, BD, num_stages=STAGES):
        dd = d0 + dl
        xa = tl.load(xb + ii * sxt + dd * sxc, mask=(ii < La) & (dd < D), other=0.0).to(tl.float32)
        ya = tl.load(yb + ii * syt + dd * syc, mask=(ii < Lb) & (dd < D), other=0.0).to(tl.float32)
        diff = xa[:, None, :] - ya[None, :, :]
        cxy += tl.sum(diff * diff, axis=2)
        if NP > 1:
            diff = xa[:, None, :] - xa[None, :, :]
            cxx += tl.sum(diff * diff, axis=2)
            diff = ya[:, None, :] - ya[None, :, :]
            cyy += tl.sum(diff * diff, axis=2)
    skew = (ii + jj) * BL + ii
    tl.store(cbuf + skew, cxy, mask=(ii < La) & (jj < Lb))
    if NP > 1:
        tl.store(cbuf + NS * BL + skew, cxx, mask=(ii < La) & (jj < La))
        tl.store(cbuf + 2 * NS * BL + skew, cyy, mask=(ii < Lb) & (jj < Lb))
    tl.debug_barrier()

    # --- per-pair geometry on a [NP, BL] tile: pair 0 (x,y), 1 (x,x), 2 (y,y), 3 padding
    pp = tl.arange(0, NP)[:, None]
    i = tl.arange(0, BL)[None, :]
    La_p = tl.where(pp == 2, Lb, tl.where(pp == 3, 0, La))
    Lb_p = tl.where(pp == 1, La, tl.where(pp == 3, 0, Lb))
    last = La_p + Lb_p - 2                  # diagonal of the final cell
    row = pp * (NS * BL) + i                # offset of (p, s = 0, i)
    if NP > 1:
        n_diag = tl.maximum(La, Lb) * 2 - 1
    else:
        n_diag = La + Lb - 1

    # --- 2. forward sweep; prev = R of diagonal s-1 by row, up_prev = its shift (R[i-1, j-1])
    prev = tl.full([NP, BL], _INF, tl.float32)
    up_prev = prev
    val = tl.zeros([NP, BL], dtype=tl.float32)
    if PREFETCH:  # the next diagonal's costs, loaded a step ahead
        c_next = tl.load(cbuf + row)
    for s in range(0, n_diag):
        j = s - i
        valid = (i < La_p) & (j >= 0) & (j < Lb_p)
        if PREFETCH:  # slot s + 1 <= 2·BL − 1 stays inside this program's scratch
            c = c_next
            c_next = tl.load(cbuf + row + (s + 1) * BL)
        else:
            c = tl.load(cbuf + row + s * BL)    # slots of invalid cells hold garbage: masked below
        up = tl.where(i >= 1, _shift(prev, i, -1, BL, GATHER), _INF)
        sm = tl.where(s == 0, 0.0, _softmin(up, prev, up_prev, k2, g_ln2))
        r = tl.where(valid, c + sm, _INF)
        if NEED_GRAD:  # keep Q = R - C as computed (R - C after rounding loses ulp(R) / γ)
            tl.store(rbuf + row + s * BL, sm)
        val = tl.where(valid & (s == last) & (i == La_p - 1), r, val)
        prev = r
        up_prev = up
    if NP > 1:
        wgt = tl.where(pp == 0, 1.0, tl.where(pp == 3, 0.0, -0.5))
        v = tl.sum(tl.sum(val * wgt, axis=1), axis=0)
    else:
        v = tl.sum(tl.sum(val, axis=1), axis=0)
    tl.store(val_ptr + item, v * inv)

    if NEED_GRAD:
        tl.debug_barrier()
        # --- 3. reverse sweep; e1/q1 = E/Q of diagonal s+1 by row, e2u/q2u = diagonal s+2
        # shifted up one row (the diagonal successor (i+1, j+1))
        e1 = tl.zeros([NP, BL], dtype=tl.float32)
        q1 = e1
        e2u = e1
        q2u = e1
        if PREFETCH:
            q_next = tl.load(rbuf + row + (n_diag - 1) * BL)
            c_next = tl.load(cbuf + row + (n_diag - 1) * BL)
        for t in range(0, n_diag):
            s = n_diag - 1 - t
            j = s - i
            valid = (i < La_p) & (j >= 0) & (j < Lb_p)
            if PREFETCH:  # slot s − 1 is loaded before slot s is overwritten by E (same thread)
                q_raw, c_raw = q_next, c_next
                s_prev = tl.maximum(s - 1, 0)
                q_next = tl.load(rbuf + row + s_prev * BL)
                c_next = tl.load(cbuf + row + s_prev * BL)
            else:
                q_raw = tl.load(rbuf + row + s * BL)
                c_raw = tl.load(cbuf + row + s * BL)
            q = tl.where(valid, q_raw, 0.0)
            r = tl.where(valid, c_raw + q, _INF)  # bitwise the forward's R
            e1u = _shift(e1, i, 1, BL, GATHER)
            q1u = _shift(q1, i, 1, BL, GATHER)
            v_dn = i + 1 < La_p
            v_rt = j + 1 < Lb_p
            e = (tl.where(v_dn, e1u * tl.exp2((q1u - r) * k2), 0.0)
                 + tl.where(v_rt, e1 * tl.exp2((q1 - r) * k2), 0.0)
                 + tl.where(v_dn & v_rt, e2u * tl.exp2((q2u - r) * k2), 0.0))
            e = tl.where((s == last) & (i == La_p - 1), 1.0, e)
            e = tl.where(valid, e, 0.0)
            tl.store(rbuf + row + s * BL, e)
            e2u = e1u
            q2u = q1u
            e1 = e
            q1 = q
        tl.debug_barrier()

        # --- 4. gradients from the alignment tiles
        A = tl.load(rbuf + skew, mask=(ii < La) & (jj < Lb), other=0.0)
        ax = tl.sum(A, axis=1)
        ay = tl.sum(A, axis=0)
        if NP > 1:
            S = tl.load(rbuf + NS * BL + skew, mask=(ii < La) & (jj < La), other=0.0)
            T = tl.load(rbuf + 2 * NS * BL + skew, mask=(ii < Lb) & (jj < Lb), other=0.0)
            ax -= tl.sum(S, axis=1)
            ay -= tl.sum(T, axis=1)
        gxb = gxs_ptr + item * LA * D
        gyb = gys_ptr + item * LB * D
        for d0 in tl.range(0, D, BD, num_stages=STAGES):
            dd = d0 + dl
            xa = tl.load(xb + ii * sxt + dd * sxc, mask=(ii < La) & (dd < D), other=0.0).to(tl.float32)
            ya = tl.load(yb + ii * syt + dd * syc, mask=(ii < Lb) & (dd < D), other=0.0).to(tl.float32)
            gx = ax[:, None] * xa - tl.sum(A[:, :, None] * ya[None, :, :], axis=1)
            gy = ay[:, None] * ya - tl.sum(A[:, :, None] * xa[:, None, :], axis=0)
            if NP > 1:
                gx += tl.sum(S[:, :, None] * xa[None, :, :], axis=1)
                gy += tl.sum(T[:, :, None] * ya[None, :, :], axis=1)
            tl.store(gxb + ii * D + dd, 2.0 * gx, mask=(ii < La) & (dd < D))
            tl.store(gyb + ii * D + dd, 2.0 * gy, mask=(ii < Lb) & (dd < D))


@triton.jit
def _overlap_add_kernel(gxs_ptr, gys_ptr, gout_ptr, gx_ptr, gy_ptr, T, D, LA,
                        w1, h1, n1, inv1, w2, h2, n2, inv2, split, KMAX,
                        BT: tl.constexpr, BD: tl.constexpr):
    """Input gradient of frames ``[BT]`` of one batch item: sum of the covering windows."""
    b = tl.program_id(0).to(tl.int64)
    t = (tl.program_id(1) * BT + tl.arange(0, BT))[:, None]
    dl = tl.arange(0, BD)[None, :]
    for d0 in range(0, D, BD):
        dd = d0 + dl
        accx = tl.zeros([BT, BD], dtype=tl.float32)
        accy = tl.zeros([BT, BD], dtype=tl.float32)
        for g in tl.static_range(2):
            if g == 0:
                w, h, n, base, scale = w1, h1, n1, 0, tl.load(gout_ptr) * inv1
            else:
                w, h, n, base, scale = w2, h2, n2, split, tl.load(gout_ptr + 1) * inv2
            k_hi = tl.minimum(t // h, n - 1)
            for kk in range(0, KMAX):
                k = k_hi - kk
                off = t - k * h
                ok = (k >= 0) & (off < w) & (t < T) & (dd < D)
                src = (base + b * n + k) * LA * D + off * D + dd
                accx += tl.load(gxs_ptr + src, mask=ok, other=0.0) * scale
                accy += tl.load(gys_ptr + src, mask=ok, other=0.0) * scale
        dst = (b * T + t) * D + dd
        tl.store(gx_ptr + dst, accx, mask=(t < T) & (dd < D))
        tl.store(gy_ptr + dst, accy, mask=(t < T) & (dd < D))


def _next_pow2(n: int) -> int:
    return 1 << max(0, int(n) - 1).bit_length()


def _tile_config(lmax: int, d: int, settings: KernelSettings) -> tuple[int, int, int]:
    """(BL rows, BD features per chunk, num_warps) of the tile kernel: ≤ ``settings.tile_temp_values``
    values per thread in a ``[BL, BL, BD]`` temporary."""
    bl = max(2, _next_pow2(lmax))
    warps = settings.tile_warps or (1 if bl <= 16 else 4)
    bd = max(1, min(64, (32 * settings.tile_temp_values * warps) // (bl * bl), _next_pow2(d)))
    return bl, bd, warps


def _tile(x: torch.Tensor, y: torch.Tensor, *, N: int, M: int, n_win: int, hop: int, split: int,
          N2: int, n_win2: int, hop2: int, n_items: int, pairs: int, inv1: float, inv2: float,
          gamma: float, need_grad: bool, settings: KernelSettings):
    """Launch the tile kernel: (values [n_items], ∂/∂x windows [n_items, LA, d],
    ∂/∂y windows [n_items, LB, d]) — gradients unscaled, ``None`` unless ``need_grad``."""
    d = x.shape[2]
    np_ = 4 if pairs == 3 else 1
    LA, LB = max(N, N2), max(M, N2)
    bl, bd, warps = _tile_config(max(LA, LB), d, settings)
    dev = x.device
    f32 = torch.float32
    val = torch.empty(n_items, device=dev, dtype=f32)
    scr = torch.empty(n_items * 2 * np_ * 2 * bl * bl, device=dev, dtype=f32)
    if need_grad:
        gxs = torch.empty((n_items, LA, d), device=dev, dtype=f32)
        gys = torch.empty((n_items, LB, d), device=dev, dtype=f32)
    else:
        gxs = gys = val
    args = (x, y, *x.stride(), *y.stride(), d, N, M, n_win, hop, split, N2, n_win2, hop2,
            val, inv1, inv2, gxs, gys, LA, LB, scr, math.log2(math.e) / gamma, gamma * math.log(2.0))
    meta = dict(NP=np_, BL=bl, BD=bd, NEED_GRAD=need_grad, STAGES=settings.tile_stages,
                PREFETCH=settings.tile_prefetch, num_warps=warps)
    gather = settings.gather and dev.type not in _GATHER_BROKEN
    try:
        _tile_kernel[(n_items,)](*args, GATHER=gather, **meta)
    except Exception as err:  # pragma: no cover - only where tl.gather does not compile
        if not gather:
            raise
        _GATHER_BROKEN.add(dev.type)
        warnings.warn(f"soft-DTW tile kernel: tl.gather variant failed ({err!r}); using the "
                      "masked-sum shift", RuntimeWarning, stacklevel=2)
        _tile_kernel[(n_items,)](*args, GATHER=False, **meta)
    return val, (gxs if need_grad else None), (gys if need_grad else None)


# ---------------------------------------------------------------------------------------------
# long sequences: lane chunks, rolling diagonals, per-pair gradient buffers
# ---------------------------------------------------------------------------------------------

@triton.jit
def _diag_start(s, La, Lb):
    """Offset of diagonal ``s`` in the compact diagonal-major ``[La·Lb]`` layout, minus its first
    row (so cell ``(i, s - i)`` is at ``_diag_start(s) + i``)."""
    La = La.to(tl.int64)
    s = s + La * 0                          # int64 (the loop index is int32)
    tri = tl.where(s <= La, s * (s + 1) // 2, La * (La + 1) // 2 + (s - La) * La)
    u = tl.maximum(s - Lb, 0)
    return tri - u * (u + 1) // 2 - tl.maximum(s - Lb + 1, 0)


@triton.jit
def _row_cost(a_ptr, a_st, a_sc, b_ptr, b_st, b_sc, i, j, ok, D, BD: tl.constexpr):
    """``||a_i - b_j||²`` for the lanes' cells (features in chunks of ``BD``)."""
    dl = tl.arange(0, BD)[None, :]
    cost = tl.zeros(i.shape, dtype=tl.float32)
    for d0 in range(0, D, BD):
        dd = d0 + dl
        m2 = ok[:, None] & (dd < D)
        av = tl.load(a_ptr + i[:, None] * a_st + dd * a_sc, mask=m2, other=0.0).to(tl.float32)
        bv = tl.load(b_ptr + j[:, None] * b_st + dd * b_sc, mask=m2, other=0.0).to(tl.float32)
        diff = av - bv
        cost += tl.sum(diff * diff, axis=1)
    return cost


@triton.jit
def _long_kernel(x_ptr, y_ptr, sxb, sxt, sxc, syb, syt, syc, D, N, M, n_pair,
                 val_ptr, ga_ptr, gb_ptr, q_ptr, roll_ptr, LMAX, QSTRIDE, k2, g_ln2,
                 BLOCK: tl.constexpr, BD: tl.constexpr, NEED_GRAD: tl.constexpr):
    # item -> (batch b, pair p): p = 0 (x, y), 1 (x, x), 2 (y, y)
    item = tl.program_id(0).to(tl.int64)
    b = item // n_pair
    p = item % n_pair
    a_is_y = p == 2
    b_is_x = p == 1
    a_ptr = tl.where(a_is_y, y_ptr + b * syb, x_ptr + b * sxb)
    a_st = tl.where(a_is_y, syt, sxt)
    a_sc = tl.where(a_is_y, syc, sxc)
    b_ptr = tl.where(b_is_x, x_ptr + b * sxb, y_ptr + b * syb)
    b_st = tl.where(b_is_x, sxt, syt)
    b_sc = tl.where(b_is_x, sxc, syc)
    La = tl.where(a_is_y, M, N)
    Lb = tl.where(b_is_x, N, M)
    qb = q_ptr + item * QSTRIDE             # Q, compact diagonal-major
    rb = roll_ptr + item * 3 * LMAX         # R (forward) then E (reverse): 3 diagonals by row
    lanes = tl.arange(0, BLOCK)
    n_diag = La + Lb - 1

    for s in range(0, n_diag):
        i_lo = tl.maximum(s - Lb + 1, 0)
        i_hi = tl.minimum(s, La - 1)
        prev = rb + ((s + 2) % 3) * LMAX
        prev2 = rb + ((s + 1) % 3) * LMAX
        qs = qb + _diag_start(s, La, Lb)
        for c0 in range(i_lo, i_hi + 1, BLOCK):
            i = c0 + lanes
            ok = i <= i_hi
            j = s - i
            cost = _row_cost(a_ptr, a_st, a_sc, b_ptr, b_st, b_sc, i, j, ok, D, BD)
            up = tl.load(prev + i - 1, mask=ok & (i >= 1), other=_INF)
            left = tl.load(prev + i, mask=ok & (j >= 1), other=_INF)
            dg = tl.load(prev2 + i - 1, mask=ok & (i >= 1) & (j >= 1), other=_INF)
            sm = tl.where(s == 0, 0.0, _softmin(up, left, dg, k2, g_ln2))
            r = cost + sm
            tl.store(rb + (s % 3) * LMAX + i, r, mask=ok)
            if NEED_GRAD:
                tl.store(qs + i, sm, mask=ok)
            tl.store(val_ptr + item + lanes * 0, r, mask=ok & (s == n_diag - 1))
        tl.debug_barrier()

    if NEED_GRAD:
        ga = ga_ptr + item * LMAX * D
        gb = gb_ptr + item * LMAX * D
        dl = tl.arange(0, BD)[None, :]
        for t in range(0, n_diag):
            s = n_diag - 1 - t
            i_lo = tl.maximum(s - Lb + 1, 0)
            i_hi = tl.minimum(s, La - 1)
            nxt = rb + ((s + 1) % 3) * LMAX
            nxt2 = rb + ((s + 2) % 3) * LMAX
            qs = qb + _diag_start(s, La, Lb)
            qs1 = qb + _diag_start(s + 1, La, Lb)
            qs2 = qb + _diag_start(s + 2, La, Lb)
            for c0 in range(i_lo, i_hi + 1, BLOCK):
                i = c0 + lanes
                ok = i <= i_hi
                j = s - i
                cost = _row_cost(a_ptr, a_st, a_sc, b_ptr, b_st, b_sc, i, j, ok, D, BD)
                r = tl.load(qs + i, mask=ok, other=0.0) + cost
                v_dn = ok & (i + 1 < La)
                v_rt = ok & (j + 1 < Lb)
                v_dg = v_dn & v_rt
                q_dn = tl.load(qs1 + i + 1, mask=v_dn, other=0.0)
                q_rt = tl.load(qs1 + i, mask=v_rt, other=0.0)
                q_dg = tl.load(qs2 + i + 1, mask=v_dg, other=0.0)
                e_dn = tl.load(nxt + i + 1, mask=v_dn, other=0.0)
                e_rt = tl.load(nxt + i, mask=v_rt, other=0.0)
                e_dg = tl.load(nxt2 + i + 1, mask=v_dg, other=0.0)
                e = (tl.where(v_dn, e_dn * tl.exp2((q_dn - r) * k2), 0.0)
                     + tl.where(v_rt, e_rt * tl.exp2((q_rt - r) * k2), 0.0)
                     + tl.where(v_dg, e_dg * tl.exp2((q_dg - r) * k2), 0.0))
                e = tl.where(s == n_diag - 1, 1.0, e)
                tl.store(rb + (s % 3) * LMAX + i, e, mask=ok)
                coef = (2.0 * e)[:, None]
                # rows i and columns j are distinct on a diagonal: plain read-modify-write
                for d0 in range(0, D, BD):
                    dd = d0 + dl
                    m2 = ok[:, None] & (dd < D)
                    av = tl.load(a_ptr + i[:, None] * a_st + dd * a_sc, mask=m2, other=0.0)
                    bv = tl.load(b_ptr + j[:, None] * b_st + dd * b_sc, mask=m2, other=0.0)
                    g = coef * (av.to(tl.float32) - bv.to(tl.float32))
                    pa = ga + i[:, None] * D + dd
                    pb = gb + j[:, None] * D + dd
                    tl.store(pa, tl.load(pa, mask=m2, other=0.0) + g, mask=m2)
                    tl.store(pb, tl.load(pb, mask=m2, other=0.0) - g, mask=m2)
            tl.debug_barrier()


def _long(x: torch.Tensor, y: torch.Tensor, pairs: int, gamma: float, need_grad: bool, max_lanes: int):
    """Launch the long kernel: (values [B, pairs], ∂/∂a [B, pairs, L, d], ∂/∂b [B, pairs, L, d])
    with ``L = max(N, M)``; gradients unscaled, ``None`` unless ``need_grad``."""
    B, N, d = x.shape
    M = y.shape[1]
    lmax = max(N, M)
    diag = lmax if pairs == 3 else min(N, M)           # longest diagonal of any pair
    block = min(max(16, _next_pow2(diag)), _next_pow2(max_lanes))
    warps = 8 if block >= 512 else 4 if block >= 128 else 2
    bd = max(1, min(_next_pow2(d), (256 * warps) // block, 64))  # ≤ 8 values per thread
    n_items = B * pairs
    dev, f32 = x.device, torch.float32
    qstride = lmax * lmax if pairs == 3 else N * M
    val = torch.empty(n_items, device=dev, dtype=f32)
    roll = torch.empty(n_items * 3 * lmax, device=dev, dtype=f32)
    if need_grad:
        q = torch.empty(n_items * qstride, device=dev, dtype=f32)
        ga = torch.zeros((B, pairs, lmax, d), device=dev, dtype=f32)
        gb = torch.zeros((B, pairs, lmax, d), device=dev, dtype=f32)
    else:
        q = ga = gb = val
    _long_kernel[(n_items,)](
        x, y, *x.stride(), *y.stride(), d, N, M, pairs, val, ga, gb, q, roll, lmax, qstride,
        math.log2(math.e) / gamma, gamma * math.log(2.0),
        BLOCK=block, BD=bd, NEED_GRAD=need_grad, num_warps=warps)
    return val.view(B, pairs), (ga if need_grad else None), (gb if need_grad else None)


# ---------------------------------------------------------------------------------------------
# autograd wrappers and the public entry points
# ---------------------------------------------------------------------------------------------

def _pairs_forward(x: torch.Tensor, y: torch.Tensor, gamma: float, normalize: bool,
                   need_grad: bool, settings: KernelSettings):
    """Soft-DTW values (or divergences) ``[B]`` and unscaled gradients ``[B, N, d]``, ``[B, M, d]``."""
    B, N, _ = x.shape
    M = y.shape[1]
    pairs = 3 if normalize else 1
    if max(N, M) <= settings.tile_max:
        val, gx, gy = _tile(x, y, N=N, M=M, n_win=1, hop=0, split=B, N2=1, n_win2=1, hop2=0,
                            n_items=B, pairs=pairs, inv1=1.0, inv2=1.0, gamma=gamma,
                            need_grad=need_grad, settings=settings)
        return val, gx, gy
    v, ga, gb = _long(x, y, pairs, gamma, need_grad, settings.long_max_lanes)
    if not normalize:
        return v[:, 0], (ga[:, 0, :N] if need_grad else None), (gb[:, 0, :M] if need_grad else None)
    val = v[:, 0] - 0.5 * (v[:, 1] + v[:, 2])
    if not need_grad:
        return val, None, None
    gx = ga[:, 0, :N] - 0.5 * (ga[:, 1, :N] + gb[:, 1, :N])
    gy = gb[:, 0, :M] - 0.5 * (ga[:, 2, :M] + gb[:, 2, :M])
    return val, gx, gy


class _PairsFn(torch.autograd.Function):
    """Soft-DTW ``[B]`` of ``x [B, N, d]`` and ``y [B, M, d]`` (or the divergence); the gradients
    are computed in the forward launch and scaled here."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, y: torch.Tensor, gamma: float, normalize: bool,
                settings: KernelSettings):
        need = bool(ctx.needs_input_grad[0] or ctx.needs_input_grad[1])
        val, gx, gy = _pairs_forward(x, y, gamma, normalize, need, settings)
        if need:
            ctx.save_for_backward(gx, gy)
        ctx.dtypes = (x.dtype, y.dtype)
        return val

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, gout: torch.Tensor):
        gx, gy = ctx.saved_tensors
        g = gout.to(torch.float32)[:, None, None]
        out_x = (gx * g).to(ctx.dtypes[0]) if ctx.needs_input_grad[0] else None
        out_y = (gy * g).to(ctx.dtypes[1]) if ctx.needs_input_grad[1] else None
        return out_x, out_y, None, None, None


def soft_dtw_triton(x: torch.Tensor, y: torch.Tensor, gamma: float, normalize: bool,
                    settings: KernelSettings | None = None) -> torch.Tensor:
    """Triton soft-DTW of ``x [B, N, d]`` and ``y [B, M, d]`` → ``[B]`` (or the divergence)."""
    return _PairsFn.apply(x, y, gamma, normalize, settings or DEFAULT_SETTINGS).to(x.dtype)


_SUM_BY_SIZE: dict[tuple, torch.Tensor] = {}


def _sum_by_size(n_items: int, split: int, n_sizes: int, device: torch.device) -> torch.Tensor:
    """0/1 matrix ``[n_items, n_sizes]``: which window size an item belongs to (cached; built
    with device operations only, so a first call during CUDA-graph capture is harmless)."""
    key = (n_items, split, n_sizes, str(device))
    m = _SUM_BY_SIZE.get(key)
    if m is None:
        size = (torch.arange(n_items, device=device) >= split).long()
        m = torch.nn.functional.one_hot(size, n_sizes).to(torch.float32)
        _SUM_BY_SIZE[key] = m
    return m


class _WindowsFn(torch.autograd.Function):
    """The Vi-ST terms ``[n_sizes]``: one tile launch forward, one overlap-add launch backward."""

    @staticmethod
    def forward(ctx, pred: torch.Tensor, target: torch.Tensor, windows: tuple, gamma: float,
                settings: KernelSettings):
        B, T, d = pred.shape
        (w1, h1, n1), (w2, h2, n2) = windows[0], windows[-1] if len(windows) == 2 else (1, 1, 0)
        split = B * n1
        n_items = split + B * n2
        need = bool(ctx.needs_input_grad[0] or ctx.needs_input_grad[1])
        val, gxs, gys = _tile(pred, target, N=w1, M=w1, n_win=n1, hop=h1, split=split,
                              N2=w2, n_win2=max(n2, 1), hop2=h2, n_items=n_items, pairs=3,
                              inv1=1.0 / (B * n1), inv2=1.0 / (B * max(n2, 1)), gamma=gamma,
                              need_grad=need, settings=settings)
        if need:
            ctx.save_for_backward(gxs, gys)
        ctx.geom = (B, T, d, w1, h1, n1, w2, h2, n2, split)
        ctx.dtypes = (pred.dtype, target.dtype)
        return val @ _sum_by_size(n_items, split, len(windows), pred.device)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, gout: torch.Tensor):
        gxs, gys = ctx.saved_tensors
        B, T, d, w1, h1, n1, w2, h2, n2, split = ctx.geom
        g = gout.to(torch.float32)
        if g.numel() == 1:  # one window size: the second group is empty
            g = torch.cat((g, g))
        g = g.contiguous()
        gx = torch.empty((B, T, d), device=gxs.device, dtype=ctx.dtypes[0])
        gy = torch.empty((B, T, d), device=gxs.device, dtype=ctx.dtypes[1])
        bt, bd = 32, max(2, min(_next_pow2(d), 32))
        kmax = max(-(-w1 // h1), -(-w2 // h2))
        _overlap_add_kernel[(B, triton.cdiv(T, bt))](
            gxs, gys, g, gx, gy, T, d, gxs.shape[1], w1, h1, n1, 1.0 / (B * n1),
            w2, h2, n2, 1.0 / (B * max(n2, 1)), split, kmax, BT=bt, BD=bd, num_warps=4)
        return (gx if ctx.needs_input_grad[0] else None,
                gy if ctx.needs_input_grad[1] else None, None, None, None)


def windowed_divergence_triton(pred: torch.Tensor, target: torch.Tensor,
                               windows: list[tuple[int, int, int]], gamma: float,
                               settings: KernelSettings | None = None) -> torch.Tensor:
    """The Vi-ST terms ``S_w`` ``[len(windows)]`` (1 or 2 window sizes) of ``pred`` and ``target``
    ``[B, T, cells]``; windows of up to ``settings.tile_max`` frames are read in place."""
    settings = settings or DEFAULT_SETTINGS
    if len(windows) not in (1, 2):
        raise ValueError(f"the Triton windowed divergence takes 1 or 2 window sizes, found {len(windows)}")
    if max(w for w, _, _ in windows) <= settings.tile_max:
        return _WindowsFn.apply(pred, target, tuple(windows), gamma, settings).to(pred.dtype)
    # longer windows (T > 640 at the paper's divisors): copies of the windows, long kernel
    terms = []
    for w, hop, n in windows:
        a, b = unfold_windows(pred, w, hop, n), unfold_windows(target, w, hop, n)
        terms.append(soft_dtw_triton(a, b, gamma, normalize=True, settings=settings).mean())
    return torch.stack(terms)
