"""One MS-TCN run of the small preset, its per-epoch log and final CC: prior, test movie, seed; the
environment variable OVR (JSON) overrides training settings, e.g. OVR='{"eval_frames": null}'
(benchmarks/small_preset_schedule.md, "The MS-TCN's noisy log")."""
import json
import os
import sys
import time
from dataclasses import replace

import torch

from vist.metrics import cc
from vist.presets import get_preset
from vist.train.evaluate import predict, quick_scores, test_targets
from vist.train.inputs import prepare
from vist.train.loop import fit
from vist.train.models import build_model
from vist.train.spec import RunSpec

torch.set_num_threads(2)
prior, tm, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
spec = RunSpec(model="mstcn", prior=prior, train_movie="mov1", test_movie=tm, seed=seed)
settings = replace(get_preset("small").mstcn.train, **json.loads(os.environ.get("OVR", "{}")))
data = prepare(spec)
torch.manual_seed(seed)
model = build_model(spec, data.train_x, data.cells)
lt, _ = test_targets(data, settings.eval_frames)
target, _ = test_targets(data)
dev = torch.device("cpu")
t0 = time.perf_counter()
tr = fit(model, data, settings, "full", seed=seed, device=dev, progress=False,
         evaluate=lambda m: quick_scores(predict(m, data, dev, False, frames=settings.eval_frames), lt))
h = [e["cc"] for e in tr.history]
print(prior, tm, seed, os.environ.get("OVR"), "final", round(float(cc(predict(tr.model, data, dev, False), target).mean), 3),
      "log", " ".join(f"{v:.3f}" for v in h[-6:]), "range3", round(max(h[-3:]) - min(h[-3:]), 3),
      f"train {time.perf_counter() - t0:.0f}s", flush=True)
