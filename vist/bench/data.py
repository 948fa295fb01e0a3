"""Simulate both virtual-retina movies from scratch, then load them from the cache.

Targets (issue 2): both movies at full size (1800 + 1600 frames, 360×360, 90 cells, 20 trials)
generate in ≤ 60 s on 2 CPU cores; a cached load takes ≤ 2 s.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from vist.bench.common import BenchTable, median_time
from vist.data import load
from vist.env import device_name


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=0, help="retina seed")
    parser.add_argument("--trials", type=int, default=20, help="repeated trials")
    parser.add_argument("--repeat", type=int, default=3, help="cached loads to take the median of")


def run(seed: int = 0, trials: int = 20, repeat: int = 3) -> BenchTable:
    """Time cold generation (simulation + writing the cache) and cached loads, in a fresh cache."""
    table = BenchTable("data", device_name("cpu"))
    old = os.environ.get("VIST_CACHE_DIR")
    with tempfile.TemporaryDirectory(prefix="vist-bench-") as tmp:
        os.environ["VIST_CACHE_DIR"] = tmp
        try:
            total = 0.0
            for movie in ("mov1", "mov2"):
                t0 = time.perf_counter()
                rec = load("synthetic", movie, seed=seed, trials=trials)
                cold = time.perf_counter() - t0
                total += cold
                warm = median_time(lambda m=movie: load("synthetic", m, seed=seed, trials=trials),
                                   repeat=repeat, warmup=0)
                table.rows.append({"movie": movie, "frames": rec.n_frames,
                                   "size": f"{rec.frame_shape[0]}x{rec.frame_shape[1]}",
                                   "cells": rec.n_cells, "trials": rec.n_trials,
                                   "generate (s)": round(cold, 2), "cached load (s, median)": round(warm, 3)})
        finally:
            if old is None:
                os.environ.pop("VIST_CACHE_DIR", None)
            else:
                os.environ["VIST_CACHE_DIR"] = old
    table.notes.append(f"both movies generated in {total:.1f} s (target ≤ 60 s on 2 CPU cores); "
                       f"cached loads target ≤ 2 s")
    return table
