"""The "pixels" prior: the patch grid's raw luminance, no ViT (the "remove DINOv2 prior" ablation).

Each frame is resized exactly as for the ViT (``img_size`` pixels, antialiased), centred and
scaled by the ImageNet grey statistics, and cut into the same ``patch × patch`` grid; a patch's
feature vector is its ``patch²`` pixel values. The model downstream sees the same grid and the
same information a ViT's patch embedding sees, minus any learned representation.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from einops import rearrange

from vist.cache import digest
from vist.prior.frames import check_frames, gray_input
from vist.prior.store import cached


class PixelPrior:
    """Patch luminance features: ``uint8 [T, H, W]`` → ``float16 [T, G·G, patch²]``.

    Args:
        img_size: resolution in pixels (multiple of ``patch``); 224 → 16×16 patches.
        patch: patch side in pixels (14, as DINOv2).
        cache: store and reuse features (cheap to compute; caching keeps the interface uniform).
        batch_size: frames per step.
    """

    kind = "pixels"
    trained = False

    def __init__(self, img_size: int = 224, patch: int = 14, cache: bool = True,
                 batch_size: int = 256) -> None:
        if img_size % patch or img_size < patch:
            raise ValueError(f"img_size: expected a positive multiple of patch={patch}, found {img_size}")
        self.img_size, self.patch, self.grid = img_size, patch, img_size // patch
        self.feat_dim = patch * patch
        self.cache, self.batch_size = cache, batch_size
        self.label = f"pixels (patch luminance, {self.grid}×{self.grid} patches of {patch}×{patch} px, no ViT)"
        self.layer_name = "pixels"

    def __repr__(self) -> str:
        return f"PixelPrior({self.label})"

    def cache_key(self, frames: np.ndarray) -> dict:
        """What the features depend on: movie content, resolution and patch size."""
        return {"source": self.kind, "movie": digest(np.asarray(frames)), "img_size": self.img_size,
                "patch": self.patch}

    def features(self, frames: np.ndarray) -> np.ndarray:
        """``uint8 [T, H, W]`` → ``float16 [T, G·G, patch²]``, patches row-major, pixels row-major."""
        frames = check_frames(frames)
        shape = (int(frames.shape[0]), self.grid * self.grid, self.feat_dim)

        def compute() -> Iterator[tuple[slice, np.ndarray]]:
            for s in range(0, shape[0], self.batch_size):
                sl = slice(s, min(s + self.batch_size, shape[0]))
                with torch.inference_mode():
                    x = gray_input(frames[sl], self.img_size)
                    x = rearrange(x, "t (p a) (q b) -> t (p q) (a b)", a=self.patch, b=self.patch)
                yield sl, x.numpy()

        return cached(self.kind, lambda: self.cache_key(frames), shape, compute, self.label, self.cache)
