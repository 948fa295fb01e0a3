"""Triton soft-DTW kernels: one launch for the forward and one for the backward of a whole batch.

Imported lazily by :mod:`vist.kernels.soft_dtw` (only when the Triton path is used), so the
package works where Triton is missing. Under ``TRITON_INTERPRET=1`` (set before Triton is
imported) the same kernels run on CPU tensors, which is how CI tests them.

Layout. One program handles one *item*: a pair of sequences ``(a [La, d], b [Lb, d])`` read in
place from ``x [B, T, d]`` / ``y [B, T, d]`` through their strides: item ``→ (batch b, window w,
pair p)`` with ``p = 0: (x, y)``, ``1: (x, x)``, ``2: (y, y)`` (the three soft-DTW values of a
divergence) and window start ``w · hop``. Two window groups (the Vi-ST sizes ⌊T/20⌋ and ⌊T/10⌋)
share one launch: items ``>= split`` belong to the second group. A plain batched call is one
group, one window, ``hop = 0``.

The program walks the anti-diagonals ``s = i + j`` of the DP table, the lanes of a block holding
the cells ``(i, s - i)``; the squared-Euclidean cost is computed in the kernel from the loaded
rows. Forward: ``R`` lives in a rolling buffer of three diagonals; the softmin each cell took
(``Q = R - C``) is saved for the backward, diagonal-major ``[La + Lb - 1, Lmax]``. Backward: the
reverse sweep recomputes each cell's cost (so ``R = Q + C``), forms ``E`` from the two following
diagonals (rolling buffer) and adds ``2 · E[i, j] · (a_i - b_j) · ∂L/∂value`` to the gradients of
``a_i`` and ``b_j`` with atomic adds (windows overlap and a sequence can appear twice in a pair).
``tl.debug_barrier()`` separates diagonals (the lanes of a diagonal read what other lanes wrote on
the previous one).
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

_INF = tl.constexpr(float("inf"))  # globals read inside @triton.jit must be constexpr


@triton.jit
def _pair_setup(item, x_ptr, y_ptr, sxb, sxt, sxc, syb, syt, syc,
                N, M, n_pair, n_win, hop, split, N2, n_win2, hop2):
    """Decode an item into (sequence pointers, strides, lengths)."""
    second = item >= split
    local = tl.where(second, item - split, item)
    nw = tl.where(second, n_win2, n_win)
    hp = tl.where(second, hop2, hop)
    n_a = tl.where(second, N2, N)
    n_b = tl.where(second, N2, M)
    p = local % n_pair
    bw = local // n_pair
    w = bw % nw
    b = bw // nw
    start = w * hp
    a_is_y = p == 2
    b_is_x = p == 1
    a_ptr = tl.where(a_is_y, y_ptr + b * syb + start * syt, x_ptr + b * sxb + start * sxt)
    a_st = tl.where(a_is_y, syt, sxt)
    a_sc = tl.where(a_is_y, syc, sxc)
    b_ptr = tl.where(b_is_x, x_ptr + b * sxb + start * sxt, y_ptr + b * syb + start * syt)
    b_st = tl.where(b_is_x, sxt, syt)
    b_sc = tl.where(b_is_x, sxc, syc)
    La = tl.where(a_is_y, n_b, n_a)
    Lb = tl.where(b_is_x, n_a, n_b)
    return a_ptr, a_st, a_sc, b_ptr, b_st, b_sc, La, Lb, a_is_y, b_is_x, b, start


@triton.jit
def _sdtw_fwd_kernel(x_ptr, y_ptr, q_ptr, roll_ptr, out_ptr,
                     sxb, sxt, sxc, syb, syt, syc, D,
                     N, M, n_pair, n_win, hop, split, N2, n_win2, hop2,
                     LMAX, gamma,
                     BLOCK: tl.constexpr, BLOCK_D: tl.constexpr):
    item = tl.program_id(0).to(tl.int64)
    a_ptr, a_st, a_sc, b_ptr, b_st, b_sc, La, Lb, _a, _b, _bb, _s = _pair_setup(
        item, x_ptr, y_ptr, sxb, sxt, sxc, syb, syt, syc,
        N, M, n_pair, n_win, hop, split, N2, n_win2, hop2)
    lanes = tl.arange(0, BLOCK)
    dl = tl.arange(0, BLOCK_D)
    qb = q_ptr + item * (2 * LMAX - 1) * LMAX
    rb = roll_ptr + item * 3 * LMAX
    n_diag = La + Lb - 1
    for s in range(0, n_diag):
        i_lo = tl.maximum(s - Lb + 1, 0)
        i_hi = tl.minimum(s, La - 1)
        prev = rb + ((s + 2) % 3) * LMAX
        prev2 = rb + ((s + 1) % 3) * LMAX
        for c0 in range(i_lo, i_hi + 1, BLOCK):
            i = c0 + lanes
            ok = i <= i_hi
            j = s - i
            cost = tl.zeros([BLOCK], dtype=tl.float32)
            for d0 in range(0, D, BLOCK_D):
                dd = d0 + dl
                m2 = ok[:, None] & (dd < D)[None, :]
                av = tl.load(a_ptr + i[:, None] * a_st + dd[None, :] * a_sc, mask=m2, other=0.0)
                bv = tl.load(b_ptr + j[:, None] * b_st + dd[None, :] * b_sc, mask=m2, other=0.0)
                diff = av.to(tl.float32) - bv.to(tl.float32)
                cost += tl.sum(diff * diff, axis=1)
            r_up = tl.load(prev + i - 1, mask=ok & (i >= 1), other=_INF)
            r_left = tl.load(prev + i, mask=ok & (j >= 1), other=_INF)
            r_diag = tl.load(prev2 + i - 1, mask=ok & (i >= 1) & (j >= 1), other=_INF)
            mn = tl.minimum(tl.minimum(r_up, r_left), r_diag)
            z = (tl.exp((mn - r_up) / gamma) + tl.exp((mn - r_left) / gamma)
                 + tl.exp((mn - r_diag) / gamma))
            smin = tl.where(s == 0, 0.0, mn - gamma * tl.log(z))
            r = cost + smin
            tl.store(rb + (s % 3) * LMAX + i, r, mask=ok)
            tl.store(qb + s * LMAX + i, smin, mask=ok)
            tl.store(out_ptr + item + lanes * 0, r, mask=ok & (s == n_diag - 1))
        tl.debug_barrier()


@triton.jit
def _sdtw_bwd_kernel(x_ptr, y_ptr, q_ptr, roll_ptr, gout_ptr, gx_ptr, gy_ptr,
                     sxb, sxt, sxc, syb, syt, syc, D, gT,
                     N, M, n_pair, n_win, hop, split, N2, n_win2, hop2,
                     LMAX, gamma,
                     BLOCK: tl.constexpr, BLOCK_D: tl.constexpr):
    item = tl.program_id(0).to(tl.int64)
    a_ptr, a_st, a_sc, b_ptr, b_st, b_sc, La, Lb, a_is_y, b_is_x, bidx, start = _pair_setup(
        item, x_ptr, y_ptr, sxb, sxt, sxc, syb, syt, syc,
        N, M, n_pair, n_win, hop, split, N2, n_win2, hop2)
    # gradient buffers are contiguous fp32 [B, gT, D]
    ga = tl.where(a_is_y, gy_ptr, gx_ptr) + (bidx * gT + start) * D
    gb = tl.where(b_is_x, gx_ptr, gy_ptr) + (bidx * gT + start) * D
    g = tl.load(gout_ptr + item)
    lanes = tl.arange(0, BLOCK)
    dl = tl.arange(0, BLOCK_D)
    qb = q_ptr + item * (2 * LMAX - 1) * LMAX
    eb = roll_ptr + item * 3 * LMAX
    n_diag = La + Lb - 1
    for t in range(0, n_diag):
        s = n_diag - 1 - t
        i_lo = tl.maximum(s - Lb + 1, 0)
        i_hi = tl.minimum(s, La - 1)
        nxt = eb + ((s + 1) % 3) * LMAX
        nxt2 = eb + ((s + 2) % 3) * LMAX
        for c0 in range(i_lo, i_hi + 1, BLOCK):
            i = c0 + lanes
            ok = i <= i_hi
            j = s - i
            cost = tl.zeros([BLOCK], dtype=tl.float32)
            for d0 in range(0, D, BLOCK_D):
                dd = d0 + dl
                m2 = ok[:, None] & (dd < D)[None, :]
                av = tl.load(a_ptr + i[:, None] * a_st + dd[None, :] * a_sc, mask=m2, other=0.0)
                bv = tl.load(b_ptr + j[:, None] * b_st + dd[None, :] * b_sc, mask=m2, other=0.0)
                diff = av.to(tl.float32) - bv.to(tl.float32)
                cost += tl.sum(diff * diff, axis=1)
            r = tl.load(qb + s * LMAX + i, mask=ok, other=0.0) + cost
            v_dn = ok & (i + 1 < La)
            v_rt = ok & (j + 1 < Lb)
            v_dg = v_dn & v_rt
            q_dn = tl.load(qb + (s + 1) * LMAX + i + 1, mask=v_dn, other=0.0)
            q_rt = tl.load(qb + (s + 1) * LMAX + i, mask=v_rt, other=0.0)
            q_dg = tl.load(qb + (s + 2) * LMAX + i + 1, mask=v_dg, other=0.0)
            e_dn = tl.load(nxt + i + 1, mask=v_dn, other=0.0)
            e_rt = tl.load(nxt + i, mask=v_rt, other=0.0)
            e_dg = tl.load(nxt2 + i + 1, mask=v_dg, other=0.0)
            e = (tl.where(v_dn, e_dn * tl.exp((q_dn - r) / gamma), 0.0)
                 + tl.where(v_rt, e_rt * tl.exp((q_rt - r) / gamma), 0.0)
                 + tl.where(v_dg, e_dg * tl.exp((q_dg - r) / gamma), 0.0))
            e = tl.where(s == n_diag - 1, 1.0, e)
            tl.store(eb + (s % 3) * LMAX + i, e, mask=ok)
            coef = 2.0 * g * e
            for d0 in range(0, D, BLOCK_D):
                dd = d0 + dl
                m2 = ok[:, None] & (dd < D)[None, :]
                av = tl.load(a_ptr + i[:, None] * a_st + dd[None, :] * a_sc, mask=m2, other=0.0)
                bv = tl.load(b_ptr + j[:, None] * b_st + dd[None, :] * b_sc, mask=m2, other=0.0)
                gd = coef[:, None] * (av.to(tl.float32) - bv.to(tl.float32))
                tl.atomic_add(ga + i[:, None] * D + dd[None, :], gd, mask=m2)
                tl.atomic_add(gb + j[:, None] * D + dd[None, :], -gd, mask=m2)
        tl.debug_barrier()


def _next_pow2(n: int) -> int:
    return 1 << max(0, int(n) - 1).bit_length()


def _blocks(lmax: int, d: int) -> tuple[int, int, int]:
    """(BLOCK lanes, BLOCK_D features, num_warps): at most 4096 values per tile."""
    block_d = min(max(_next_pow2(d), 2), 128)
    block = min(max(_next_pow2(lmax), 16), max(16, 4096 // block_d), 1024)
    warps = 4 if block * block_d <= 2048 else 8
    return block, block_d, warps


class _Launch:
    """Geometry of one batched launch (see the module docstring)."""

    def __init__(self, n_items: int, N: int, M: int, n_pair: int, n_win: int, hop: int,
                 split: int, N2: int, n_win2: int, hop2: int, gT: int) -> None:
        self.n_items, self.N, self.M, self.n_pair = n_items, N, M, n_pair
        self.n_win, self.hop, self.split = n_win, hop, split
        self.N2, self.n_win2, self.hop2, self.gT = N2, n_win2, hop2, gT
        self.lmax = max(N, M, N2)

    def geometry(self) -> tuple[int, ...]:
        return (self.N, self.M, self.n_pair, self.n_win, self.hop, self.split,
                self.N2, self.n_win2, self.hop2)


def _forward(x: torch.Tensor, y: torch.Tensor, L: _Launch, gamma: float):
    d = x.shape[2]
    block, block_d, warps = _blocks(L.lmax, d)
    q = torch.empty(L.n_items * (2 * L.lmax - 1) * L.lmax, device=x.device, dtype=torch.float32)
    roll = torch.empty(L.n_items * 3 * L.lmax, device=x.device, dtype=torch.float32)
    out = torch.empty(L.n_items, device=x.device, dtype=torch.float32)
    _sdtw_fwd_kernel[(L.n_items,)](
        x, y, q, roll, out, *x.stride(), *y.stride(), d, *L.geometry(), L.lmax, gamma,
        BLOCK=block, BLOCK_D=block_d, num_warps=warps)
    return out, q


def _backward(x: torch.Tensor, y: torch.Tensor, q: torch.Tensor, gout: torch.Tensor, L: _Launch,
              gamma: float):
    d = x.shape[2]
    block, block_d, warps = _blocks(L.lmax, d)
    gx = torch.zeros((x.shape[0], L.gT, d), device=x.device, dtype=torch.float32)
    gy = torch.zeros((y.shape[0], L.gT, d), device=x.device, dtype=torch.float32)
    roll = torch.empty(L.n_items * 3 * L.lmax, device=x.device, dtype=torch.float32)
    _sdtw_bwd_kernel[(L.n_items,)](
        x, y, q, roll, gout.contiguous().float(), gx, gy, *x.stride(), *y.stride(), d, L.gT,
        *L.geometry(), L.lmax, gamma, BLOCK=block, BLOCK_D=block_d, num_warps=warps)
    return gx, gy


class _PairsFn(torch.autograd.Function):
    """Per-item soft-DTW values ``[n_items]`` of a launch geometry (see module docstring)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, y: torch.Tensor, launch: _Launch, gamma: float):
        out, q = _forward(x, y, launch, gamma)
        ctx.save_for_backward(x, y, q)
        ctx.launch, ctx.gamma = launch, gamma
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, gout: torch.Tensor):
        x, y, q = ctx.saved_tensors
        L = ctx.launch
        gx, gy = _backward(x, y, q, gout, L, ctx.gamma)
        gx = gx[:, :x.shape[1]].to(x.dtype) if ctx.needs_input_grad[0] else None
        gy = gy[:, :y.shape[1]].to(y.dtype) if ctx.needs_input_grad[1] else None
        return gx, gy, None, None


def soft_dtw_triton(x: torch.Tensor, y: torch.Tensor, gamma: float, normalize: bool) -> torch.Tensor:
    """Triton soft-DTW of ``x [B, N, d]`` and ``y [B, M, d]`` → ``[B]`` (or the divergence)."""
    B, N, _ = x.shape
    M = y.shape[1]
    n_pair = 3 if normalize else 1
    L = _Launch(n_items=B * n_pair, N=N, M=M, n_pair=n_pair, n_win=1, hop=0,
                split=B * n_pair, N2=1, n_win2=1, hop2=0, gT=max(N, M))
    v = _PairsFn.apply(x, y, L, gamma).view(B, n_pair)
    if normalize:
        v = v[:, 0] - 0.5 * (v[:, 1] + v[:, 2])
    else:
        v = v[:, 0]
    return v.to(x.dtype)


_WEIGHTS: dict[tuple, torch.Tensor] = {}


def windowed_divergence_triton(pred: torch.Tensor, target: torch.Tensor,
                               windows: list[tuple[int, int, int]], gamma: float) -> torch.Tensor:
    """The Vi-ST terms ``S_w`` ``[len(windows)]`` (1 or 2 window sizes), windows read in place."""
    if len(windows) not in (1, 2):
        raise ValueError(f"the Triton windowed divergence takes 1 or 2 window sizes, found {len(windows)}")
    B, T, _ = pred.shape
    (w1, h1, n1), (w2, h2, n2) = windows[0], windows[-1] if len(windows) == 2 else (1, 0, 0)
    split = B * n1 * 3
    n_items = split + B * n2 * 3
    L = _Launch(n_items=n_items, N=w1, M=w1, n_pair=3, n_win=n1, hop=h1, split=split,
                N2=w2, n_win2=max(n2, 1), hop2=h2, gT=T)
    key = (B, len(windows), n1, n2, str(pred.device))
    wmat = _WEIGHTS.get(key)
    if wmat is None:  # [n_items, n_sizes]: +1, -½, -½ per pair, averaged over B·n windows
        sign = torch.tensor([1.0, -0.5, -0.5])
        cols = [torch.cat([sign.repeat(B * n1) / (B * n1), torch.zeros(B * n2 * 3)])]
        if len(windows) == 2:
            cols.append(torch.cat([torch.zeros(split), sign.repeat(B * n2) / (B * n2)]))
        wmat = torch.stack(cols, 1).to(pred.device)
        _WEIGHTS[key] = wmat
    v = _PairsFn.apply(pred, target, L, gamma)
    return (v @ wmat).to(pred.dtype)
