#!/usr/bin/env python
"""One full paper-preset Vi-ST run on a GPU, feature extraction included (issue 5's speed check).

    PYTHONPATH=. python tools/gpu_paper_run.py [--train mov1] [--test mov2] [--epochs N]

Simulates the recordings, extracts DINOv2 ViT-L/14 features (untrained: no weights can be
fetched), trains Vi-ST with the paper preset (batch 16, 128 frames, 48 × 30 steps, AdamW,
one-cycle, SWA, bf16) with the fast implementation, evaluates, and prints the summary and the
wall-clock time of each part. With ``$OUT`` set, the stored run (run.json, predictions.npz,
and with ``--keep-model`` model.pt) is copied to ``$OUT/<run_id>/`` so it can be committed under
``benchmarks/`` with its provenance.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--train", default="mov1")
    p.add_argument("--test", default="mov2")
    p.add_argument("--epochs", type=int, default=None, help="override (default: the preset's 30)")
    p.add_argument("--reference", action="store_true", help="train the reference nn.Conv3d model")
    p.add_argument("--device", default="cuda")
    p.add_argument("--keep-model", action="store_true", help="also copy model.pt to $OUT")
    a = p.parse_args()
    os.environ.setdefault("VIST_CACHE_DIR", tempfile.mkdtemp(prefix="vist-cache-"))
    root = Path(tempfile.mkdtemp(prefix="vist-runs-"))
    import torch

    from vist.train import RunSpec, train_run

    preset = "paper" if a.device.startswith("cuda") else "small"
    spec = RunSpec(model="vist", train_movie=a.train, test_movie=a.test, preset=preset, epochs=a.epochs)
    t0 = time.perf_counter()
    run = train_run(spec, device=a.device, progress=False, root=root, fast=not a.reference)
    wall = time.perf_counter() - t0
    t = run.record["timings"]
    print(f"device: {run.record['provenance']['device']} | torch {torch.__version__}")
    print(f"run {run.record['run_id']} ({run.record['implementation']}), preset {preset}, "
          f"{run.record['settings']['epochs']} epochs × {run.record['settings']['batches_per_epoch']} steps")
    print(f"data: {run.labels['data']}\nprior: {run.labels['prior']}")
    for k, v in run.scores.to_dict().items():
        print(f"  {k:45s} {v:.4f}" if isinstance(v, float) else f"  {k:45s} {v}")
    print(f"recordings + features: {t['inputs_s']:.1f} s | training (incl. per-epoch eval): {t['train_s']:.1f} s | "
          f"median step {t['step_ms_median']:.1f} ms | whole run {wall:.1f} s")
    out = os.environ.get("OUT")
    if out:
        dest = Path(out) / run.record["run_id"]
        dest.mkdir(parents=True, exist_ok=True)
        # the device tool returns at most 8 files: the weights only when asked for
        for name in ("run.json", "predictions.npz", *(("model.pt",) if a.keep_model else ())):
            shutil.copy(run.path / name, dest / name)
        print(f"copied to {dest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
