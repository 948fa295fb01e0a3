"""A list of runs trained one after another against the same list trained by worker processes.

``python -m vist.bench train-runs --runs 4 --workers 1,2`` trains the same ``runs`` small-preset
specs (seeds 0 …, one model) from scratch once per worker count, in turns (``--rounds``), each
time into an empty results folder (features come from the cache, as in a book build), and reports
the wall time of the whole list and runs per hour. One worker is :func:`vist.experiments.common.
train_all`'s default (in this process, all cores' threads); more are
:func:`vist.train.parallel.train_parallel`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

from vist.bench.common import BenchTable, device_name, environment
from vist.experiments.common import train_all
from vist.train import RunSpec, train_run


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="vist", help="vist, crnn or mstcn")
    parser.add_argument("--runs", type=int, default=4, help="runs in the list (seeds 0 … runs−1)")
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts to compare")
    parser.add_argument("--epochs", type=int, default=None, help="override the preset's epochs")
    parser.add_argument("--rounds", type=int, default=1, help="times each worker count is timed, in turns")
    parser.add_argument("--train-movie", default="mov1")
    parser.add_argument("--test-movie", default="mov2")


def run(model: str = "vist", runs: int = 4, workers: str = "1,2", epochs: int | None = None, rounds: int = 1,
        train_movie: str = "mov1", test_movie: str = "mov2") -> BenchTable:
    """Wall time of ``runs`` small-preset runs per worker count (medians over ``rounds``)."""
    counts = [int(w) for w in workers.split(",") if w.strip()]
    specs = {s: RunSpec(model=model, train_movie=train_movie, test_movie=test_movie, seed=s, preset="small",
                        epochs=epochs) for s in range(runs)}
    walls: dict[int, list[float]] = {n: [] for n in counts}
    for _ in range(rounds):
        for n in counts:
            with tempfile.TemporaryDirectory(prefix="vist-bench-runs-") as tmp, \
                    environment(VIST_RESULTS_DIR=os.path.join(tmp, "runs")):
                t0 = time.perf_counter()
                train_all(specs, train_run, device="cpu", rerun=True, workers=n)
                walls[n].append(time.perf_counter() - t0)
    table = BenchTable("train-runs", device_name("cpu"))
    base = statistics.median(walls[counts[0]])
    for n in counts:
        wall = statistics.median(walls[n])
        table.rows.append({"model": model, "runs": runs, "workers": n,
                           "threads per worker": max(1, (os.cpu_count() or 1) // n),
                           "wall (s)": round(wall, 1), "all rounds (s)": " ".join(f"{w:.1f}" for w in walls[n]),
                           "runs per hour": round(3600 * runs / wall, 1),
                           f"speedup vs {counts[0]} worker(s)": round(base / wall, 2)})
    table.notes.append("wall (s): the whole list from scratch (rerun), features from the cache, each count "
                       "into an empty results folder; counts timed in turns, medians over rounds.")
    return table
