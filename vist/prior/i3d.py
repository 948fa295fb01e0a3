"""Per-frame features of the untrained, causal I3D architecture (:mod:`vist.prior.i3d_net`), cached
like the ViT prior's: ``uint8 [T, H, W]`` → ``float16 [T, g·g, 1024]`` with ``g = img_size / 32``.

The movie is processed in chunks with :attr:`I3D.reach` frames of overlap, which gives exactly the
features of one pass over the whole movie (the network is causal with a finite reach).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from einops import rearrange

from vist.cache import digest
from vist.env import resolve_device
from vist.prior.frames import check_frames, resize_frames
from vist.prior.i3d_net import I3D
from vist.prior.store import cached

I3D_VERSION = 1


class I3DPrior:
    """Untrained I3D-architecture features (labelled so): ``uint8 [T, H, W]`` → ``float16 [T, g·g, 1024]``.

    Args:
        img_size: input resolution (224 in the original; the small preset uses less).
        seed: seed of the random initialisation.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, …
        chunk: output frames per forward pass.
        cache: store and reuse features under ``$VIST_CACHE_DIR/features``.
    """

    kind = "i3d"
    trained = False

    def __init__(self, img_size: int = 224, seed: int = 0, device: str | torch.device = "auto",
                 chunk: int = 64, cache: bool = True) -> None:
        if img_size < 64:
            raise ValueError(f"img_size: expected at least 64 px, found {img_size}")
        self.img_size, self.seed, self.chunk, self.cache = img_size, seed, chunk, cache
        self.device = resolve_device(device)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = I3D()
        self.net = net.eval().requires_grad_(False).to(self.device)
        with torch.inference_mode():
            probe = self.net(torch.zeros(1, 3, 1, img_size, img_size, device=self.device))
        self.grid = int(probe.shape[-1])
        self.feat_dim = self.net.out_channels
        self.label = (f"I3D architecture, untrained (random init, seed {seed}; causal, time unstrided, "
                      f"{img_size} px → {self.grid}×{self.grid})")
        self.layer_name = "Mixed_5c"

    def __repr__(self) -> str:
        return f"I3DPrior({self.label}, {self.device})"

    def cache_key(self, frames: np.ndarray) -> dict:
        """What the features depend on: movie content, resolution, seed, torch version, code version."""
        return {"source": self.kind, "movie": digest(np.asarray(frames)), "img_size": self.img_size,
                "weights": f"random-init seed {self.seed}, torch {torch.__version__}",
                "version": I3D_VERSION}

    def features(self, frames: np.ndarray) -> np.ndarray:
        """``uint8 [T, H, W]`` → ``float16 [T, g·g, 1024]`` (memory map when cached), causal in time."""
        frames = check_frames(frames)
        n = int(frames.shape[0])
        shape = (n, self.grid * self.grid, self.feat_dim)
        reach = self.net.reach

        def compute() -> Iterator[tuple[slice, np.ndarray]]:
            for s in range(0, n, self.chunk):
                e = min(s + self.chunk, n)
                lo = max(0, s - reach)
                x = resize_frames(frames[lo:e], self.img_size, self.device) * 2 - 1
                x = rearrange(x, "t 1 h w -> 1 1 t h w").expand(-1, 3, -1, -1, -1)
                with torch.inference_mode():
                    y = self.net(x)[:, :, s - lo:]
                yield slice(s, e), rearrange(y, "1 d t p q -> t (p q) d").float().cpu().numpy()

        return cached(self.kind, lambda: self.cache_key(frames), shape, compute, self.label, self.cache)
