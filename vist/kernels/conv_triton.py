"""Triton kernels for depthwise 3D convs on channels-last tensors (the GPU side of :mod:`vist.kernels.time_conv`).

Layout ``[B, T, H, W, C]``; every load is a run of contiguous channels, zero padding is a mask on
the source index (no padded copy in time or space is ever made), accumulation is in fp32 whatever
the input dtype (bf16 under autocast), and no kernel uses ``tl.dot`` (so fp32 is exact fp32,
never TF32). There is no atomic: partial sums are added by PyTorch, deterministically.

* rows are read with a channel stride that is a multiple of 16 — a tensor whose channel count
  is not (Vi-ST's 90 cells) is copied once, zero-filled to the next multiple of 16, so that
  loads are 16-byte vectors; outputs are written unpadded;
* :func:`dw_forward` — a program owns ``BLOCK_P`` output positions ``(b, h, w)`` × ``BLOCK_C``
  channels × a **run of R output frames** ``t0, t0 + d, …`` (d the dilation). It walks the
  ``R + kt − 1`` input frames the run needs, once each: every loaded input tile is multiplied
  into the R accumulators (time tap ``m − j`` for output j), so a (25, 3, 3) kernel costs
  ``(R + 24)/R`` tile loads per output frame and spatial tap instead of 25. The weights are
  pre-arranged ``[kt + 2(R − 1), kh, kw, C]`` in fp32 with R − 1 zero taps at each end, so the
  taps of a run need no mask. With the flipped kernel and complementary padding the same
  kernel is the input gradient (:func:`dw_backward`);
* :func:`dw_weight_grad`, 3×3 spatial kernels (every depthwise conv of Vi-ST) — a program owns
  one time tap × a chunk of output frames × ``BLOCK_P`` positions × ``BLOCK_C`` channels and
  keeps **one fp32 accumulator per spatial tap** (9 register tiles): each frame's gradient tile
  is loaded once for the 9 taps, and the reduction over positions happens once per program;
* :func:`dw_weight_grad`, other spatial sizes — one program per time tap × chunk of flattened
  output positions × channel block, reducing over positions once per tap and position block
  (a general, slower kernel on unpadded contiguous rows).

Launch shapes: :func:`fwd_config` and :func:`wgrad_config` (measurements in
``benchmarks/README.md``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
import triton
import triton.language as tl

__all__ = ["dw_backward", "dw_forward", "dw_weight_grad", "fwd_config", "wgrad_config"]


# ---------------------------------------------------------------------------------------------
# output positions (every kernel)
# ---------------------------------------------------------------------------------------------

@triton.jit
def _positions(pid_p, NP, W_out, H_out, BLOCK_P: tl.constexpr):
    # the BLOCK_P flattened output positions p = (b·H_out + ho)·W_out + wo of position block
    # pid_p, split: (p, p < NP, wo, ho, b). Where positions include time (the general weight
    # gradient), the last index is b·T_out + t
    p = pid_p * BLOCK_P + tl.arange(0, BLOCK_P)
    pm = p < NP
    wo = p % W_out
    r = p // W_out
    ho = r % H_out
    b = r // H_out
    return p, pm, wo, ho, b


# ---------------------------------------------------------------------------------------------
# weight gradient of any spatial size
# ---------------------------------------------------------------------------------------------

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
        p, pm, wo, ho, r = _positions(blk, P, W_out, H_out, BLOCK_P)
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


# ---------------------------------------------------------------------------------------------
# time-run forward (each input frame loaded once for R output frames), 3×3 weight gradient with
# one register accumulator per spatial tap; channel rows padded to a multiple of 16
# ---------------------------------------------------------------------------------------------

@triton.jit
def _dw_fwd_run_kernel(x_ptr, w_ptr, b_ptr, y_ptr, NP, C, SX, SY, CW,
                       T_in, H_in, W_in, T_out, H_out, W_out, DIL, OFF_T, PAD, KT,
                       KH: tl.constexpr, KW: tl.constexpr, R: tl.constexpr, HAS_BIAS: tl.constexpr,
                       BLOCK_P: tl.constexpr, BLOCK_C: tl.constexpr):
    # program: BLOCK_P output positions (b, h, w) × BLOCK_C channels × a run of R output frames
    # t0, t0 + DIL, …, t0 + (R − 1)·DIL; input frame m of the run is t0 − OFF_T + m·DIL and
    # feeds output j through time tap m − j, so each input tile is loaded once for R outputs
    pid_p = tl.program_id(0)
    run = tl.program_id(1)
    pid_c = tl.program_id(2)
    c = pid_c * BLOCK_C + tl.arange(0, BLOCK_C)
    _, pm, wo, ho, b = _positions(pid_p, NP, W_out, H_out, BLOCK_P)
    t0 = run % DIL + (run // DIL) * (R * DIL)
    m_lo = tl.maximum(OFF_T - t0 + DIL - 1, 0) // DIL        # first m with input frame >= 0
    m_hi = tl.minimum(tl.maximum(T_in - 1 - t0 + OFF_T + DIL, 0) // DIL, R + KT - 1)
    x_pos = (b * T_in * H_in + ho - PAD) * W_in + (wo - PAD)  # frame 0, tap (0, 0)
    frame_x = H_in * W_in
    acc0 = tl.zeros([BLOCK_P, BLOCK_C], dtype=tl.float32)
    acc1 = tl.zeros([BLOCK_P, BLOCK_C], dtype=tl.float32)
    acc2 = tl.zeros([BLOCK_P, BLOCK_C], dtype=tl.float32)
    acc3 = tl.zeros([BLOCK_P, BLOCK_C], dtype=tl.float32)
    tap = KH * KW * CW  # one time tap of the padded weight [KT + 2(R − 1), KH, KW, CW]
    for m in range(m_lo, m_hi):
        ti = t0 - OFF_T + m * DIL
        xrow = (x_pos + ti * frame_x).to(tl.int64) * SX
        for kh in tl.static_range(KH):
            hi = ho + kh - PAD
            mh = pm & (hi >= 0) & (hi < H_in)
            for kw in tl.static_range(KW):
                wi = wo + kw - PAD
                mk = mh & (wi >= 0) & (wi < W_in)
                xv = tl.load(x_ptr + (xrow + (kh * W_in + kw) * SX)[:, None] + c[None, :],
                             mask=mk[:, None], other=0.0).to(tl.float32)
                wb = w_ptr + (m + R - 1) * tap + (kh * KW + kw) * CW + c
                acc0 += tl.load(wb)[None, :] * xv
                if R > 1:
                    acc1 += tl.load(wb - tap)[None, :] * xv
                if R > 2:
                    acc2 += tl.load(wb - 2 * tap)[None, :] * xv
                    acc3 += tl.load(wb - 3 * tap)[None, :] * xv
    if HAS_BIAS:
        bv = tl.load(b_ptr + c)[None, :]
        acc0 += bv
        acc1 += bv
        acc2 += bv
        acc3 += bv
    cm = (c < C)[None, :]
    frame_y = H_out * W_out
    y_pos = (b * T_out * H_out + ho) * W_out + wo
    ty = y_ptr.dtype.element_ty
    tl.store(y_ptr + ((y_pos + t0 * frame_y).to(tl.int64) * SY)[:, None] + c[None, :], acc0.to(ty),
             mask=(pm & (t0 < T_out))[:, None] & cm)
    if R > 1:
        t1 = t0 + DIL
        tl.store(y_ptr + ((y_pos + t1 * frame_y).to(tl.int64) * SY)[:, None] + c[None, :], acc1.to(ty),
                 mask=(pm & (t1 < T_out))[:, None] & cm)
    if R > 2:
        t2 = t0 + 2 * DIL
        tl.store(y_ptr + ((y_pos + t2 * frame_y).to(tl.int64) * SY)[:, None] + c[None, :], acc2.to(ty),
                 mask=(pm & (t2 < T_out))[:, None] & cm)
        t3 = t0 + 3 * DIL
        tl.store(y_ptr + ((y_pos + t3 * frame_y).to(tl.int64) * SY)[:, None] + c[None, :], acc3.to(ty),
                 mask=(pm & (t3 < T_out))[:, None] & cm)


@triton.jit
def _xtap(acc, gv, ptr, mask):
    return acc + gv * tl.load(ptr, mask=mask[:, None], other=0.0).to(tl.float32)


@triton.jit
def _dw_wgrad3x3_kernel(g_ptr, x_ptr, part_ptr, NP, SG, SX, CP,
                        T_in, H_in, W_in, T_out, H_out, W_out, DIL, OFF_T, PAD, KT, N_TCHUNK, FPC,
                        BLOCK_P: tl.constexpr, BLOCK_C: tl.constexpr):
    # program: one time tap kt × one chunk of output frames × BLOCK_P positions (b, h, w) ×
    # BLOCK_C channels; the gradient tile of a frame is loaded once for the 9 spatial taps, each
    # accumulated elementwise in its own registers and reduced over positions once, at the end
    pid0 = tl.program_id(0)
    pid_p = tl.program_id(1)
    pid_c = tl.program_id(2)
    kt = pid0 // N_TCHUNK
    tc = pid0 % N_TCHUNK
    c = pid_c * BLOCK_C + tl.arange(0, BLOCK_C)
    _, pm, wo, ho, b = _positions(pid_p, NP, W_out, H_out, BLOCK_P)
    shift = kt * DIL - OFF_T  # input frame = output frame + shift
    lo = tl.maximum(tl.maximum(-shift, 0), tc * FPC)
    hi = tl.minimum(tl.minimum(T_out, T_in - shift), (tc + 1) * FPC)
    g_pos = (b * T_out * H_out + ho) * W_out + wo
    x_pos = (b * T_in * H_in + ho - PAD) * W_in + (wo - PAD)
    frame_g = H_out * W_out
    frame_x = H_in * W_in
    r0 = pm & (ho - PAD >= 0) & (ho - PAD < H_in)
    r1 = pm & (ho + 1 - PAD >= 0) & (ho + 1 - PAD < H_in)
    r2 = pm & (ho + 2 - PAD >= 0) & (ho + 2 - PAD < H_in)
    c0 = (wo - PAD >= 0) & (wo - PAD < W_in)
    c1 = (wo + 1 - PAD >= 0) & (wo + 1 - PAD < W_in)
    c2 = (wo + 2 - PAD >= 0) & (wo + 2 - PAD < W_in)
    m00, m01, m02 = r0 & c0, r0 & c1, r0 & c2
    m10, m11, m12 = r1 & c0, r1 & c1, r1 & c2
    m20, m21, m22 = r2 & c0, r2 & c1, r2 & c2
    a00 = tl.zeros([BLOCK_P, BLOCK_C], dtype=tl.float32)
    a01 = tl.zeros([BLOCK_P, BLOCK_C], dtype=tl.float32)
    a02 = tl.zeros([BLOCK_P, BLOCK_C], dtype=tl.float32)
    a10 = tl.zeros([BLOCK_P, BLOCK_C], dtype=tl.float32)
    a11 = tl.zeros([BLOCK_P, BLOCK_C], dtype=tl.float32)
    a12 = tl.zeros([BLOCK_P, BLOCK_C], dtype=tl.float32)
    a20 = tl.zeros([BLOCK_P, BLOCK_C], dtype=tl.float32)
    a21 = tl.zeros([BLOCK_P, BLOCK_C], dtype=tl.float32)
    a22 = tl.zeros([BLOCK_P, BLOCK_C], dtype=tl.float32)
    row = W_in * SX
    for to in range(lo, hi):
        gv = tl.load(g_ptr + ((g_pos + to * frame_g).to(tl.int64) * SG)[:, None] + c[None, :],
                     mask=pm[:, None], other=0.0).to(tl.float32)
        xr = x_ptr + ((x_pos + (to + shift) * frame_x).to(tl.int64) * SX)[:, None] + c[None, :]
        a00 = _xtap(a00, gv, xr, m00)
        a01 = _xtap(a01, gv, xr + SX, m01)
        a02 = _xtap(a02, gv, xr + 2 * SX, m02)
        a10 = _xtap(a10, gv, xr + row, m10)
        a11 = _xtap(a11, gv, xr + row + SX, m11)
        a12 = _xtap(a12, gv, xr + row + 2 * SX, m12)
        a20 = _xtap(a20, gv, xr + 2 * row, m20)
        a21 = _xtap(a21, gv, xr + 2 * row + SX, m21)
        a22 = _xtap(a22, gv, xr + 2 * row + 2 * SX, m22)
    # partial sums part[chunk, position tile, kt, spatial tap, channel]
    dst = part_ptr + (((tc * tl.num_programs(1) + pid_p) * KT + kt) * 9).to(tl.int64) * CP + c
    tl.store(dst, tl.sum(a00, axis=0))
    tl.store(dst + CP, tl.sum(a01, axis=0))
    tl.store(dst + 2 * CP, tl.sum(a02, axis=0))
    tl.store(dst + 3 * CP, tl.sum(a10, axis=0))
    tl.store(dst + 4 * CP, tl.sum(a11, axis=0))
    tl.store(dst + 5 * CP, tl.sum(a12, axis=0))
    tl.store(dst + 6 * CP, tl.sum(a20, axis=0))
    tl.store(dst + 7 * CP, tl.sum(a21, axis=0))
    tl.store(dst + 8 * CP, tl.sum(a22, axis=0))


# ---------------------------------------------------------------------------------------------
# wrappers
# ---------------------------------------------------------------------------------------------

def _blocks(c: int) -> tuple[int, int]:
    block_c = 32 if c <= 96 else 64
    return 64, block_c


def _wgrad_any(g: torch.Tensor, x: torch.Tensor, kernel: Sequence[int], dilation: int, before: int,
               spatial_pad: int) -> torch.Tensor:
    """Any (kh, kw): ``∂w [C, 1, kt, kh, kw]`` fp32 from contiguous ``g [B, T', H', W', C]`` and ``x [B, T, H, W, C]``."""
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
    return part.sum(0).view(kt, kh, kw, c).permute(3, 0, 1, 2).unsqueeze(1).contiguous()


def fwd_config(kt: int, c: int) -> tuple[int, int, int, int]:
    """Default ``(R, BLOCK_P, BLOCK_C, num_warps)`` of the forward for ``kt`` time taps, ``c`` channels.

    R (output frames per program) trades tile loads (``(R + kt − 1)/R`` per output frame) against
    multiply-adds with a zero weight at the ends of a run (``(R + kt − 1)/kt`` of the useful ones).
    """
    run = 1 if kt == 1 else 2 if kt <= 4 else 4
    return run, 64, 32, 4


def wgrad_config(kt: int, c: int) -> tuple[int, int, int]:
    """Default ``(BLOCK_P, BLOCK_C, num_warps)`` of the 3×3 weight gradient (9 accumulators of BLOCK_P × BLOCK_C).

    The fastest of the H100 sweep at the extractor's and the first CMST level's shapes
    (``benchmarks/README.md``).
    """
    return 16, 32, 4


def _pad_channels(t: torch.Tensor) -> torch.Tensor:
    """``t`` contiguous with its channel (last) dimension zero-filled to a multiple of 16."""
    c = t.shape[-1]
    cp = -(-c // 16) * 16
    return t.contiguous() if cp == c else F.pad(t, (0, cp - c))


def _fit_block_c(stride: int, block_c: int) -> int:
    """The largest of ``block_c``, 32, 16 that divides the padded channel count ``stride``."""
    for b in (block_c, 32, 16):
        if stride % b == 0:
            return b
    raise ValueError(f"channel stride {stride} is not a multiple of 16")


def _out_size(t_in: int, h_in: int, w_in: int, kernel: Sequence[int], dilation: int, before: int, after: int,
              spatial_pad: int) -> tuple[int, int, int]:
    kt, kh, kw = kernel
    return (t_in + before + after - dilation * (kt - 1), h_in + 2 * spatial_pad - kh + 1,
            w_in + 2 * spatial_pad - kw + 1)


def _forward_padded(xp: torch.Tensor, c: int, weight: torch.Tensor, bias: torch.Tensor | None, dilation: int,
                    before: int, after: int, spatial_pad: int, config: Sequence[int] | None) -> torch.Tensor:
    bsz, t_in, h_in, w_in, sx = xp.shape
    kt, kh, kw = weight.shape[2:]
    t_out, h_out, w_out = _out_size(t_in, h_in, w_in, (kt, kh, kw), dilation, before, after, spatial_pad)
    run, block_p, block_c, warps = config or fwd_config(kt, c)
    if run not in (1, 2, 4):
        raise ValueError(f"dw_forward: R (output frames per program) must be 1, 2 or 4, found {run}")
    block_c = _fit_block_c(sx, block_c)
    y = torch.empty(bsz, t_out, h_out, w_out, c, device=xp.device, dtype=xp.dtype)
    # weight [C, 1, kt, kh, kw] → [R − 1 zero taps, kt taps, R − 1 zero taps] × kh·kw × channels (fp32)
    wp = weight.detach().float().reshape(c, kt, kh * kw).permute(1, 2, 0)
    wp = F.pad(wp, (0, sx - c, 0, 0, run - 1, run - 1)).contiguous()
    bp = F.pad(bias.detach().float(), (0, sx - c)) if bias is not None else wp
    n_pos = bsz * h_out * w_out
    runs = dilation * triton.cdiv(triton.cdiv(t_out, dilation), run)
    grid = (triton.cdiv(n_pos, block_p), runs, sx // block_c)
    _dw_fwd_run_kernel[grid](xp, wp, bp, y, n_pos, c, sx, c, sx, t_in, h_in, w_in, t_out, h_out, w_out,
                             dilation, before, spatial_pad, kt, KH=kh, KW=kw, R=run,
                             HAS_BIAS=bias is not None, BLOCK_P=block_p, BLOCK_C=block_c, num_warps=warps)
    return y


def _wgrad_padded(gp: torch.Tensor, xp: torch.Tensor, c: int, kernel: Sequence[int], dilation: int,
                  before: int, spatial_pad: int, config: Sequence[int] | None) -> torch.Tensor:
    kt = kernel[0]
    bsz, t_out, h_out, w_out, sx = gp.shape
    t_in, h_in, w_in = xp.shape[1:4]
    block_p, block_c, warps, *forced = config or wgrad_config(kt, c)
    block_c = _fit_block_c(sx, block_c)
    n_pos = bsz * h_out * w_out
    n_p, n_c = triton.cdiv(n_pos, block_p), sx // block_c
    # split the frames into chunks only when taps × position tiles × channel blocks are too few
    # programs to fill a GPU (~1k)
    chunks = forced[0] if forced else max(1, min(triton.cdiv(1024, kt * n_p * n_c), max(1, t_out // 16)))
    per_chunk = triton.cdiv(t_out, chunks)
    chunks = triton.cdiv(t_out, per_chunk)
    part = torch.empty(chunks, n_p, kt, 9, sx, device=gp.device, dtype=torch.float32)
    _dw_wgrad3x3_kernel[(kt * chunks, n_p, n_c)](
        gp, xp, part, n_pos, sx, sx, sx, t_in, h_in, w_in, t_out, h_out, w_out, dilation, before,
        spatial_pad, kt, chunks, per_chunk, BLOCK_P=block_p, BLOCK_C=block_c, num_warps=warps)
    return part.sum((0, 1))[..., :c].permute(2, 0, 1).reshape(c, 1, kt, 3, 3).contiguous()


def dw_forward(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, dilation: int,
               before: int, after: int, spatial_pad: int, config: Sequence[int] | None = None) -> torch.Tensor:
    """Depthwise conv, ``x [B, T, H, W, C]``, ``weight [C, 1, kt, kh, kw]`` → ``[B, T', H', W', C]`` contiguous.

    ``config``: ``(R, BLOCK_P, BLOCK_C, num_warps)``, default :func:`fwd_config`.
    """
    return _forward_padded(_pad_channels(x), x.shape[-1], weight, bias, dilation, before, after, spatial_pad,
                           config)


def dw_weight_grad(g: torch.Tensor, x: torch.Tensor, kernel: Sequence[int], dilation: int, before: int,
                   after: int, spatial_pad: int, config: Sequence[int] | None = None
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """(``∂w [C, 1, kt, kh, kw]``, ``∂b [C]``), fp32, from ``g [B, T', H', W', C]`` and ``x [B, T, H, W, C]``.

    3×3 spatial kernels use the 9-accumulator kernel (``config``: ``(BLOCK_P, BLOCK_C, num_warps)``,
    default :func:`wgrad_config`, optionally followed by the number of frame chunks); other sizes
    the general kernel (``config`` unused). ``after`` is implied by the shapes (kept for symmetry
    with :func:`dw_forward`).
    """
    c = g.shape[-1]
    if tuple(kernel[1:]) != (3, 3):
        return (_wgrad_any(g.contiguous(), x, kernel, dilation, before, spatial_pad),
                g.reshape(-1, c).sum(0, dtype=torch.float32))
    gw = _wgrad_padded(_pad_channels(g), _pad_channels(x), c, kernel, dilation, before, spatial_pad, config)
    return gw, g.reshape(-1, c).sum(0, dtype=torch.float32)


def dw_backward(grad: torch.Tensor, x: torch.Tensor, weight: torch.Tensor, dilation: int, before: int,
                after: int, spatial_pad: int, need_input: bool, need_weight: bool
                ) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
    """(∂x, ∂w fp32, ∂b fp32) of the depthwise conv (``None`` where not needed); ``grad`` padded once for both.

    The input gradient is the forward conv of the gradient with the flipped kernel, padded so that
    output positions line up with the input's: time ``(span − before, span − after)``, space
    ``kh − 1 − spatial_pad`` (``kh == kw``).
    """
    kt, kh, kw = weight.shape[2:]
    c = x.shape[-1]
    span = dilation * (kt - 1)
    gp = _pad_channels(grad)
    gi = gw = gb = None
    if need_input:
        gi = _forward_padded(gp, c, weight.flip(2, 3, 4), None, dilation, span - before, span - after,
                             kh - 1 - spatial_pad, None)
    if need_weight:
        if (kh, kw) == (3, 3):
            gw = _wgrad_padded(gp, _pad_channels(x), c, (kt, kh, kw), dilation, before, spatial_pad, None)
        else:
            gw = _wgrad_any(grad.contiguous(), x, (kt, kh, kw), dilation, before, spatial_pad)
        gb = grad.reshape(-1, c).sum(0, dtype=torch.float32)
    return gi, gw, gb
