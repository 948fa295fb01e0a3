"""A fast Vi-ST: the same function and parameters as :class:`vist.model.ViST`, computed differently.

:class:`FastViST` subclasses the reference and keeps its modules — so parameters, buffers,
``state_dict`` keys and shapes, BatchNorm running statistics and checkpoints are the reference's —
and replaces only ``forward``:

* **channels-last** activations ``[B, T, H, W, C]`` from the first layer to the last: the
  1024 → 256 projection and every 1×1×1 conv is one matrix product (``F.linear`` on the last
  dimension), the input features ``[B, T, G·G, D]`` are used in place (no transpose of the
  largest tensor), and the readout permutes its (small) weight instead of the activations;
* the **depthwise** (3, 3, 3) dilated extractor convs and the **per-cell** (w, 3, 3) CMST convs go
  through :func:`vist.kernels.depthwise_conv3d` (Triton on CUDA; on CPUs oneDNN's depthwise
  kernels, the weight gradient as per-time-tap 2D depthwise backward-weights — PyTorch's own CPU
  backward of these 3D convs is 10–20× slower);
* the full (1, 3, 3) CMST branch is a 2D conv over ``B·T`` frames in NHWC (channels padded to
  multiples of 8 on CUDA), and the block's residual path — a (1, 3, 3) average of a 1×1×1 conv,
  itself a (1, 3, 3) conv — is computed by the same conv call (weights stacked; on CUDA);
* BatchNorm, LeakyReLU, SiLU are the reference's modules/functions applied to channels-last views;
* optionally (``settings.recompute``) each extractor layer's conv → BatchNorm → ReLU → 1×1×1 chain is
  recomputed in the backward pass instead of keeping its two intermediate activations (at the
  paper's shapes 2 × 256 MiB in bf16 per layer, six layers): the largest saving of memory for an
  extra depthwise conv and GEMM per layer. BatchNorm's running statistics are updated once, in
  the forward pass (the recomputation updates throw-away copies).

Dropout: on CPUs the masks are drawn exactly as PyTorch's ``F.dropout``/``F.dropout3d`` draw them
for the reference (same shapes, same order, same generator), so with the same seed a fast model
and a reference model see the same masks — training is the same computation, tested to 1e-5.
On CUDA the fused dropout kernel is used on the contiguous channels-last tensor (its masks
differ from the reference's draws; the distribution is the same).

On CUDA the forward has no host synchronisation and allocates nothing outside PyTorch's caching
allocator, so a whole training step (with a ``capturable`` optimiser) can be captured as one
CUDA graph (``--variants fast-graph`` in ``python -m vist.bench train-step``), and ``torch.compile`` traces
it as one graph (the depthwise convs are opaque ``torch.library`` custom ops).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from vist.kernels.settings import DEFAULT_SETTINGS, KernelSettings
from vist.kernels.time_conv import depthwise_conv3d
from vist.layers import TimeConv3d
from vist.model.vi_st import CMSTBlock, ViST, ViSTConfig

__all__ = ["FastViST", "convert"]


def _linear(x: torch.Tensor, conv: nn.Conv3d) -> torch.Tensor:
    """A 1×1×1 ``nn.Conv3d`` applied to channels-last ``x [..., cin]`` → ``[..., cout]`` (one GEMM)."""
    return F.linear(x, conv.weight.flatten(1), conv.bias)


def _frames(x: torch.Tensor) -> torch.Tensor:
    """``[B, T, H, W, C]`` → the ``[B·T, C, H, W]`` NHWC view (no copy)."""
    b, t, h, w, c = x.shape
    return x.reshape(b * t, h, w, c).permute(0, 3, 1, 2)


def _unframes(y: torch.Tensor, b: int) -> torch.Tensor:
    """``[B·T, C, H, W]`` (NHWC memory) → ``[B, T, H, W, C]``."""
    n, c, h, w = y.shape
    return y.permute(0, 2, 3, 1).reshape(b, n // b, h, w, c)


def _full_conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
               align: int | None = None) -> torch.Tensor:
    """A full (1, kh, kw) conv, no padding, of channels-last ``x [B, T, H, W, cin]`` as a 2D conv
    over the ``B·T`` frames in NHWC → ``[B, T, H−kh+1, W−kw+1, cout]``; ``weight [cout, cin, kh, kw]``.

    Both channel counts are zero-padded to multiples of ``align`` first (default: 8 on CUDA, 1
    elsewhere): cuDNN's NHWC kernels would otherwise pad the tensors themselves in every pass
    (``benchmarks/README.md``).
    """
    cout, cin = weight.shape[:2]
    align = align or (8 if x.is_cuda else 1)
    pad_in, pad_out = (-cin) % align, (-cout) % align
    if pad_in or pad_out:
        x = F.pad(x, (0, pad_in))
        weight = F.pad(weight, (0, 0, 0, 0, 0, pad_in, 0, pad_out))
        bias = None if bias is None else F.pad(bias, (0, pad_out))
    y = _unframes(F.conv2d(_frames(x), weight, bias), x.shape[0])
    return y[..., :cout] if pad_out else y


class FastViST(ViST):
    """Vi-ST with the reference's parameters and math, fast on CPUs and GPUs (see the module docstring).

    Build one with :meth:`from_reference` (or :func:`convert`); ``FastViST(config)`` also works
    and initialises like :class:`ViST`. Shapes as :class:`ViST`: ``x [B, T, G·G, D]``,
    ``rf [B, cells, G, G]`` or ``[cells, G, G]`` → ``[B, T, cells]``.

    Args:
        settings: the speed switches (:class:`vist.kernels.KernelSettings`; default
            :data:`~vist.kernels.settings.DEFAULT_SETTINGS`); here

            * ``settings.conv_backend``: the depthwise convs' backend, ``"auto"`` (Triton on
              CUDA, PyTorch on CPUs), ``"torch"`` or ``"triton"`` (see
              :func:`vist.kernels.depthwise_conv3d`);
            * ``settings.recompute``: recompute each extractor layer's conv → BatchNorm → ReLU →
              projection in the backward pass rather than keep its activations (less memory, a
              little more time);
            * ``settings.fuse_residual``: compute each CMST block's residual path inside its full
              (1, 3, 3) conv (see :meth:`_cmst`), ``None``: on CUDA only (slower on CPUs:
              ``benchmarks/README.md``).
    """

    def __init__(self, config: ViSTConfig | None = None, settings: KernelSettings | None = None) -> None:
        super().__init__(config)
        self.settings = settings or DEFAULT_SETTINGS
        self._recomputing = False

    @classmethod
    def from_reference(cls, model: ViST, settings: KernelSettings | None = None) -> FastViST:
        """A fast copy of ``model``: same parameters, buffers, device, dtype and train/eval mode.

        The copy does not draw random numbers, so converting does not change what a seeded run
        does next. Build the optimiser on the returned module.

        Raises:
            TypeError: ``model`` is not a :class:`ViST`.
        """
        if not isinstance(model, ViST):
            raise TypeError(f"FastViST.from_reference: expected a vist.model.ViST, found {type(model).__name__}")
        fast = copy.deepcopy(model)
        fast.__class__ = cls  # same modules and state; only forward differs
        fast.settings = settings or DEFAULT_SETTINGS
        fast._recomputing = False
        return fast

    def to_reference(self) -> ViST:
        """A reference :class:`ViST` copy of this model (same state)."""
        ref = copy.deepcopy(self)
        ref.__class__ = ViST
        del ref.settings, ref._recomputing
        return ref

    # -- pieces --------------------------------------------------------------------------------

    def _dropout(self, y: torch.Tensor, p: float, feature: bool) -> torch.Tensor:
        """Dropout of channels-last ``y [B, T, H, W, C]`` (``feature``: whole channels, as Dropout3d)."""
        if not self.training or p == 0:
            return y
        if p >= 1:
            return y * 0
        if y.device.type != "cpu":
            if not feature:  # elementwise: on the contiguous channels-last tensor (vectorised kernel)
                return F.dropout(y, p, True)
            return F.dropout3d(y.permute(0, 4, 1, 2, 3), p, True).permute(0, 2, 3, 4, 1)
        # the reference's draw: bernoulli_(1 − p) in memory order into a noise tensor shaped like
        # its input — channels-last for the extractor (the reference's extractor input is a
        # channels-last view of the features, and oneDNN keeps that layout), [B, C, 1, 1, 1] for
        # Dropout3d — then ÷ (1 − p), then multiply
        if feature:
            noise = torch.empty(y.shape[0], y.shape[-1], 1, 1, 1, dtype=y.dtype, device=y.device)
            noise = noise.bernoulli_(1 - p).div_(1 - p).view(y.shape[0], 1, 1, 1, y.shape[-1])
        else:
            noise = torch.empty_like(y, memory_format=torch.contiguous_format).bernoulli_(1 - p).div_(1 - p)
        return y * noise

    def _time_conv(self, x: torch.Tensor, tc: TimeConv3d) -> torch.Tensor:
        """A :class:`TimeConv3d` on channels-last ``x``: depthwise → the fused op, full (1, kh, kw) → 2D conv."""
        conv = tc.conv
        before, after = tc.pad[4], tc.pad[5]
        if conv.groups == conv.in_channels == conv.out_channels:
            return depthwise_conv3d(x, conv.weight, conv.bias, conv.dilation[0], (before, after), tc.pad[0],
                                    backend=self.settings.conv_backend)
        if not self._full_2d(tc):
            raise NotImplementedError(f"FastViST: no fast path for {conv} (padding {tc.pad})")
        return _full_conv(x, conv.weight[:, :, 0], conv.bias)

    @staticmethod
    def _full_2d(tc: TimeConv3d) -> bool:
        """Whether ``tc`` is a full (1, kh, kw) conv without padding, stride or dilation."""
        conv = tc.conv
        return (conv.groups == 1 and conv.kernel_size[0] == 1 and not any(tc.pad)
                and conv.stride == (1, 1, 1) and conv.dilation == (1, 1, 1))

    def _layer_core(self, h: torch.Tensor, layer: nn.Module) -> torch.Tensor:
        """One extractor layer before dropout: conv → BatchNorm → ReLU → 1×1×1 projection."""
        u = self._time_conv(h, layer.conv).permute(0, 4, 1, 2, 3)
        norm = layer.norm
        if self._recomputing and norm.training:  # the forward pass updated the running
            # statistics already: the recomputation normalises alike but updates copies
            stats = [None if b is None else b.clone() for b in (norm.running_mean, norm.running_var)]
            u = F.batch_norm(u, *stats, norm.weight, norm.bias, True, 0.0, norm.eps)
        else:
            u = norm(u)
        return _linear(torch.relu(u.permute(0, 2, 3, 4, 1)), layer.proj)

    @contextmanager
    def _recomputation(self) -> Iterator[None]:
        self._recomputing = True
        try:
            yield
        finally:
            self._recomputing = False

    def _video(self, x: torch.Tensor) -> torch.Tensor:
        """Extractor: ``[B, T, G, G, D]`` → ``[B, T, G, G, cells]``."""
        v = self.video
        h = _linear(x, v.inp)
        for layer in v.layers:
            if self.settings.recompute and torch.is_grad_enabled():
                a = checkpoint(self._layer_core, h, layer, use_reentrant=False, preserve_rng_state=False,
                               context_fn=lambda: (nullcontext(), self._recomputation()))
            else:
                a = self._layer_core(h, layer)
            h = h + self._dropout(a, layer.drop.p, feature=False)
        return h if v.mode == "none" else _linear(h, v.out)

    def _adaln(self, h: torch.Tensor, rf: torch.Tensor) -> torch.Tensor:
        """AdaLN-Zero on ``h [B, T, G, G, C]``, conditioned on the RF coverage or on ``h`` itself."""
        a = self.adaln
        if self.config.condition == "rf":
            # Σ_c rf_c, the same for every channel; one frame broadcast over time
            cond = rf.sum(1)[:, None, :, :, None].expand(-1, 1, -1, -1, h.shape[-1])
        else:
            cond = h
        shift, scale, gate = _linear(a.modulation[0](cond), a.modulation[1]).chunk(3, dim=-1)
        return h + gate * _linear(a.net[0](h * (1 + scale) + shift), a.net[1])

    def _cmst(self, block: CMSTBlock, x: torch.Tensor) -> torch.Tensor:
        """One CMST block: ``[B, T, g, g, C]`` → ``[B, T, g − 2, g − 2, C]``.

        The residual path, a (1, kh, kw) average of a 1×1×1 conv, is itself a full (1, kh, kw)
        conv whose taps are the 1×1×1 weights ÷ (kh·kw). When the block has a full (1, kh, kw)
        branch (every level of the paper's design), both are computed by one 2D conv with the
        two weights stacked (2C outputs): no pooling pass, no separate 1×1×1 GEMM
        (``settings.fuse_residual``; on CUDA by default).
        """
        c = x.shape[-1]
        pool = block.pool
        fuse = self.settings.fuse_residual if self.settings.fuse_residual is not None else x.is_cuda
        fusable = fuse and (pool.kernel_size[0] == 1 and pool.stride in (1, (1, 1, 1)) and pool.padding in (0, (0, 0, 0))
                   and pool.divisor_override is None)
        total = pooled = None
        for branch in block.branches:
            conv, act, drop = branch
            if (pooled is None and fusable and self._full_2d(conv)
                    and tuple(conv.conv.kernel_size[1:]) == tuple(pool.kernel_size[1:])):
                kh, kw = pool.kernel_size[1:]
                taps = block.skip.weight.flatten(1)[:, :, None, None].expand(-1, -1, kh, kw) / (kh * kw)
                both = _full_conv(x, torch.cat((conv.conv.weight[:, :, 0], taps)),
                                  torch.cat((conv.conv.bias, block.skip.bias)))
                y, pooled = both[..., :c], both[..., c:]
            else:
                y = self._time_conv(x, conv)
            y = self._dropout(F.leaky_relu(y, act.negative_slope), drop.p, feature=True)
            total = y if total is None else total + y
        if pooled is None:
            kt, kh, kw = pool.kernel_size
            pooled = _unframes(F.avg_pool2d(_frames(_linear(x, block.skip)), (kh, kw), 1), x.shape[0])
        return _linear(total, block.mix) + pooled

    def forward(self, x: torch.Tensor, rf: torch.Tensor) -> torch.Tensor:
        """Predicted rates ``[B, T, cells]`` from ``x [B, T, G·G, D]`` and ``rf`` (as :meth:`ViST.forward`)."""
        c = self.config
        x, rf = self.check_inputs(x, rf)
        b, t = x.shape[:2]
        h = self._video(x.reshape(b, t, c.grid, c.grid, c.feat_dim))  # patch p·G + q → (p, q)
        if self.adaln is not None:
            h = self._adaln(h, rf)
        for block in self.cmst:
            h = self._cmst(block, h)
        if self.readout is None:
            return h.mean((2, 3))
        # the reference flattens (cell, p, q); permute the weight's columns to (p, q, cell) instead
        g = c.out_grid
        w = self.readout.weight.view(-1, c.cells, g, g).permute(0, 2, 3, 1).reshape(-1, c.cells * g * g)
        return F.linear(h.reshape(b, t, -1), w, self.readout.bias)


def convert(model: nn.Module, enabled: bool = True, settings: KernelSettings | None = None) -> nn.Module:
    """``model`` as a :class:`FastViST` when ``enabled`` and it is a :class:`ViST`; else ``model`` itself.

    ``settings``: the fast model's switches (:class:`vist.kernels.KernelSettings`; default
    :data:`~vist.kernels.settings.DEFAULT_SETTINGS`).

    The fast model is a copy with the same state (see :meth:`FastViST.from_reference`); build
    the optimiser after converting. Other models (CRNN, MS-TCN) pass through unchanged, so a
    trainer can call this on whatever it built.
    """
    if not enabled or not isinstance(model, ViST) or isinstance(model, FastViST):
        return model
    return FastViST.from_reference(model, settings=settings)
