"""CRNN runs of the small preset (mov1→mov1, seed 0) with other settings; their test CC and their
CC on their own training frames (benchmarks/small_preset_schedule.md, "The CRNN fits its own
training frames no better").

Usage: python crnn_train_cc.py VARIANT...; a variant is "" (the preset) or comma-separated
key=value pairs: training settings (epochs, lr, …), loss=NAME, seed=N (default 0), or CRNN sizes (img_size, kernel1, …).
"""
import sys
import time
from dataclasses import replace

import torch

import vist.presets as vp
from vist.metrics import cc
from vist.model.crnn import CRNN, CRNNConfig
from vist.presets import get_preset
from vist.train.evaluate import predict, quick_scores, test_targets
from vist.train.inputs import prepare
from vist.train.loop import fit
from vist.train.spec import RunSpec

torch.set_num_threads(2)
variants = sys.argv[1:]
pre = get_preset("small")
for variant in variants:
    settings = pre.settings_for("crnn")
    kw = dict(pre.crnn.sizes.changes())
    loss, seed = "full", 0
    for part in filter(None, variant.split(",")):
        k, v = part.split("=")
        if k in ("epochs", "batches_per_epoch", "warmup_epochs", "swa_start", "batch", "window"):
            settings = replace(settings, **{k: int(v)})
        elif k in ("lr", "weight_decay"):
            settings = replace(settings, **{k: float(v)})
        elif k == "loss":
            loss = v
        elif k == "seed":
            seed = int(v)
        else:
            kw[k] = int(v)
    vp.PRESETS["small"] = replace(pre, crnn=replace(pre.crnn, sizes=replace(pre.crnn.sizes, img_size=kw["img_size"])))
    spec = RunSpec(model="crnn", train_movie="mov1", test_movie="mov1", seed=seed)
    data = prepare(spec)
    torch.manual_seed(seed)
    model = CRNN(CRNNConfig(cells=data.cells, **kw))
    log_target, _ = test_targets(data, settings.eval_frames)
    target, _ = test_targets(data)
    tr_data = replace(data, test_x=data.train_x, test_y=data.train_y, test_segments=data.train_segments)
    tr_target, _ = test_targets(tr_data)
    dev = torch.device("cpu")

    def per_epoch(m, data=data, dev=dev, settings=settings, log_target=log_target):
        return quick_scores(predict(m, data, dev, False, frames=settings.eval_frames), log_target)

    t0 = time.perf_counter()
    tr = fit(model, data, settings, loss, seed=seed, device=dev, evaluate=per_epoch, progress=False)
    pred = predict(tr.model, data, dev, False)
    trp = predict(tr.model, tr_data, dev, False)
    log = " ".join(f"{e['cc']:.3f}" for e in tr.history[-4:])
    print(f"{variant or 'base'}: test {cc(pred, target).mean:.3f} train {cc(trp, tr_target).mean:.3f} log[-4:] {log} "
          f"params {sum(p.numel() for p in model.parameters())} step {tr.step_ms:.0f} ms total {time.perf_counter()-t0:.0f} s", flush=True)
