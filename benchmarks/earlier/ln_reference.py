"""The LN references of chapter 7 (vist.experiments.located_ln) on the small preset's CRNN frames,
mov1 → mov1 and mov1 → mov2, for the seeds given (benchmarks/small_preset_schedule.md, "Where the
CRNN falls short"). Usage: python ln_reference.py SEED..."""
import sys
import time

import torch

from vist.experiments.located_ln import reference_for
from vist.train.spec import RunSpec

torch.set_num_threads(2)
for seed in map(int, sys.argv[1:] or ["0"]):
    for test in ("mov1", "mov2"):
        t0 = time.perf_counter()
        r = reference_for(RunSpec(model="crnn", train_movie="mov1", test_movie=test, seed=seed, preset="small"))
        print(f"seed {seed} mov1→{test}: told each RF {r.located.mean:.3f}, whole frame {r.whole_frame.mean:.3f}, "
              f"pixels per RF {r.pixels.min()}–{r.pixels.max()}, {time.perf_counter() - t0:.0f} s", flush=True)
