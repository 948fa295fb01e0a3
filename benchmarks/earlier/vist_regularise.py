"""One Vi-ST run of the small preset with other settings; its test CC and its CC on its own
training frames (benchmarks/small_preset_schedule.md, "Regularising Vi-ST").

Usage: python vist_regularise.py TAG TEST_MOVIE SEED; the environment variables PRIOR, OVR and
SIZES (JSON) override the prior settings, the training settings and Vi-ST's sizes, e.g.
SIZES='{"dropout": 0.1}' OVR='{"weight_decay": 0.5}'.
"""
import json
import os
import sys
import time
from dataclasses import replace

import torch

import vist.presets as vp
from vist.metrics import cc
from vist.train.evaluate import predict, quick_scores, test_targets
from vist.train.inputs import prepare
from vist.train.loop import fit
from vist.train.models import build_model
from vist.train.spec import RunSpec

torch.set_num_threads(2)
tag, tm, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
pre = vp.PRESETS["small"]
prior = replace(pre.prior, **json.loads(os.environ.get("PRIOR", "{}")))
settings = replace(pre.vist.train, **json.loads(os.environ.get("OVR", "{}")))
sizes = replace(pre.vist.sizes, **json.loads(os.environ.get("SIZES", "{}")))
vp.PRESETS["small"] = replace(pre, prior=prior, vist=vp.ModelSettings(settings, sizes))
spec = RunSpec(model="vist", train_movie="mov1", test_movie=tm, seed=seed)
t0 = time.perf_counter()
data = prepare(spec)
tin = time.perf_counter() - t0
torch.manual_seed(seed)
model = build_model(spec, data.train_x, data.cells)
lt, _ = test_targets(data, settings.eval_frames)
target, _ = test_targets(data)
trd = replace(data, test_x=data.train_x, test_y=data.train_y, test_segments=data.train_segments,
              test_spikes=data.test_spikes[:, :0])
idx = [i for a, b in data.train_segments for i in range(a, b)]
trt = data.train_y.numpy()[idx]
dev = torch.device("cpu")
t0 = time.perf_counter()
tr = fit(model, data, settings, "full", seed=seed, device=dev, progress=False,
         evaluate=lambda m: quick_scores(predict(m, data, dev, False, frames=settings.eval_frames), lt))
seconds = time.perf_counter() - t0
h = [e["cc"] for e in tr.history]
pred = predict(tr.model, data, dev, False)
print(tag, tm, seed, "final", round(float(cc(pred, target).mean), 3), "train",
      round(float(cc(predict(tr.model, trd, dev, False), trt).mean), 3),
      "log", " ".join(f"{v:.3f}" for v in h[-4:]), f"inputs {tin:.0f}s train {seconds:.0f}s step {tr.step_ms:.0f}ms",
      flush=True)
