"""Two small-preset runs one after another (two torch threads) against side by side in two
spawned processes (one thread each); benchmarks/small_preset_schedule.md, "Runs side by side".

Usage: python side_by_side.py MODEL [MODEL ...]   (vist, crnn, mstcn; 4 epochs, seeds 7 and 8)
"""
import json
import multiprocessing as mp
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch

from vist.train import RunSpec, train_run


def one_thread_run(spec: RunSpec, root: str) -> str:
    torch.set_num_threads(1)
    return str(train_run(spec, device="cpu", progress=False, root=Path(root)).path)


def report(name: str, folders: list, seconds: float) -> None:
    timings = [json.loads((Path(f) / "run.json").read_text())["timings"] for f in folders]
    print(name, round(seconds, 1), [(round(t["inputs_s"], 1), round(t["train_s"], 1), round(t["step_ms_median"]))
                                    for t in timings], flush=True)


if __name__ == "__main__":
    for model in sys.argv[1:]:
        specs = [RunSpec(model=model, train_movie="mov1", test_movie="mov2", preset="small", seed=s, epochs=4)
                 for s in (7, 8)]
        with tempfile.TemporaryDirectory() as root:
            t0 = time.perf_counter()
            folders = [train_run(s, device="cpu", progress=False, root=Path(root)).path for s in specs]
            report(f"{model} one after another", folders, time.perf_counter() - t0)
        with tempfile.TemporaryDirectory() as root:
            t0 = time.perf_counter()
            with ProcessPoolExecutor(2, mp_context=mp.get_context("spawn")) as pool:
                folders = list(pool.map(one_thread_run, specs, [root] * 2))
            report(f"{model} side by side", folders, time.perf_counter() - t0)
