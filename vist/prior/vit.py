"""The frozen DINOv2 prior: patch features of one block of a timm ViT (SPEC §2).

Nothing is downloaded: the backbone is always built with ``pretrained=False`` and either loaded
from a local weights file or left at a seeded random initialisation, which every label calls
*untrained*.

Untrained LayerScale. timm initialises DINOv2's LayerScale factors at 1e-5, so in a randomly
initialised DINOv2 every residual branch is scaled by 1e-5: each block is almost the identity and
the features of any block are almost exactly the (normalised) patch embedding. An "untrained
DINOv2" at L−1 would then be an untrained *linear patch embedding*, not a deep random network.
We set LayerScale to 1.0 for random initialisations by default (``untrained_layerscale=1.0``), so
the untrained prior is a genuinely deep random ViT whose depth matters; ``untrained_layerscale=None``
keeps timm's 1e-5. Trained weights always keep the LayerScale values stored in the file.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file
from torch import nn

from vist.cache import digest
from vist.env import bf16_supported, resolve_device
from vist.prior.frames import check_frames, imagenet_input
from vist.prior.store import cached
from vist.progress import progress

BACKBONES: dict[str, tuple[str, int, int]] = {
    "vit_small_patch14_dinov2": ("ViT-S/14", 384, 12),
    "vit_base_patch14_dinov2": ("ViT-B/14", 768, 12),
    "vit_large_patch14_dinov2": ("ViT-L/14", 1024, 24),
    "vit_giant_patch14_dinov2": ("ViT-g/14", 1536, 40),
}
"""timm name → (short name, feature dimension D, number of blocks L)."""

PATCH = 14
TIMM_LAYERSCALE_INIT = 1e-5


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 24), b""):
            h.update(block)
    return h.hexdigest()


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a weights file, read safely (safetensors, or ``torch.load`` with
    ``weights_only=True``: nothing in the file is executed) and checked to be finite.

    Raises:
        ValueError: the file cannot be read (empty, truncated, a bad header, not plain tensors),
            holds something else than name → tensor, or a tensor holds NaN or ±inf (named).
    """
    if path.suffix == ".safetensors":
        try:
            sd = load_file(str(path), device="cpu")
        except Exception as err:  # safetensors raises SafetensorError (and OSError) for bad files
            raise ValueError(f"weights file {path}: expected a safetensors file, could not read it "
                             f"({type(err).__name__}: {err}; {path.stat().st_size} bytes): the file is "
                             "empty, truncated or damaged") from err
    else:
        try:
            sd = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # RuntimeError/EOFError (truncated, empty), UnpicklingError (not plain data)
            first = str(err).strip().splitlines()[0] if str(err).strip() else ""
            raise ValueError(f"weights file {path}: expected a PyTorch checkpoint of plain tensors, could "
                             f"not read it ({type(err).__name__}: {first[:300]}; {path.stat().st_size} "
                             "bytes): the file is empty, truncated, damaged, or holds other objects") from err
        for wrapper in ("model", "state_dict", "teacher"):
            if isinstance(sd, dict) and wrapper in sd and isinstance(sd[wrapper], dict):
                sd = sd[wrapper]
    if not isinstance(sd, dict):
        raise ValueError(f"{path}: expected a state dict (name → tensor), found {type(sd).__name__}")
    others = [k for k, v in sd.items() if not isinstance(v, torch.Tensor)]
    if others:
        raise ValueError(f"weights file {path}: expected a state dict of tensors, found non-tensor entries "
                         f"{others[:5]}")
    for k, v in sd.items():
        if v.is_floating_point() or v.is_complex():
            bad = int((~torch.isfinite(v)).sum())
            if bad:
                raise ValueError(f"weights file {path}: tensor {k!r} (shape {list(v.shape)}) holds {bad} NaN "
                                 "or infinite values; refusing it (the prior would compute NaN features)")
    return sd


def _describe_checkpoint(sd: dict[str, torch.Tensor]) -> tuple[int | None, int | None, int | None]:
    """(embedding dim, number of blocks, patch size) of a ViT state dict, ``None`` where unknown."""
    dim = patch = None
    for k, v in sd.items():
        if k.endswith("patch_embed.proj.weight") and v.ndim == 4:
            dim, patch = int(v.shape[0]), int(v.shape[-1])
            break
    blocks = {int(m.group(1)) for k in sd if (m := re.search(r"blocks\.(?:\d+\.)*?(\d+)\.norm1\.weight$", k))}
    return dim, (max(blocks) + 1 if blocks else None), patch


def load_weights(model: nn.Module, path: str | Path, backbone: str) -> str:
    """Load a DINOv2 checkpoint file into ``model`` (offline, safely); return its SHA-256.

    Accepts the official DINOv2 release files (``dinov2_vit*14_pretrain.pth``) and timm/Hugging
    Face cache files (``model.safetensors``, ``pytorch_model.bin``); the position embedding is
    resampled to the model's grid by timm's checkpoint filter.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file cannot be read (empty, truncated, a bad header), holds NaN or infinite
            values (the tensor is named), another architecture than ``backbone``, or a tensor of
            the wrong shape (named, with the expected and found shapes).
    """
    from timm.models.vision_transformer import checkpoint_filter_fn  # lazy: timm, seconds to import

    path = Path(path).expanduser()
    short, want_dim, want_depth = BACKBONES[backbone]
    if not path.is_file():
        raise FileNotFoundError(
            f"weights file {path} for backbone {backbone} ({short}) not found. Nothing is downloaded "
            "here: copy the official DINOv2 release file (e.g. dinov2_vitl14_pretrain.pth) or timm's "
            f"model.safetensors for {backbone} onto this machine and pass its path, or pass "
            "weights=None for an untrained (random) prior.")
    sd = _read_state_dict(path)
    dim, depth, patch = _describe_checkpoint(sd)
    if (dim, depth, patch) != (want_dim, want_depth, PATCH):
        guess = [n for n, (_, d, L) in BACKBONES.items() if (d, L) == (dim, depth)]
        hint = f"pass backbone={guess[0]!r} to use it" if guess and patch == PATCH else \
            f"use a {short} checkpoint"
        raise ValueError(
            f"weights file {path} does not fit backbone {backbone} ({short}: D={want_dim}, "
            f"{want_depth} blocks, patch {PATCH}); it holds D={dim}, {depth} blocks, patch {patch}: {hint}.")
    sd = checkpoint_filter_fn(sd, model)
    want = model.state_dict()
    wrong = [(k, list(v.shape), list(want[k].shape)) for k, v in sd.items()
             if k in want and v.shape != want[k].shape]
    if wrong:
        k, found, expected = wrong[0]
        more = f" (and {len(wrong) - 1} more: {[w[0] for w in wrong[1:4]]})" if len(wrong) > 1 else ""
        raise ValueError(f"weights file {path} does not fit backbone {backbone} ({short}): tensor {k!r} has "
                         f"shape {found}, expected {expected}{more}")
    missing, unexpected = model.load_state_dict(sd, strict=False)
    missing = [k for k in missing if not k.startswith("head")]
    unexpected = [k for k in unexpected if not k.startswith("head")]
    if missing or unexpected:
        raise ValueError(f"weights file {path} does not fit backbone {backbone} ({short}): "
                         f"missing {missing[:5]}, unexpected {unexpected[:5]}; use a plain DINOv2 "
                         "checkpoint (without registers) of the same size")
    return _file_sha256(path)


class ViTPrior:
    """Frozen DINOv2 patch features of one block: ``uint8 [T, H, W]`` → ``float16 [T, G·G, D]``.

    Args:
        backbone: a timm DINOv2 name (:data:`BACKBONES`); the paper used ViT-L/14.
        layer: the block, as ``L−n`` written ``-n`` (``-1`` = last block) or a 0-based index.
        weights: a local checkpoint file, or ``None`` for a seeded random (untrained) network.
        img_size: input resolution in pixels (multiple of 14); 224 → a 16×16 patch grid.
        seed: seed of the random initialisation (only with ``weights=None``).
        untrained_layerscale: LayerScale of a random initialisation (1.0, see the module notes;
            ``None`` keeps timm's 1e-5).
        device: ``"auto"`` (CUDA if present), ``"cpu"``, ``"cuda"``, …
        precision: ``"auto"`` (bf16 autocast where the device supports it natively), ``"bf16"``
            or ``"fp32"``.
        batch_size: frames per forward pass (default 64 on CUDA, 32 on CPU).
        cache: store and reuse features under ``$VIST_CACHE_DIR/features``.
        progress: show a progress bar (``None``: for movies longer than four batches).

    The features of a block are its output tokens after DINOv2's final LayerNorm (as DINOv2's own
    ``get_intermediate_layers(norm=True)``), class token dropped, patches in row-major order.
    """

    kind = "dinov2"

    def __init__(self, backbone: str = "vit_large_patch14_dinov2", layer: int = -1,
                 weights: str | Path | None = None, img_size: int = 224, seed: int = 0,
                 untrained_layerscale: float | None = 1.0, device: str | torch.device = "auto",
                 precision: str = "auto", batch_size: int | None = None, cache: bool = True,
                 progress: bool | None = None) -> None:
        import timm  # lazy: timm takes seconds to import, only a ViT needs it

        if backbone not in BACKBONES:
            raise ValueError(f"backbone: expected one of {list(BACKBONES)}, found {backbone!r}")
        if img_size % PATCH or img_size < PATCH:
            raise ValueError(f"img_size: expected a positive multiple of {PATCH}, found {img_size}")
        short, dim, depth = BACKBONES[backbone]
        if not -depth <= layer < depth:
            raise ValueError(f"layer: {backbone} has {depth} blocks, expected -{depth}..-1 (L−n) or "
                             f"0..{depth - 1}, found {layer}")
        if precision not in ("auto", "bf16", "fp32"):
            raise ValueError(f"precision: expected 'auto', 'bf16' or 'fp32', found {precision!r}")
        self.backbone, self.short_name, self.feat_dim, self.depth = backbone, short, dim, depth
        self.block = layer % depth
        self.layer = self.block - depth  # always reported as L−n
        self.img_size, self.grid = img_size, img_size // PATCH
        self.device = resolve_device(device)
        if precision == "auto":
            precision = "bf16" if bf16_supported(self.device) else "fp32"
        self.precision = precision
        self.batch_size = batch_size or (64 if self.device.type == "cuda" else 32)
        self.cache, self.progress = cache, progress
        self.seed = seed

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = timm.create_model(backbone, pretrained=False, img_size=img_size, num_classes=0)
        if weights is None:
            self.trained = False
            if untrained_layerscale is not None:
                for blk in model.blocks:
                    for ls in (blk.ls1, blk.ls2):
                        nn.init.constant_(ls.gamma, float(untrained_layerscale))
            ls_value = TIMM_LAYERSCALE_INIT if untrained_layerscale is None else float(untrained_layerscale)
            ls_text = f"LayerScale={ls_value:g}" + (" (timm default)" if untrained_layerscale is None else "")
            self.weights_id = f"random-init seed {seed}, {ls_text}, timm {timm.__version__}"
            self.label = f"DINOv2 {short}, untrained (random init, seed {seed}, {ls_text})"
        else:
            sha = load_weights(model, weights, backbone)
            self.trained = True
            self.weights_id = f"sha256:{sha}"
            self.label = f"DINOv2 {short} ({Path(weights).name}, sha256 {sha[:10]})"
        self.model = model.eval().requires_grad_(False).to(self.device)

    def __repr__(self) -> str:
        return (f"ViTPrior({self.label}, layer L{self.layer}, {self.img_size} px → "
                f"{self.grid}×{self.grid}×{self.feat_dim}, {self.device}, {self.precision})")

    @property
    def layer_name(self) -> str:
        """The block in the paper's notation, e.g. ``"L-1"`` for the last."""
        return f"L{self.layer}"

    def cache_key(self, frames: np.ndarray) -> dict:
        """What the features depend on: movie content, backbone, weights, block, resolution, precision."""
        return {"source": self.kind, "movie": digest(np.asarray(frames)), "backbone": self.backbone,
                "weights": self.weights_id, "block": self.block, "depth": self.depth,
                "img_size": self.img_size, "precision": self.precision}

    def _forward(self, x: torch.Tensor, blocks: Sequence[int]) -> dict[int, torch.Tensor]:
        """``[B, 3, S, S]`` normalised images → {block: ``[B, G·G, D]``} after the final norm,
        through timm's public ``forward_intermediates`` (stopping after the deepest block asked for)."""
        order = sorted(set(blocks))
        outs = self.model.forward_intermediates(x, indices=order, norm=True, stop_early=True,
                                                output_fmt="NLC", intermediates_only=True)
        return dict(zip(order, outs, strict=True))

    def _batches(self, frames: np.ndarray | torch.Tensor, blocks: Sequence[int]
                 ) -> Iterator[tuple[slice, dict[int, torch.Tensor]]]:
        """Yield ``(frame slice, {block: float16 CPU tensor [b, G·G, D]})`` batch by batch.

        On CUDA the copy of batch i to (pinned) host memory runs on a side stream while batch
        i + 1 computes. Yielded tensors are reused two batches later: consumers copy them at once.
        """
        n = frames.shape[0]
        show = self.progress if self.progress is not None else n > 4 * self.batch_size
        autocast = torch.autocast(self.device.type, dtype=torch.bfloat16,
                                  enabled=self.precision == "bf16")
        cuda = self.device.type == "cuda"
        copy_stream = torch.cuda.Stream(self.device) if cuda else None
        buffers: list[dict[int, torch.Tensor]] = []
        pending = None
        for i, s in enumerate(progress(range(0, n, self.batch_size), show=show, unit="batch",
                                       desc=f"{self.short_name} L{self.layer}", mininterval=30.0)):
            sl = slice(s, min(s + self.batch_size, n))
            x = imagenet_input(frames[sl], self.img_size, self.device)
            with torch.inference_mode(), autocast:
                out = {b: o.to(torch.float16) for b, o in self._forward(x, blocks).items()}
            if not cuda:
                yield sl, out
                continue
            if len(buffers) < 2:
                buffers.append({b: torch.empty((self.batch_size, *o.shape[1:]), dtype=torch.float16,
                                               pin_memory=True) for b, o in out.items()})
            host = {b: buf[: sl.stop - sl.start] for b, buf in buffers[i % 2].items()}
            copy_stream.wait_stream(torch.cuda.current_stream(self.device))
            with torch.cuda.stream(copy_stream):
                for b, o in out.items():
                    host[b].copy_(o, non_blocking=True)
                    o.record_stream(copy_stream)
                done = torch.cuda.Event()
                done.record(copy_stream)
            if pending is not None:
                pending[2].synchronize()
                yield pending[0], pending[1]
            pending = (sl, host, done)
        if pending is not None:
            pending[2].synchronize()
            yield pending[0], pending[1]

    def features(self, frames: np.ndarray) -> np.ndarray:
        """Patch features of the chosen block for every frame.

        Args:
            frames: ``uint8 [T, H, W]`` movie.

        Returns:
            ``float16 [T, G·G, D]`` (a read-only memory map when cached), patches row-major.
        """
        frames = check_frames(frames)
        shape = (int(frames.shape[0]), self.grid * self.grid, self.feat_dim)

        def compute() -> Iterator[tuple[slice, np.ndarray]]:
            for sl, out in self._batches(frames, [self.block]):
                yield sl, out[self.block].numpy()

        return cached(self.kind, lambda: self.cache_key(frames), shape, compute, self.label, self.cache)

    def layer_features(self, frames: np.ndarray, layers: Sequence[int]) -> dict[int, np.ndarray]:
        """Features of several blocks at once, uncached (for analyses over a few frames).

        Args:
            frames: ``uint8 [T, H, W]``.
            layers: blocks in L−n (negative) or 0-based notation.

        Returns:
            {layer as given: ``float32 [T, G·G, D]``}.
        """
        frames = check_frames(frames)
        for layer in layers:
            if not -self.depth <= layer < self.depth:
                raise ValueError(f"layers: {self.backbone} has {self.depth} blocks, found {layer}")
        blocks = {layer: layer % self.depth for layer in layers}
        parts: dict[int, list[np.ndarray]] = {layer: [] for layer in layers}
        for _, out in self._batches(frames, sorted(set(blocks.values()))):
            for layer, b in blocks.items():
                parts[layer].append(out[b].float().cpu().numpy())
        return {layer: np.concatenate(p) for layer, p in parts.items()}
