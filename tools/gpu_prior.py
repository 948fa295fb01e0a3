#!/usr/bin/env python
"""GPU checks for issue 4 (run on a CUDA machine, < 3 min): prior speed and Vi-ST step cost.

1. DINOv2 ViT-L/14 (random weights, 224 px → 16×16, last block) feature extraction through
   ``vist.prior.ViTPrior``, bf16 autocast, batch 64: frames/s end to end (uint8 frames on the host
   → preprocessing on the GPU → float16 features on the host) and for the backbone forward alone.
   Target ≥ 2,000 frames/s (2,033 measured on one H200 with timm, SPEC §7).
2. The Vi-ST reference implementation (``vist.model.ViST``, plain ``nn.Conv3d``) at the paper's
   shapes — batch 16, 128 frames, 16×16 patches, 1024-d, 90 cells — under bf16 autocast:
   forward ms, forward+backward+AdamW ms/step (loss: mean squared error, a stand-in for the Vi-ST
   loss) and peak memory. Reference: 389–401 ms/step and 12.3 GiB for the authors' module with
   their loss on one H200 (SPEC §7).

Usage (repository root):  PYTHONPATH=. python tools/gpu_prior.py
Prints a table; writes JSON to $OUT/prior_gpu.json when $OUT is set.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import torch

from vist.cache import write_json_atomic
from vist.model import ViST, ViSTConfig, count_parameters
from vist.prior import ViTPrior
from vist.prior.frames import imagenet_input


def cuda_time(fn, repeat: int, warmup: int) -> list[float]:
    """Wall times in seconds of ``fn()`` (synchronised), after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return times


def prior_speed(n_frames: int = 2048, batch: int = 64) -> dict:
    t0 = time.perf_counter()
    prior = ViTPrior("vit_large_patch14_dinov2", layer=-1, weights=None, img_size=224, device="cuda",
                     precision="bf16", batch_size=batch, cache=False, progress=False)
    build_s = time.perf_counter() - t0
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, size=(n_frames, 360, 360), dtype=np.uint8)
    prior.features(frames[: 2 * batch])  # warm-up (kernels, allocator)
    end_to_end = cuda_time(lambda: prior.features(frames), repeat=2, warmup=0)
    # the same through the feature cache: computed and written (atomic file + digest), then reloaded
    import tempfile

    with tempfile.TemporaryDirectory(prefix="vist-gpu-prior-") as tmp:
        os.environ["VIST_CACHE_DIR"] = tmp
        prior.cache = True
        t0 = time.perf_counter()
        prior.features(frames)
        written = time.perf_counter() - t0
        t0 = time.perf_counter()
        prior.features(frames)
        reloaded = time.perf_counter() - t0
        prior.cache = False
    x = imagenet_input(frames[:batch], 224, "cuda")

    def forward() -> None:
        with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
            prior._forward(x, [prior.block])

    fwd = cuda_time(forward, repeat=20, warmup=3)
    return {"backbone": prior.backbone, "label": prior.label, "batch": batch, "frames": n_frames,
            "precision": prior.precision, "build_s": round(build_s, 2),
            "end_to_end_frames_per_s": round(n_frames / min(end_to_end), 1),
            "cache_write_frames_per_s": round(n_frames / written, 1),
            "cache_reload_s": round(reloaded, 3),
            "forward_only_frames_per_s": round(batch / float(np.median(fwd)), 1),
            "target_frames_per_s": 2000, "reference_frames_per_s_h200": 2033}


def vist_step(batch: int = 16, frames: int = 128, steps: int = 10) -> dict:
    torch.manual_seed(0)
    cfg = ViSTConfig(feat_dim=1024, cells=90)
    model = ViST(cfg).cuda().train()
    opt = torch.optim.AdamW(model.parameters(), lr=8e-4, weight_decay=0.1)
    x = torch.randn(batch, frames, 256, 1024, device="cuda", dtype=torch.bfloat16)
    rf = torch.rand(batch, 90, 16, 16, device="cuda")
    y = torch.rand(batch, frames, 90, device="cuda")

    def fwd() -> None:
        with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
            model(x, rf)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = torch.nn.functional.mse_loss(model(x, rf).float(), y)
        loss.backward()
        opt.step()

    fwd_t = cuda_time(fwd, repeat=steps, warmup=2)
    torch.cuda.reset_peak_memory_stats()
    step_t = cuda_time(step, repeat=steps, warmup=3)
    peak = torch.cuda.max_memory_allocated() / 2 ** 30
    return {"params": count_parameters(model), "batch": batch, "frames": frames, "grid": 16,
            "feat_dim": 1024, "cells": 90, "precision": "bf16 autocast",
            "forward_ms": round(1000 * float(np.median(fwd_t)), 1),
            "train_step_ms": round(1000 * float(np.median(step_t)), 1),
            "train_step_ms_min": round(1000 * min(step_t), 1),
            "peak_memory_gib": round(peak, 2), "input_gib": round(x.numel() * 2 / 2 ** 30, 2),
            "reference_step_ms_h200": "389-401", "reference_peak_gib_h200": 12.3}


def main() -> int:
    if not torch.cuda.is_available():
        raise SystemExit("tools/gpu_prior.py needs a CUDA device")
    torch.backends.cudnn.benchmark = True
    t0 = time.perf_counter()
    result = {"device": torch.cuda.get_device_name(), "torch": torch.__version__,
              "cudnn_benchmark": True}
    result["prior"] = prior_speed()
    torch.cuda.empty_cache()
    result["vist"] = vist_step()
    result["total_s"] = round(time.perf_counter() - t0, 1)
    p, v = result["prior"], result["vist"]
    print(f"device: {result['device']} (torch {result['torch']})")
    print(f"{'measurement':52s} {'value':>12s}  reference/target")
    print(f"{'ViT-L/14 features, end to end (frames/s)':52s} {p['end_to_end_frames_per_s']:12.1f}  ≥ 2000 (2033 on H200)")
    print(f"{'  … computed and written to the cache (frames/s)':52s} {p['cache_write_frames_per_s']:12.1f}")
    print(f"{'  … reloaded from the cache, verified (s)':52s} {p['cache_reload_s']:12.3f}")
    print(f"{'ViT-L/14 backbone forward only (frames/s)':52s} {p['forward_only_frames_per_s']:12.1f}")
    print(f"{'Vi-ST reference forward, B16 T128 (ms)':52s} {v['forward_ms']:12.1f}")
    print(f"{'Vi-ST reference fwd+bwd+AdamW, B16 T128 (ms/step)':52s} {v['train_step_ms']:12.1f}  389-401 (authors' module + loss, H200)")
    print(f"{'Vi-ST peak memory (GiB)':52s} {v['peak_memory_gib']:12.2f}  12.3 (H200)")
    print(f"{'parameters':52s} {v['params']:12d}  1702952")
    print(f"total {result['total_s']} s")
    out = os.environ.get("OUT")
    if out:
        path = Path(out) / "prior_gpu.json"
        write_json_atomic(path, result, indent=2)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
