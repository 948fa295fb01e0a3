"""Triton kernels for depthwise 3D convs on channels-last tensors (the GPU side of :mod:`vist.kernels.time_conv`).

Layout ``[B, T, H, W, C]``: a program owns a tile of ``BLOCK_P`` output positions (flattened
``b, t, h, w``) × ``BLOCK_C`` channels, so every load is a run of contiguous channels (coalesced),
and zero padding is a mask on the source index (no padded copy is ever made). Accumulation is in
fp32 whatever the input dtype (bf16 under autocast).

* :func:`dw_forward` — ``y[t, h, w] = Σ_k w[k] · x[t + kt·d − before, h + kh − p, w + kw − p]``;
  with the flipped kernel and complementary padding the same kernel is the input gradient;
* :func:`dw_weight_grad` — ``∂w[kt, kh, kw] = Σ_positions g · x(shifted)``: one program per time
  tap × chunk of positions × channel block, the kh·kw spatial taps reduced together (the gradient
  tile is loaded once for all of them); per-chunk partial sums are added by PyTorch
  (deterministic, no atomics). The bias gradient is a plain sum of ``g``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import triton
import triton.language as tl

__all__ = ["dw_forward", "dw_weight_grad"]


@triton.jit
def _dw_fwd_kernel(x_ptr, w_ptr, b_ptr, y_ptr, P, C, T_in, H_in, W_in, T_out, H_out, W_out,
                   DIL, OFF_T, OFF_H, OFF_W, KT,
                   KH: tl.constexpr, KW: tl.constexpr, HAS_BIAS: tl.constexpr,
                   BLOCK_P: tl.constexpr, BLOCK_C: tl.constexpr):
    p = tl.program_id(0) * BLOCK_P + tl.arange(0, BLOCK_P)
    c = tl.program_id(1) * BLOCK_C + tl.arange(0, BLOCK_C)
    pm = p < P
    cm = c < C
    # output position → (b, t, h, w)
    wo = p % W_out
    r = p // W_out
    ho = r % H_out
    r = r // H_out
    to = r % T_out
    b = r // T_out
    acc = tl.zeros([BLOCK_P, BLOCK_C], dtype=tl.float32)
    for kt in range(KT):
        ti = to + kt * DIL - OFF_T
        mt = pm & (ti >= 0) & (ti < T_in)
        base_t = b * T_in + ti
        for kh in tl.static_range(KH):
            hi = ho + kh - OFF_H
            mh = mt & (hi >= 0) & (hi < H_in)
            base_h = base_t * H_in + hi
            for kw in tl.static_range(KW):
                wi = wo + kw - OFF_W
                m = mh & (wi >= 0) & (wi < W_in)
                row = (base_h * W_in + wi).to(tl.int64) * C
                xv = tl.load(x_ptr + row[:, None] + c[None, :], mask=m[:, None] & cm[None, :], other=0.0)
                wv = tl.load(w_ptr + c * (KT * KH * KW) + (kt * KH + kh) * KW + kw, mask=cm, other=0.0)
                acc += xv.to(tl.float32) * wv.to(tl.float32)[None, :]
    if HAS_BIAS:
        acc += tl.load(b_ptr + c, mask=cm, other=0.0).to(tl.float32)[None, :]
    out = p.to(tl.int64)[:, None] * C + c[None, :]
    tl.store(y_ptr + out, acc.to(y_ptr.dtype.element_ty), mask=pm[:, None] & cm[None, :])


@triton.jit
def _dw_wgrad_kernel(g_ptr, x_ptr, part_ptr, P, C, T_in, H_in, W_in, T_out, H_out, W_out,
                     DIL, OFF_T, OFF_H, OFF_W, KT, BLOCKS_PER_CHUNK, N_BLOCKS,
                     KH: tl.constexpr, KW: tl.constexpr, BLOCK_S: tl.constexpr,
                     BLOCK_P: tl.constexpr, BLOCK_C: tl.constexpr):
    kt = tl.program_id(0)
    chunk = tl.program_id(1)
    c = tl.program_id(2) * BLOCK_C + tl.arange(0, BLOCK_C)
    cm = c < C
    srow = tl.arange(0, BLOCK_S)
    acc = tl.zeros([BLOCK_S, BLOCK_C], dtype=tl.float32)  # row s = spatial tap kh·KW + kw
    first = chunk * BLOCKS_PER_CHUNK
    last = tl.minimum(first + BLOCKS_PER_CHUNK, N_BLOCKS)
    for blk in range(first, last):
        p = blk * BLOCK_P + tl.arange(0, BLOCK_P)
        pm = p < P
        wo = p % W_out
        r = p // W_out
        ho = r % H_out
        r = r // H_out
        to = r % T_out
        b = r // T_out
        gv = tl.load(g_ptr + p.to(tl.int64)[:, None] * C + c[None, :], mask=pm[:, None] & cm[None, :],
                     other=0.0).to(tl.float32)
        ti = to + kt * DIL - OFF_T
        mt = pm & (ti >= 0) & (ti < T_in)
        base_t = b * T_in + ti
        for kh in tl.static_range(KH):
            hi = ho + kh - OFF_H
            mh = mt & (hi >= 0) & (hi < H_in)
            base_h = base_t * H_in + hi
            for kw in tl.static_range(KW):
                wi = wo + kw - OFF_W
                m = mh & (wi >= 0) & (wi < W_in)
                row = (base_h * W_in + wi).to(tl.int64) * C
                xv = tl.load(x_ptr + row[:, None] + c[None, :], mask=m[:, None] & cm[None, :], other=0.0)
                part = tl.sum(gv * xv.to(tl.float32), axis=0)  # [BLOCK_C]
                acc += tl.where(srow[:, None] == kh * KW + kw, part[None, :], 0.0)
    # partial sums [chunk, kt, s, c]
    dst = ((chunk * KT + kt) * (KH * KW) + srow[:, None]).to(tl.int64) * C + c[None, :]
    tl.store(part_ptr + dst, acc, mask=(srow[:, None] < KH * KW) & cm[None, :])


def _blocks(c: int) -> tuple[int, int]:
    block_c = 32 if c <= 96 else 64
    return 64, block_c


def dw_forward(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, dilation: int,
               before: int, after: int, spatial_pad: int) -> torch.Tensor:
    """Depthwise conv, ``x [B, T, H, W, C]`` contiguous, ``weight [C, 1, kt, kh, kw]`` → ``[B, T', H', W', C]``."""
    bsz, t_in, h_in, w_in, c = x.shape
    kt, kh, kw = weight.shape[2:]
    t_out = t_in + before + after - dilation * (kt - 1)
    h_out, w_out = h_in + 2 * spatial_pad - kh + 1, w_in + 2 * spatial_pad - kw + 1
    y = torch.empty(bsz, t_out, h_out, w_out, c, device=x.device, dtype=x.dtype)
    p = bsz * t_out * h_out * w_out
    block_p, block_c = _blocks(c)
    w = weight.detach().contiguous()
    b = bias.detach().contiguous() if bias is not None else w
    grid = (triton.cdiv(p, block_p), triton.cdiv(c, block_c))
    _dw_fwd_kernel[grid](x, w, b, y, p, c, t_in, h_in, w_in, t_out, h_out, w_out,
                         dilation, before, spatial_pad, spatial_pad, kt, KH=kh, KW=kw,
                         HAS_BIAS=bias is not None, BLOCK_P=block_p, BLOCK_C=block_c, num_warps=4)
    return y


def dw_weight_grad(g: torch.Tensor, x: torch.Tensor, kernel: Sequence[int], dilation: int, before: int,
                   after: int, spatial_pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(``∂w [C, 1, kt, kh, kw]``, ``∂b [C]``), fp32, from ``g [B, T', H', W', C]`` and ``x [B, T, H, W, C]``."""
    kt, kh, kw = kernel
    bsz, t_out, h_out, w_out, c = g.shape
    t_in, h_in, w_in = x.shape[1:4]
    p = bsz * t_out * h_out * w_out
    block_p, block_c = _blocks(c)
    n_blocks = triton.cdiv(p, block_p)
    n_cblocks = triton.cdiv(c, block_c)
    # enough programs to fill a GPU (~2k), each reducing a run of position blocks
    chunks = max(1, min(n_blocks, triton.cdiv(2048, kt * n_cblocks)))
    per_chunk = triton.cdiv(n_blocks, chunks)
    chunks = triton.cdiv(n_blocks, per_chunk)
    part = torch.empty(chunks, kt, kh * kw, c, device=g.device, dtype=torch.float32)
    _dw_wgrad_kernel[(kt, chunks, n_cblocks)](
        g, x.contiguous(), part, p, c, t_in, h_in, w_in, t_out, h_out, w_out, dilation, before,
        spatial_pad, spatial_pad, kt, per_chunk, n_blocks, KH=kh, KW=kw,
        BLOCK_S=triton.next_power_of_2(kh * kw), BLOCK_P=block_p, BLOCK_C=block_c, num_warps=4)
    gw = part.sum(0).view(kt, kh, kw, c).permute(3, 0, 1, 2).unsqueeze(1).contiguous()
    gb = g.reshape(-1, c).sum(0, dtype=torch.float32)
    return gw, gb
