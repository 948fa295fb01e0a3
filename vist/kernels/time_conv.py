"""Depthwise 3D convolutions with time dilation and causal padding, on channels-last tensors.

Vi-ST's expensive convolutions are *depthwise* (one filter per channel, ``groups = C``): the
video extractor's (3, 3, 3) convs with time dilation 1 … 32 and the CMST blocks' per-cell
(w, 3, 3) convs, w up to 25. PyTorch's CPU backward of these is a slow per-group loop and
cuDNN spends most of the authors' GPU step in layout transforms (``benchmarks/README.md``).
Here they are one operator, ``torch.ops.vist.dwconv3d``, on **channels-last** tensors
``[B, T, H, W, C]`` (the layout in which a 1×1×1 conv is a plain matrix product):

* CPU (pure PyTorch): oneDNN's channels-last depthwise convs throughout. Forward: one 3D conv of
  the padded input for undilated kernels; a dilated kernel is split into its time taps, each a 2D
  (kh, kw) conv of the input frames it reads added into the output frames it writes (oneDNN is
  10× slower on dilated 3D kernels). Input gradient: the same forward conv of the gradient with
  the flipped kernel. Weight gradient: per time tap (and batch item) oneDNN's 2D depthwise
  backward-weights kernel on the frames the tap pairs — no padded copy, no temporary per spatial
  tap; frames and taps that would meet only the zero padding are skipped.
* CUDA: the Triton kernels of :mod:`vist.kernels.conv_triton` (forward — a program owns a run of
  output frames and loads each input frame once for all of them —, input gradient as that
  forward with the flipped kernel, weight gradient with one register accumulator per spatial
  tap), fp32 accumulation, any input dtype, no TF32 (no ``tl.dot``).

It is a ``torch.library`` custom op with registered autograd, so ``torch.compile`` treats it as
one opaque node and fuses the elementwise work around it.

Padding: ``time_pad = (before, after)`` zero frames (causal: ``(d·(k−1), 0)``) and
``spatial_pad`` zeros on each side of H and W; the output is
``[B, T + before + after − d·(kt − 1), H + 2p − kh + 1, W + 2p − kw + 1, C]``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from vist.kernels.backend import resolve_backend

__all__ = ["depthwise_conv3d", "depthwise_conv3d_reference"]


def _check(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, dilation: int,
           time_pad: Sequence[int], spatial_pad: int) -> None:
    if not isinstance(x, torch.Tensor) or x.dim() != 5:
        raise ValueError(f"depthwise_conv3d: x must be channels-last [B, T, H, W, C], found "
                         f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
    c = x.shape[-1]
    if weight.dim() != 5 or weight.shape[0] != c or weight.shape[1] != 1:
        raise ValueError(f"depthwise_conv3d: weight must be [C={c}, 1, kt, kh, kw] (a depthwise "
                         f"nn.Conv3d weight), found {tuple(weight.shape)}")
    if bias is not None and tuple(bias.shape) != (c,):
        raise ValueError(f"depthwise_conv3d: bias must be [C={c}], found {tuple(bias.shape)}")
    if int(dilation) < 1 or len(time_pad) != 2 or min(time_pad) < 0 or spatial_pad < 0:
        raise ValueError(f"depthwise_conv3d: expected dilation >= 1, time_pad (before, after) >= 0 and "
                         f"spatial_pad >= 0, found {dilation}, {tuple(time_pad)}, {spatial_pad}")
    span = int(dilation) * (weight.shape[2] - 1)
    if max(time_pad) > span or spatial_pad > min(weight.shape[3], weight.shape[4]) - 1:
        raise ValueError(f"depthwise_conv3d: padding larger than the kernel's reach: time_pad "
                         f"{tuple(time_pad)} (span {span}), spatial_pad {spatial_pad}")
    kt, kh, kw = weight.shape[2:]
    out = (x.shape[1] + sum(time_pad) - span, x.shape[2] + 2 * spatial_pad - kh + 1,
           x.shape[3] + 2 * spatial_pad - kw + 1)
    if min(out) < 1:
        raise ValueError(f"depthwise_conv3d: input {tuple(x.shape)} is too small for kernel "
                         f"{(kt, kh, kw)} (dilation {dilation}, padding {tuple(time_pad)}, {spatial_pad})")
    if x.device != weight.device:
        raise ValueError(f"depthwise_conv3d: x is on {x.device}, weight on {weight.device}")


def depthwise_conv3d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
                     dilation: int = 1, time_pad: Sequence[int] = (0, 0), spatial_pad: int = 0,
                     backend: str = "auto") -> torch.Tensor:
    """Depthwise conv of channels-last ``x [B, T, H, W, C]`` with ``weight [C, 1, kt, kh, kw]``.

    Same function as ``nn.Conv3d(C, C, (kt, kh, kw), dilation=(dilation, 1, 1), groups=C)`` applied
    to ``x`` zero-padded by ``time_pad`` frames (before, after) and ``spatial_pad`` cells, in the
    channels-first layout. Differentiable in ``x``, ``weight`` and ``bias``.

    Args:
        backend: ``"auto"`` (Triton on CUDA, PyTorch otherwise), ``"torch"`` or ``"triton"`` (CUDA, or
            any device under ``TRITON_INTERPRET=1``).

    Returns:
        ``[B, T', H', W', C]`` in ``x``'s dtype (see the module docstring for the sizes).
    """
    _check(x, weight, bias, dilation, time_pad, spatial_pad)
    backend = resolve_backend(backend, x.device)
    return torch.ops.vist.dwconv3d(x.contiguous(), weight, bias, int(dilation), int(time_pad[0]),
                                   int(time_pad[1]), int(spatial_pad), backend)


def depthwise_conv3d_reference(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
                               dilation: int = 1, time_pad: Sequence[int] = (0, 0),
                               spatial_pad: int = 0) -> torch.Tensor:
    """The same function with ``F.pad`` + ``F.conv3d`` in the channels-first layout (for tests)."""
    _check(x, weight, bias, dilation, time_pad, spatial_pad)
    p = spatial_pad
    xl = F.pad(x.permute(0, 4, 1, 2, 3), (p, p, p, p, time_pad[0], time_pad[1]))
    y = F.conv3d(xl.contiguous(), weight, bias, dilation=(dilation, 1, 1), groups=x.shape[-1])
    return y.permute(0, 2, 3, 4, 1)


# ---------------------------------------------------------------------------------------------
# the CPU path (pure PyTorch)
# ---------------------------------------------------------------------------------------------

def _taps(t_in: int, t_out: int, kt: int, d: int, before: int) -> list[tuple[int, int, int, int]]:
    """The time taps that read input: ``(a, off, t0, t1)`` — output frames ``t0 ≤ t < t1`` read input
    frame ``t + off`` (``off = a·d − before``); the frames outside, and taps outside entirely, read
    only the zero padding and are left out."""
    taps = []
    for a in range(kt):
        off = a * d - before
        t0, t1 = max(0, -off), min(t_out, t_in - off)
        if t1 > t0:
            taps.append((a, off, t0, t1))
    return taps


def _nchw(frames: torch.Tensor) -> torch.Tensor:
    """Channels-last frames ``[N, H, W, C]`` → the logical ``[N, C, H, W]`` NHWC view (no copy)."""
    return frames.permute(0, 3, 1, 2)


def _pad_time_cl(x: torch.Tensor, before: int, after: int) -> torch.Tensor:
    """Channels-last ``[B, T, H, W, C]`` → logical ``[B, C, before + T + after, H, W]`` (channels-last memory)."""
    xl = x.permute(0, 4, 1, 2, 3)
    return F.pad(xl, (0, 0, 0, 0, before, after)) if before or after else xl


def _forward_taps(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None, d: int, before: int, after: int,
                  p: int) -> torch.Tensor:
    """A dilated kernel as its time taps: per tap one 2D depthwise conv (oneDNN, NHWC, spatial padding
    as the conv's own) of the input frames it reads, added into the output frames it writes.

    oneDNN is slow on dilated 3D kernels (and not fast on (1, kh, kw) 3D ones); no padded copy of
    the input is made and frames that would read only padding are skipped.
    """
    bsz, t_in, h, wd, c = x.shape
    kt, kh, kw = w.shape[2:]
    t_out = t_in + before + after - d * (kt - 1)
    h_out, w_out = h + 2 * p - kh + 1, wd + 2 * p - kw + 1
    taps = _taps(t_in, t_out, kt, d, before)
    # a tap that maps every input frame to the same output frame covers the whole output: it
    # writes the output (with the bias), one conv over all B·T frames
    full = next((tap for tap in taps if tap[1] == 0 and tap[3] - tap[2] == t_out == t_in), None)
    if full is not None:
        y = F.conv2d(_nchw(x.reshape(bsz * t_in, h, wd, c)), w[:, :, full[0]], b, padding=p, groups=c)
        y = y.permute(0, 2, 3, 1).reshape(bsz, t_out, h_out, w_out, c)  # a view when oneDNN answered NHWC
    elif b is None:
        y = x.new_zeros(bsz, t_out, h_out, w_out, c)
    else:
        y = b.expand(bsz, t_out, h_out, w_out, c).clone(memory_format=torch.contiguous_format)
    for tap in taps:
        if tap is full:
            continue
        a, off, t0, t1 = tap
        for i in range(bsz):
            yk = F.conv2d(_nchw(x[i, t0 + off: t1 + off]), w[:, :, a], None, padding=p, groups=c)
            y[i, t0:t1].add_(yk.permute(0, 2, 3, 1))
    return y


def _cpu_forward(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, d: int, before: int,
                 after: int, p: int) -> torch.Tensor:
    """Channels-last ``x [B, T, H, W, C]`` → ``[B, T', H', W', C]``: oneDNN's 3D depthwise conv of the
    time-padded input for undilated kernels (fast there), per-tap 2D convs for dilated ones."""
    w = weight.to(x.dtype)
    b = bias.to(x.dtype) if bias is not None else None
    if d > 1 and w.shape[2] > 1:
        return _forward_taps(x, w, b, d, before, after, p)
    # time padding as a copy (asymmetric), spatial padding as the conv's own (no copy; it saves a
    # quarter of the input gradient's time on the CMST kernels, padded by 2 on each side there)
    y = F.conv3d(_pad_time_cl(x, before, after), w, b, padding=(0, p, p), groups=w.shape[0])
    return y.permute(0, 2, 3, 4, 1).contiguous()  # a no-op when oneDNN answered channels-last


def _cpu_weight_grad(g: torch.Tensor, x: torch.Tensor, kernel: Sequence[int], d: int, before: int,
                     after: int, p: int) -> torch.Tensor:
    """``∂L/∂weight [C, 1, kt, kh, kw]`` from ``g [B, T', H', W', C]`` and the input ``x``, both channels-last.

    Per time tap (and batch item) one 2D depthwise weight gradient — oneDNN's jit depthwise
    backward-weights kernel, NHWC, spatial padding as the conv's own — of the gradient frames and
    the input frames the tap pairs them with: no padded copy, no temporary per spatial tap, and
    frames that would meet only padding are skipped.
    """
    kt, kh, kw = kernel
    bsz, t_in, h, wd, c = x.shape
    t_out = g.shape[1]
    shape = x.new_empty(c, 1, kh, kw)  # only its size is read
    pad, one = [p, p], [1, 1]

    def grad_w(gf: torch.Tensor, xf: torch.Tensor) -> torch.Tensor:
        return torch.ops.aten.convolution_backward(_nchw(gf), _nchw(xf), shape, None, one, pad, one, False,
                                                   [0, 0], c, [False, True, False])[1]

    gw = x.new_zeros(kt, c, 1, kh, kw)
    for a, off, t0, t1 in _taps(t_in, t_out, kt, d, before):
        if off == 0 and t1 - t0 == t_out == t_in:  # all frames of all batch items: one call
            gw[a] = grad_w(g.reshape(-1, *g.shape[2:]), x.reshape(-1, h, wd, c))
            continue
        for i in range(bsz):
            gw[a].add_(grad_w(g[i, t0:t1], x[i, t0 + off: t1 + off]))
    return gw.permute(1, 2, 0, 3, 4).contiguous()


# ---------------------------------------------------------------------------------------------
# the operator: forward, backward, autograd, fake (meta) implementations
# ---------------------------------------------------------------------------------------------

def _out_shape(x: torch.Tensor, weight: torch.Tensor, d: int, before: int, after: int, p: int) -> list[int]:
    kt, kh, kw = weight.shape[2:]
    return [x.shape[0], x.shape[1] + before + after - d * (kt - 1), x.shape[2] + 2 * p - kh + 1,
            x.shape[3] + 2 * p - kw + 1, x.shape[4]]


@torch.library.custom_op("vist::dwconv3d", mutates_args=())
def _dwconv3d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, dilation: int,
              before: int, after: int, spatial_pad: int, backend: str) -> torch.Tensor:
    if backend == "triton":
        from vist.kernels import conv_triton  # lazy: imports triton, only on the Triton path

        return conv_triton.dw_forward(x, weight, bias, dilation, before, after, spatial_pad)
    return _cpu_forward(x, weight, bias, dilation, before, after, spatial_pad)


@_dwconv3d.register_fake
def _(x, weight, bias, dilation, before, after, spatial_pad, backend):
    return x.new_empty(_out_shape(x, weight, dilation, before, after, spatial_pad))


@torch.library.custom_op("vist::dwconv3d_backward", mutates_args=())
def _dwconv3d_backward(grad: torch.Tensor, x: torch.Tensor, weight: torch.Tensor, dilation: int,
                       before: int, after: int, spatial_pad: int, backend: str, need_input: bool,
                       need_weight: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(∂L/∂x, ∂L/∂weight, ∂L/∂bias); the parts not needed come back as empty tensors."""
    kt, kh, kw = weight.shape[2:]
    span = dilation * (kt - 1)
    grad = grad.contiguous()
    if backend == "triton":
        from vist.kernels import conv_triton  # lazy: imports triton, only on the Triton path

        gi, gw, gb = conv_triton.dw_backward(grad, x, weight, dilation, before, after, spatial_pad,
                                             need_input, need_weight)
        gi = gi if need_input else x.new_empty(0)
        if not need_weight:
            return gi, weight.new_empty(0), weight.new_empty(0)
        return gi, gw.to(weight.dtype), gb.to(weight.dtype)
    # the input gradient is the forward conv of the gradient with the flipped kernel, padded so
    # that output frame/cell positions line up with the input's (pads stay >= 0: see _check)
    flipped = weight.flip(2, 3, 4)
    gi_pad = (span - before, span - after, kh - 1 - spatial_pad)
    gi = _cpu_forward(grad, flipped, None, dilation, *gi_pad) if need_input else x.new_empty(0)
    if need_weight:
        gw = _cpu_weight_grad(grad, x, (kt, kh, kw), dilation, before, after, spatial_pad).to(weight.dtype)
        gb = grad.sum((0, 1, 2, 3), dtype=torch.promote_types(grad.dtype, torch.float32)).to(weight.dtype)
    else:
        gw, gb = weight.new_empty(0), weight.new_empty(0)
    return gi, gw, gb


@_dwconv3d_backward.register_fake
def _(grad, x, weight, dilation, before, after, spatial_pad, backend, need_input, need_weight):
    return (x.new_empty(x.shape if need_input else (0,)),
            weight.new_empty(weight.shape if need_weight else (0,)),
            weight.new_empty((weight.shape[0],) if need_weight else (0,)))


def _setup_context(ctx, inputs, output) -> None:
    x, weight, bias, dilation, before, after, spatial_pad, backend = inputs
    ctx.save_for_backward(x, weight)
    ctx.args = (dilation, before, after, spatial_pad, backend)
    ctx.has_bias = bias is not None


def _backward(ctx, grad):
    x, weight = ctx.saved_tensors
    need_x, need_w, need_b = ctx.needs_input_grad[:3]
    gi, gw, gb = _dwconv3d_backward(grad, x, weight, *ctx.args, bool(need_x), bool(need_w or need_b))
    return (gi if need_x else None, gw if need_w else None,
            gb if (need_b and ctx.has_bias) else None, None, None, None, None, None)


torch.library.register_autograd("vist::dwconv3d", _backward, setup_context=_setup_context)
