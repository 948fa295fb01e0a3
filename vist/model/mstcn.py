"""MS-TCN (Farha & Gall 2019) adapted to regress firing rates causally from per-frame features.

Each stage is a temporal convolutional network over ``[B, C, T]``: a 1×1 conv in, ``layers``
dilated residual layers (kernel 3, dilation 1, 2, 4, …; conv → ReLU → 1×1 → dropout, + input),
a 1×1 conv out. Stage 1 reads the features; every later stage refines the previous stage's rates
(the original passes class probabilities; here the rates themselves). With ``causal=True`` every
temporal conv pads only the past.

Features ``[B, T, P, D]`` (P patches of D dims, from DINOv2 or I3D) are first projected patch by
patch to ``patch_dim`` dims by one shared linear map and concatenated, so stage 1 sees a
``P·patch_dim``-dimensional vector per frame and keeps where in the image things happen.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from einops import rearrange
from torch import nn

from vist.layers import TimeConv1d


@dataclass(frozen=True)
class MSTCNConfig:
    """Sizes of :class:`MSTCN`.

    Attributes:
        feat_dim: feature dimension D per patch.
        patches: patches per frame P.
        cells: rates predicted.
        patch_dim: dims each patch is projected to before concatenation.
        stages: number of stages (Farha & Gall: 4).
        layers: dilated residual layers per stage (Farha & Gall: 10).
        channels: feature maps per layer (Farha & Gall: 64).
        dropout: dropout in each layer (Farha & Gall: 0.5).
        causal: temporal convs see only the past.
    """

    feat_dim: int = 1024
    patches: int = 256
    cells: int = 90
    patch_dim: int = 4
    stages: int = 4
    layers: int = 10
    channels: int = 64
    dropout: float = 0.5
    causal: bool = True

    @property
    def reach(self) -> int:
        """Frames before t each output depends on (causal), summed over stages."""
        return self.stages * 2 * (2 ** self.layers - 1)


class DilatedResidual1d(nn.Module):
    """``[B, C, T]`` → same: dilated conv (3) → ReLU → 1×1 → dropout, plus the input."""

    def __init__(self, channels: int, dilation: int, dropout: float, causal: bool) -> None:
        super().__init__()
        self.conv = TimeConv1d(channels, channels, 3, dilation=dilation, causal=causal)
        self.proj = nn.Conv1d(channels, channels, 1)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.drop(self.proj(torch.relu(self.conv(x))))


class TCNStage(nn.Module):
    """One MS-TCN stage: ``[B, cin, T]`` → ``[B, cout, T]``."""

    def __init__(self, cin: int, channels: int, cout: int, layers: int, dropout: float, causal: bool) -> None:
        super().__init__()
        self.inp = nn.Conv1d(cin, channels, 1)
        self.layers = nn.Sequential(*(DilatedResidual1d(channels, 2 ** i, dropout, causal) for i in range(layers)))
        self.out = nn.Conv1d(channels, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.layers(self.inp(x)))


class MSTCN(nn.Module):
    """Multi-stage TCN regressor: features ``[B, T, P, D]`` → rates ``[B, T, cells]``.

    ``forward(x, rf=None)`` accepts (and ignores) RF maps so every model is called alike;
    :meth:`stages_output` returns every stage's prediction (Farha & Gall train on all stages).
    """

    def __init__(self, config: MSTCNConfig | None = None) -> None:
        super().__init__()
        self.config = c = config or MSTCNConfig()
        self.patch_proj = nn.Linear(c.feat_dim, c.patch_dim)
        self.stages = nn.ModuleList(
            TCNStage(c.patches * c.patch_dim if i == 0 else c.cells, c.channels, c.cells, c.layers,
                     c.dropout, c.causal) for i in range(c.stages))

    def stages_output(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Every stage's rates, ``[B, T, cells]`` each, last = the prediction."""
        c = self.config
        if x.ndim != 4 or x.shape[2] != c.patches or x.shape[3] != c.feat_dim:
            raise ValueError(f"x: expected features [B, T, P={c.patches}, D={c.feat_dim}], found {tuple(x.shape)}")
        h = rearrange(self.patch_proj(x.to(self.patch_proj.weight.dtype)), "b t p k -> b (p k) t")
        outs = []
        for stage in self.stages:
            h = stage(h)
            outs.append(rearrange(h, "b c t -> b t c"))
        return outs

    def forward(self, x: torch.Tensor, rf: torch.Tensor | None = None) -> torch.Tensor:
        """Rates ``[B, T, cells]`` (spikes per bin) from features ``x [B, T, P, D]``; ``rf`` unused."""
        return self.stages_output(x)[-1]
