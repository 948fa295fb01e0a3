"""Vi-ST (SPEC §3): causal 3D TCN → AdaLN-Zero RF conditioning → four CMST blocks → mapping.

This is the reference implementation, built from plain ``nn.Conv3d`` layers
(:class:`~vist.layers.TimeConv3d`); any faster implementation must match it. Layer sizes
follow the authors' code: at ``feat_dim=1024, cells=90`` the model has 1,702,952 parameters.

Inside the model tensors are ``[B, C, T, G, G]``; the interface is ``x [B, T, G·G, D]`` features,
``rf [B, cells, G, G]`` receptive-field coverage maps → ``[B, T, cells]`` rates (spikes per bin).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import torch
from einops import rearrange, reduce
from torch import nn

from vist.layers import TimeConv3d

PAPER_CMST_KERNELS: tuple[tuple[int, ...], ...] = ((1, 25), (1, 13, 21), (1, 7, 9), (1, 3, 5))
"""Temporal kernel sizes (frames) of the four CMST levels, from the poster's table."""


@dataclass(frozen=True)
class ViSTConfig:
    """Sizes and ablation switches of :class:`ViST`.

    Attributes:
        feat_dim: prior feature dimension D (1024 for ViT-L/14).
        cells: number of ganglion cells predicted.
        grid: patch grid side G (16 for 224 px and patch 14); the CMST levels shrink it by 2 each.
        video_dim: channels of the video feature extractor (256).
        video_layers: residual layers of the extractor (6: dilations 1…32).
        dropout: dropout of extractor and CMST branches (0.25).
        video_extractor: ``"causal"`` (paper), ``"noncausal"`` (centred dilated convs: the
            "replace the causal dilated 3D CNN" ablation) or ``"none"`` (one 1×1×1 conv D→cells:
            "remove the video extractor").
        condition: AdaLN-Zero conditioned on ``"rf"`` (population RF coverage, paper), on
            ``"video"`` (the extractor's own output) or ``"none"`` (block removed: "remove the RF
            mask").
        multiscale: ``"causal"`` CMST (paper), ``"noncausal"`` (centred temporal kernels:
            "replace the causal multiscale block") or ``"single"`` (each level keeps only its
            largest temporal kernel, causal: "remove multiscale kernels").
        cmst_kernels: temporal kernels per CMST level.
        readout: ``"linear"`` — per time step Linear(cells·g·g → cells) (paper) — or ``"mean"``:
            cell c's output is the mean of channel c over the final grid (no learned mapping:
            our reading of "remove spikes alignment").
    """

    feat_dim: int = 1024
    cells: int = 90
    grid: int = 16
    video_dim: int = 256
    video_layers: int = 6
    dropout: float = 0.25
    video_extractor: Literal["causal", "noncausal", "none"] = "causal"
    condition: Literal["rf", "video", "none"] = "rf"
    multiscale: Literal["causal", "noncausal", "single"] = "causal"
    cmst_kernels: tuple[tuple[int, ...], ...] = PAPER_CMST_KERNELS
    readout: Literal["linear", "mean"] = "linear"

    def __post_init__(self) -> None:
        choices = {"video_extractor": ("causal", "noncausal", "none"), "condition": ("rf", "video", "none"),
                   "multiscale": ("causal", "noncausal", "single"), "readout": ("linear", "mean")}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name}: expected one of {allowed}, found {getattr(self, name)!r}")
        for name in ("feat_dim", "cells", "video_dim"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name}: expected a positive integer, found {getattr(self, name)}")
        if self.grid - 2 * len(self.cmst_kernels) < 1:
            raise ValueError(f"grid: {len(self.cmst_kernels)} CMST levels shrink the grid by 2 each; "
                             f"expected grid > {2 * len(self.cmst_kernels)}, found {self.grid}")
        if any(not ks or min(ks) < 1 for ks in self.cmst_kernels):
            raise ValueError(f"cmst_kernels: expected non-empty tuples of positive sizes, found {self.cmst_kernels}")

    @property
    def causal(self) -> bool:
        """Whether the output at frame t depends only on inputs up to t (in eval mode)."""
        return self.video_extractor != "noncausal" and self.multiscale != "noncausal"

    @property
    def out_grid(self) -> int:
        """Grid side after the CMST levels (16 → 8)."""
        return self.grid - 2 * len(self.cmst_kernels)

    def level_kernels(self) -> tuple[tuple[int, ...], ...]:
        """The temporal kernels each CMST level actually uses (``"single"`` keeps the largest)."""
        if self.multiscale == "single":
            return tuple((max(ks),) for ks in self.cmst_kernels)
        return self.cmst_kernels

    def to_dict(self) -> dict:
        """JSON-serialisable form (for checkpoints and cache keys)."""
        return asdict(self)


class DilatedResidual3d(nn.Module):
    """One extractor layer: depthwise (3,3,3) conv, time dilation d → BN → ReLU → 1×1×1 → dropout, + input.

    Shapes: ``[B, C, T, G, G]`` → same.
    """

    def __init__(self, channels: int, dilation: int, dropout: float, causal: bool) -> None:
        super().__init__()
        self.conv = TimeConv3d(channels, channels, (3, 3, 3), dilation=dilation, groups=channels,
                               spatial_pad=1, causal=causal)
        self.norm = nn.BatchNorm3d(channels)
        self.proj = nn.Conv3d(channels, channels, 1)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.drop(self.proj(torch.relu(self.norm(self.conv(x)))))


class VideoExtractor(nn.Module):
    """The (causal) dilated 3D TCN: ``[B, D, T, G, G]`` → ``[B, cells, T, G, G]``.

    1×1×1 conv D→C, ``layers`` residual layers with time dilations 1, 2, 4, …, 1×1×1 conv C→cells.
    With ``mode="none"`` a single 1×1×1 conv D→cells replaces it all.
    """

    def __init__(self, feat_dim: int, channels: int, cells: int, layers: int, dropout: float,
                 mode: str = "causal") -> None:
        super().__init__()
        self.mode = mode
        if mode == "none":
            self.inp = nn.Conv3d(feat_dim, cells, 1)
            self.layers = nn.ModuleList()
            self.out = nn.Identity()
        else:
            self.inp = nn.Conv3d(feat_dim, channels, 1)
            self.layers = nn.ModuleList(DilatedResidual3d(channels, 2 ** i, dropout, mode == "causal")
                                        for i in range(layers))
            self.out = nn.Conv3d(channels, cells, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.inp(x)
        for layer in self.layers:
            h = layer(h)
        return self.out(h)


class AdaLNZero3d(nn.Module):
    """AdaLN-Zero: ``h + gate·conv(SiLU(h·(1+scale) + shift))``, (shift, scale, gate) from ``cond``.

    The modulation conv starts at zero, so the block starts as the identity.
    Shapes: ``h [B, C, T, G, G]``, ``cond [B, C, T or 1, G, G]`` → ``[B, C, T, G, G]``.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.modulation = nn.Sequential(nn.SiLU(), nn.Conv3d(channels, 3 * channels, 1))
        self.net = nn.Sequential(nn.SiLU(), nn.Conv3d(channels, channels, 1))
        nn.init.zeros_(self.modulation[1].weight)
        nn.init.zeros_(self.modulation[1].bias)
        nn.init.normal_(self.net[1].weight, 0.0, 0.02)
        nn.init.zeros_(self.net[1].bias)

    def forward(self, h: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        shift, scale, gate = self.modulation(cond).chunk(3, dim=1)
        return h + gate * self.net(h * (1 + scale) + shift)


class CMSTBlock(nn.Module):
    """Causal multiscale spatio-temporal block: ``[B, C, T, g, g]`` → ``[B, C, T, g−2, g−2]``.

    One branch per temporal kernel w: conv (w,3,3) without spatial padding — grouped per cell for
    w > 1, full across cells for w = 1 — → LeakyReLU(0.1) → Dropout3d; the branches are summed and
    mixed by a 1×1×1 conv; a residual path averages (1,3,3) neighbourhoods of a 1×1×1 conv of the input.
    """

    def __init__(self, channels: int, kernels: tuple[int, ...], dropout: float, causal: bool) -> None:
        super().__init__()
        self.kernels = tuple(kernels)
        self.branches = nn.ModuleList(
            nn.Sequential(TimeConv3d(channels, channels, (w, 3, 3), groups=channels if w > 1 else 1,
                                     causal=causal),
                          nn.LeakyReLU(0.1), nn.Dropout3d(dropout))
            for w in self.kernels)
        self.mix = nn.Conv3d(channels, channels, 1)
        self.skip = nn.Conv3d(channels, channels, 1)
        self.pool = nn.AvgPool3d((1, 3, 3), stride=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = sum(branch(x) for branch in self.branches)
        return self.mix(branches) + self.pool(self.skip(x))


class ViST(nn.Module):
    """Vi-ST: ``x [B, T, G·G, D]`` prior features + ``rf [B, cells, G, G]`` → ``[B, T, cells]`` rates.

    ``rf`` may also be ``[cells, G, G]`` (the same maps for every batch item). Causal
    configurations (:attr:`ViSTConfig.causal`) are causal in eval mode; in training mode BatchNorm
    normalises with statistics over the whole batch and window, as in any BatchNorm network.
    """

    def __init__(self, config: ViSTConfig | None = None) -> None:
        super().__init__()
        self.config = c = config or ViSTConfig()
        self.video = VideoExtractor(c.feat_dim, c.video_dim, c.cells, c.video_layers, c.dropout,
                                    c.video_extractor)
        self.adaln = AdaLNZero3d(c.cells) if c.condition != "none" else None
        causal_ms = c.multiscale != "noncausal"
        self.cmst = nn.ModuleList(CMSTBlock(c.cells, ks, c.dropout, causal_ms) for ks in c.level_kernels())
        self.readout = nn.Linear(c.cells * c.out_grid ** 2, c.cells) if c.readout == "linear" else None

    def check_inputs(self, x: torch.Tensor, rf: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Validate shapes; return ``x`` and ``rf [B, cells, G, G]`` in the model's dtype.

        Raises:
            ValueError: naming the expected and the found shape.
        """
        c = self.config
        if not torch.is_tensor(x) or x.ndim != 4:
            raise ValueError(f"x: expected features [B, T, G·G={c.grid ** 2}, D={c.feat_dim}], found "
                             f"{'shape ' + str(tuple(x.shape)) if torch.is_tensor(x) else type(x).__name__}")
        if x.shape[2] != c.grid ** 2 or x.shape[3] != c.feat_dim:
            raise ValueError(f"x: expected [B, T, {c.grid ** 2} patches ({c.grid}×{c.grid}), D={c.feat_dim}], "
                             f"found {tuple(x.shape)}")
        if not x.is_floating_point():
            raise ValueError(f"x: expected floating-point features, found {x.dtype}")
        if not torch.is_tensor(rf) or rf.ndim not in (3, 4):
            raise ValueError(f"rf: expected RF maps [B, cells, {c.grid}, {c.grid}] or [cells, {c.grid}, {c.grid}], "
                             f"found {'shape ' + str(tuple(rf.shape)) if torch.is_tensor(rf) else type(rf).__name__}")
        if tuple(rf.shape[-2:]) != (c.grid, c.grid):
            raise ValueError(f"rf: expected maps on the {c.grid}×{c.grid} patch grid, found "
                             f"{tuple(rf.shape[-2:])} (rf shape {tuple(rf.shape)}); build them with "
                             f"vist.data.rf_to_grid(..., grid={c.grid})")
        if rf.shape[-3] != c.cells:
            raise ValueError(f"rf: the model predicts {c.cells} cells but rf holds {rf.shape[-3]} maps "
                             f"(rf shape {tuple(rf.shape)})")
        if rf.ndim == 3:
            rf = rf.unsqueeze(0).expand(x.shape[0], -1, -1, -1)
        if rf.shape[0] != x.shape[0]:
            raise ValueError(f"rf: expected batch {x.shape[0]} like x, found {rf.shape[0]}")
        dtype = self.video.inp.weight.dtype
        if not torch.is_autocast_enabled(x.device.type):  # under autocast the convs cast themselves
            x = x.to(dtype)
        return x, rf.to(device=x.device, dtype=dtype)

    def forward(self, x: torch.Tensor, rf: torch.Tensor) -> torch.Tensor:
        """Predicted rates ``[B, T, cells]`` (spikes per frame bin) from ``x [B, T, G·G, D]``, ``rf``."""
        c = self.config
        x, rf = self.check_inputs(x, rf)
        h = self.video(rearrange(x, "b t (p q) d -> b d t p q", p=c.grid))
        if self.adaln is not None:
            if c.condition == "rf":
                # population coverage Σ_c rf_c, identical for every channel and (pointwise conv) time
                cond = rf.sum(1)[:, None, None].expand(-1, c.cells, 1, -1, -1)
            else:
                cond = h
            h = self.adaln(h, cond)
        for block in self.cmst:
            h = block(h)
        if self.readout is None:
            return reduce(h, "b c t p q -> b t c", "mean")
        return self.readout(rearrange(h, "b c t p q -> b t (c p q)"))


def temporal_reach(config: ViSTConfig) -> list[dict]:
    """Frames of input each stage's output depends on, cumulatively, before and after t.

    Returns one row per stage: ``stage``, ``past`` (frames before t), ``future`` (frames after t)
    and ``window`` (= past + 1 + future frames).
    """
    rows, past, future = [], 0, 0

    def add(stage: str, span: int, causal: bool) -> None:
        nonlocal past, future
        past += span if causal else span // 2
        future += 0 if causal else span - span // 2
        rows.append({"stage": stage, "past": past, "future": future, "window": past + 1 + future})

    if config.video_extractor == "none":
        add("video extractor (1×1×1)", 0, True)
    else:
        for i in range(config.video_layers):
            add(f"TCN layer {i} (dilation {2 ** i})", 2 * 2 ** i, config.video_extractor == "causal")
    if config.condition != "none":
        add("AdaLN-Zero", 0, True)
    for i, ks in enumerate(config.level_kernels()):
        add(f"CMST level {i + 1} {tuple(ks)}", max(ks) - 1, config.multiscale != "noncausal")
    return rows

