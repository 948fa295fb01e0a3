"""Presets: named settings for the whole pipeline (SPEC §7).

``"paper"`` is the authors' setting; ``"small"`` is sized so the whole book executes on 2 CPU
cores within the CI budget; ``"auto"`` is ``"paper"`` on CUDA and ``"small"`` otherwise.
Each part of the pipeline has its own settings class in :class:`Preset` (only the prior so far);
later parts add a field.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from vist.env import resolve_device


@dataclass(frozen=True)
class PriorSettings:
    """Which feature extractor a preset uses.

    Attributes:
        backbone: timm DINOv2 name.
        img_size: ViT input resolution in pixels (224 → a 16×16 patch grid).
        layer: block in L−n notation (−1 = last).
        i3d_img_size: input resolution of the untrained I3D baseline extractor.
    """

    backbone: str = "vit_large_patch14_dinov2"
    img_size: int = 224
    layer: int = -1
    i3d_img_size: int = 224


@dataclass(frozen=True)
class Preset:
    """A named bundle of settings (one field per part of the pipeline)."""

    name: str
    prior: PriorSettings = field(default_factory=PriorSettings)


PRESETS: dict[str, Preset] = {
    # the paper: DINOv2 ViT-L/14 at 224 px, last block (ref)
    "paper": Preset("paper", PriorSettings("vit_large_patch14_dinov2", 224, -1, 224)),
    # 2 CPU cores: ViT-S/14 at 140 px, a 10×10 patch grid (the CMST levels shrink it to 2×2),
    # read at block L−4 (9 of 12 blocks): about 2.5× fewer patches for the prior and for every
    # layer of the models than at 224 px (16×16), so that each model can train to its plateau
    "small": Preset("small", PriorSettings("vit_small_patch14_dinov2", 140, -4, 112)),
}


def get_preset(preset: str | Preset = "auto", device: str | torch.device | None = "auto") -> Preset:
    """The preset named ``preset`` (``"auto"`` → ``"paper"`` when ``device`` resolves to CUDA, else ``"small"``).

    Raises:
        ValueError: unknown name.
    """
    if isinstance(preset, Preset):
        return preset
    if preset == "auto":
        preset = "paper" if resolve_device(device).type == "cuda" else "small"
    if preset not in PRESETS:
        raise ValueError(f"preset: expected 'auto' or one of {list(PRESETS)}, found {preset!r}")
    return PRESETS[preset]
