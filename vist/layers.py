"""Convolution building blocks shared by Vi-ST, the baselines and the I3D prior network (reference
``nn.Conv3d`` versions): a low-level module (it imports only PyTorch), so that the models
(:mod:`vist.model`) and the frozen extractors (:mod:`vist.prior`) both build on it.

Tensors are ``[B, C, T, H, W]`` (channels, time, grid rows, grid columns) inside the models.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def time_padding(span: int, causal: bool) -> tuple[int, int]:
    """(frames padded before, after) for a temporal kernel covering ``span + 1`` frames.

    Causal: everything before, so output ``t`` sees inputs ``t − span … t``. Otherwise centred.
    """
    return (span, 0) if causal else (span // 2, span - span // 2)


class TimeConv3d(nn.Module):
    """``nn.Conv3d`` with zero padding in time that is causal (past only) or centred.

    Args:
        cin, cout: channels.
        kernel: ``(kt, kh, kw)`` in frames and grid cells.
        dilation: temporal dilation in frames.
        groups: as ``nn.Conv3d``.
        spatial_pad: zero padding on each side of H and W (0 = the grid shrinks by ``kh − 1``).
        causal: pad only the past.
        stride: spatial stride (time is never strided, so there is one output per frame).

    Shapes: ``[B, cin, T, H, W]`` → ``[B, cout, T, (H + 2p − kh) // s + 1, (W + 2p − kw) // s + 1]``.
    """

    def __init__(self, cin: int, cout: int, kernel: tuple[int, int, int], dilation: int = 1,
                 groups: int = 1, spatial_pad: int = 0, causal: bool = True, stride: int = 1) -> None:
        super().__init__()
        self.span = dilation * (kernel[0] - 1)
        self.causal = causal
        before, after = time_padding(self.span, causal)
        self.pad = (spatial_pad, spatial_pad, spatial_pad, spatial_pad, before, after)
        self.conv = nn.Conv3d(cin, cout, kernel, dilation=(dilation, 1, 1), groups=groups,
                              stride=(1, stride, stride))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, self.pad))


class TimeConv1d(nn.Module):
    """``nn.Conv1d`` over ``[B, C, T]`` with causal (past-only) or centred zero padding in time."""

    def __init__(self, cin: int, cout: int, kernel: int, dilation: int = 1, causal: bool = True) -> None:
        super().__init__()
        self.span = dilation * (kernel - 1)
        self.causal = causal
        self.pad = time_padding(self.span, causal)
        self.conv = nn.Conv1d(cin, cout, kernel, dilation=dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, self.pad))
