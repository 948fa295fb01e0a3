"""The small preset's CRNN (Gaussian readout) through train_run, mov1→TEST for seeds: its final CC,
FEVE and last four log values (benchmarks/small_preset_schedule.md, "A readout that finds the
cells"). Usage: python crnn_gaussian_runs.py TEST:SEED...; NT=1 runs on one torch thread."""
import os
import sys
import time

import torch

from vist.train import RunSpec, train_run

torch.set_num_threads(int(os.environ.get("NT", 2)))

for arg in sys.argv[1:]:
    test, seed = arg.split(":")
    t0 = time.perf_counter()
    run = train_run(RunSpec(model="crnn", train_movie="mov1", test_movie=test, seed=int(seed)), device="cpu",
                    progress=False, root="/tmp/exp/runs")
    s = run.record["metrics"]["summary"]
    log = " ".join(f"{h['cc']:.3f}" for h in run.history[-4:])
    print(f"mov1->{test} seed {seed}: cc {s['cc']:.3f} feve {s['feve']:.3f} log {log} {time.perf_counter()-t0:.0f} s", flush=True)
