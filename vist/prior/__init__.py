"""Frozen feature priors: what the model sees of each frame, on a grid of patches.

Every prior has ``.features(frames uint8 [T, H, W]) → float16 [T, G·G, D]``, ``.label`` (which
says *untrained* for random weights), ``.grid``, ``.feat_dim`` and ``.kind``; features are cached
per movie content and settings (:mod:`vist.prior.store`).

* :class:`ViTPrior` — DINOv2 (timm) patch features of one block (the paper's prior);
* :class:`PixelPrior` — raw patch luminance (the "remove DINOv2 prior" ablation);
* :class:`I3DPrior` — an untrained, causal I3D-architecture extractor (the I3D+MS-TCN baseline),
  whose network is :mod:`vist.prior.i3d_net`.

May import: vist.cache, vist.env, vist.layers, vist.presets, vist.progress (never vist.model:
the models build on the priors).
"""

from __future__ import annotations

from pathlib import Path

import torch

from vist.presets import get_preset
from vist.prior.frames import check_frames, imagenet_input
from vist.prior.i3d import I3DPrior
from vist.prior.pixels import PixelPrior
from vist.prior.vit import BACKBONES, ViTPrior, load_weights

Prior = ViTPrior | PixelPrior | I3DPrior

__all__ = ["BACKBONES", "I3DPrior", "PixelPrior", "Prior", "ViTPrior", "check_frames",
           "imagenet_input", "load_weights", "make_prior"]


def make_prior(kind: str = "dinov2", preset: str = "auto", device: str | torch.device = "auto",
               backbone: str | None = None, layer: int | None = None,
               weights: str | Path | None = None, seed: int = 0, **options) -> Prior:
    """The prior ``kind`` (``"dinov2"``, ``"pixels"`` or ``"i3d"``) with the preset's settings.

    ``backbone``/``layer`` = ``None`` take the preset's (:mod:`vist.presets`); ``options`` go to
    the prior's constructor (e.g. ``cache=False``, ``untrained_layerscale=None``).
    """
    p = get_preset(preset, device).prior
    if kind == "dinov2":
        return ViTPrior(backbone or p.backbone, p.layer if layer is None else layer, weights,
                        p.img_size, seed=seed, device=device, **options)
    if kind == "pixels":
        return PixelPrior(p.img_size, **options)
    if kind == "i3d":
        return I3DPrior(p.i3d_img_size, seed=seed, device=device, **options)
    raise ValueError(f"kind: expected 'dinov2', 'pixels' or 'i3d', found {kind!r}")
