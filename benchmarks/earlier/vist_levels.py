"""One Vi-ST run of the small preset with other CMST levels or schedule (benchmarks/small_preset_schedule.md).

Usage: python vist_levels.py TAG TEST_MOVIE SEED EPOCHS SWA_START OPTIONS_JSON
OPTIONS_JSON: model options, e.g. '{"cmst_kernels": [[1, 7, 9], [1, 3, 5]]}'; the environment
variable OVR (JSON) overrides training settings, e.g. OVR='{"lr": 0.0015}'. Across movies it also
recovers the receptive fields as chapter 12 does (both movies, 16×16 probe grid).
"""
import json
import os
import sys
import time
from dataclasses import replace

import numpy as np
import torch

from vist.data import load
from vist.experiments import rf_recovery as rfx
from vist.metrics import cc
from vist.presets import get_preset
from vist.train.evaluate import predict, quick_scores, test_targets
from vist.train.inputs import prepare
from vist.train.loop import fit
from vist.train.models import build_model
from vist.train.spec import ModelOptions, RunSpec

torch.set_num_threads(1)
tag, tm, seed, epochs, swa = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
opts = json.loads(sys.argv[6])
if "cmst_kernels" in opts:
    opts["cmst_kernels"] = tuple(tuple(k) for k in opts["cmst_kernels"])
spec = RunSpec(model="vist", train_movie="mov1", test_movie=tm, seed=seed, model_options=ModelOptions(opts))
settings = replace(get_preset("small").vist.train, epochs=epochs, swa_start=swa, **json.loads(os.environ.get("OVR", "{}")))
data = prepare(spec)
torch.manual_seed(seed)
model = build_model(spec, data.train_x, data.cells)
lt, _ = test_targets(data, settings.eval_frames)
target, _ = test_targets(data)
dev = torch.device("cpu")
t0 = time.perf_counter()
tr = fit(model, data, settings, "full", seed=seed, device=dev, progress=False,
         evaluate=lambda m: quick_scores(predict(m, data, dev, False, frames=settings.eval_frames), lt))
seconds = time.perf_counter() - t0
h = [e["cc"] for e in tr.history]
pred = predict(tr.model, data, dev, False)
rf = ""
if tm != "mov1":
    train = replace(data, test_x=data.train_x, test_segments=((0, int(data.train_x.shape[0])),))
    segments = [(load("synthetic", "mov1", seed=seed), predict(tr.model, train, dev, False)),
                (load("synthetic", "mov2", seed=seed), pred)]
    res = rfx.recover(segments)
    rf = f"rf {np.nanmedian(res['r']['model']):.3f} / ceiling {np.nanmedian(res['r']['true rates']):.3f}"
print(tag, tm, seed, epochs, "final", round(float(cc(pred, target).mean), 3),
      "log", " ".join(f"{v:.3f}" for v in h[-4:]), "range3", round(max(h[-3:]) - min(h[-3:]), 3), rf,
      f"train {seconds:.0f}s", flush=True)
