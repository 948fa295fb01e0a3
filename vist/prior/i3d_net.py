"""The I3D architecture (Carreira & Zisserman 2017: Inception-v1 inflated to 3D), as an untrained,
causal, per-frame video feature extractor for the I3D+MS-TCN baseline: the network behind
:class:`vist.prior.I3DPrior` (a frozen extractor is a prior, so it lives on the prior side).

I3D's Kinetics weights cannot be had here, so the network is a seeded random initialisation
(Kaiming-normal convs, BatchNorm in eval mode with unit statistics) and is labelled *untrained*.
Two changes make it a per-frame, causal extractor: every temporal kernel is padded only on the
past side, and time is never strided (the original strides time by 8 in total), so there is one
1024-d feature map per frame. Spatial layout and channel widths are the original's; Mixed_5c's
output grid is ``img_size / 32`` (7×7 at 224 px).

Shapes: ``[B, 3, T, S, S]`` in ``[-1, 1]`` → ``[B, 1024, T, S/32, S/32]``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vist.layers import TimeConv3d

# Inception-v1 widths: (1×1, 3×3 reduce, 3×3, "5×5" reduce, "5×5" (3×3 in I3D), pool proj)
MIXED = {
    "3b": (192, (64, 96, 128, 16, 32, 32)),
    "3c": (256, (128, 128, 192, 32, 96, 64)),
    "4b": (480, (192, 96, 208, 16, 48, 64)),
    "4c": (512, (160, 112, 224, 24, 64, 64)),
    "4d": (512, (128, 128, 256, 24, 64, 64)),
    "4e": (512, (112, 144, 288, 32, 64, 64)),
    "4f": (528, (256, 160, 320, 32, 128, 128)),
    "5b": (832, (256, 160, 320, 32, 128, 128)),
    "5c": (832, (384, 192, 384, 48, 128, 128)),
}


class Unit3d(nn.Module):
    """Conv3d (causal in time, 'same' in space) → BatchNorm3d → ReLU."""

    def __init__(self, cin: int, cout: int, kernel: tuple[int, int, int] = (1, 1, 1), stride: int = 1) -> None:
        super().__init__()
        self.conv = TimeConv3d(cin, cout, kernel, spatial_pad=kernel[1] // 2, stride=stride)
        self.conv.conv.bias = None
        self.bn = nn.BatchNorm3d(cout, eps=1e-3)
        nn.init.kaiming_normal_(self.conv.conv.weight, nonlinearity="relu")
        self.span = kernel[0] - 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.bn(self.conv(x)))


class CausalMaxPool3d(nn.Module):
    """Max pooling with past-only padding in time and 'same' padding in space (by −∞)."""

    def __init__(self, kernel: tuple[int, int, int], stride: int) -> None:
        super().__init__()
        kt, kh, _ = kernel
        self.pad = (kh // 2, kh // 2, kh // 2, kh // 2, kt - 1, 0) if kh > 2 else (0, 0, 0, 0, kt - 1, 0)
        self.pool = nn.MaxPool3d(kernel, stride=(1, stride, stride))
        self.span = kt - 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(F.pad(x, self.pad, value=float("-inf")))


class Mixed(nn.Module):
    """An inflated Inception block: four branches concatenated along channels."""

    def __init__(self, cin: int, widths: tuple[int, int, int, int, int, int]) -> None:
        super().__init__()
        a, b_red, b, c_red, c, d = widths
        self.b0 = Unit3d(cin, a)
        self.b1 = nn.Sequential(Unit3d(cin, b_red), Unit3d(b_red, b, (3, 3, 3)))
        self.b2 = nn.Sequential(Unit3d(cin, c_red), Unit3d(c_red, c, (3, 3, 3)))
        self.b3 = nn.Sequential(CausalMaxPool3d((3, 3, 3), 1), Unit3d(cin, d))
        self.out_channels = a + b + c + d
        self.span = 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.b0(x), self.b1(x), self.b2(x), self.b3(x)], dim=1)


class I3D(nn.Module):
    """Causal, time-unstrided I3D trunk up to Mixed_5c: ``[B, 3, T, S, S]`` → ``[B, 1024, T, S/32, S/32]``."""

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            Unit3d(3, 64, (7, 7, 7), stride=2),
            CausalMaxPool3d((1, 3, 3), 2),
            Unit3d(64, 64),
            Unit3d(64, 192, (3, 3, 3)),
            CausalMaxPool3d((1, 3, 3), 2),
        ]
        for name, (cin, widths) in MIXED.items():
            if name == "4b":
                layers.append(CausalMaxPool3d((3, 3, 3), 2))
            if name == "5b":
                layers.append(CausalMaxPool3d((2, 2, 2), 2))
            layers.append(Mixed(cin, widths))
        self.layers = nn.Sequential(*layers)
        self.out_channels = 1024
        self.reach = sum(m.span for m in self.layers)
        """Frames before t that the output at t depends on."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)
