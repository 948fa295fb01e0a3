"""The search that led to the small preset's CRNN readout (benchmarks/small_preset_schedule.md,
"A readout that finds the cells"): the CRNN's two convolutions, then a per-cell readout of the
conv map — a softmax mask over the map (mode=softmax), an unnormalised mask (raw), one point per
cell sampled with a Gaussian jitter of sd sigma/100 half-map units (gauss; Lurz et al. 2021), or a
Gaussian-weighted mask of learned width (gmask) — optionally an LSTM at each map position
(crnn=1) or across the cells' drives (hidden=N). The model kept is vist.model.crnn's "gaussian"
readout; this script's class is the scratch version it was found with.

Usage: python crnn_readout_search.py VARIANT...; a variant is comma-separated key=value pairs:
training settings (epochs, lr, batch, …), seed=N, test=mov1|mov2, or the class's arguments.
NT=1 runs on one torch thread.
"""
import os
import sys
import time
from dataclasses import replace

import numpy as np
import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from vist.data.rf import rf_to_grid
from vist.metrics import cc
from vist.presets import get_preset
from vist.train.evaluate import predict, quick_scores, test_targets
from vist.train.inputs import prepare, recording
from vist.train.loop import fit
from vist.train.spec import RunSpec

torch.set_num_threads(int(os.environ.get("NT", 2)))


class FRD(nn.Module):
    def __init__(self, cells, img=40, history=10, c1=16, k1=7, c2=16, k2=5, hidden=0, mode="softmax", scale=1, sigma=30, crnn=0):
        super().__init__()
        self.history, self.mode = history, mode
        self.conv1 = nn.Conv2d(history, c1, k1)
        self.conv2 = nn.Conv2d(c1, c2, k2)
        s = img - k1 - k2 + 2
        self.mask = nn.Parameter(torch.randn(cells, s * s) * (0.01 if mode == "softmax" else 1.0 / s))
        self.feat = nn.Parameter(torch.randn(cells, c2) / c2 ** 0.5)
        self.bias = nn.Parameter(torch.zeros(cells))
        self.hidden = hidden
        self.crnn = crnn
        if crnn:
            self.core_rnn = nn.LSTM(c2, c2, batch_first=True)
        self.scale = scale
        self.s = s
        self.mu = nn.Parameter(torch.rand(cells, 2) * 1.6 - 0.8)
        self.sig = sigma / 100
        self.logsig = nn.Parameter(torch.full((cells,), float(np.log(sigma / 100))))
        if hidden:
            self.rnn = nn.LSTM(cells, hidden, batch_first=True)
            self.dense = nn.Linear(hidden, cells)
        self.gain = nn.Parameter(torch.ones(cells))
        self.beta = nn.Parameter(torch.ones(cells))
    def forward(self, x, rf=None):
        b, t = x.shape[:2]
        x = F.pad(x.float(), (0, 0, 0, 0, self.history - 1, 0))
        st = rearrange(x.unfold(1, self.history, 1), "b t h w k -> (b t) k h w")
        h = torch.relu(self.conv2(torch.relu(self.conv1(st))))  # [bt, c, s, s]
        if self.crnn:
            sh = h.shape
            q = rearrange(h, "(b t) c x y -> (b x y) t c", b=b)
            q = self.core_rnn(q)[0]
            h = h + rearrange(q, "(b x y) t c -> (b t) c x y", b=b, x=sh[2], y=sh[3])
        if self.mode == "gmask":
            lin = torch.linspace(-1, 1, self.s)
            gy, gx = torch.meshgrid(lin, lin, indexing="ij")
            grid = torch.stack([gx, gy], -1).reshape(-1, 2)  # [s*s, (x, y)]
            d2 = ((grid[None] - self.mu[:, None]) ** 2).sum(-1)  # [n, s*s]
            m = (-d2 / (2 * self.logsig.exp()[:, None] ** 2)).softmax(-1)
            z = torch.einsum("bcs,ns,nc->bn", h.flatten(2), m, self.feat) + self.bias
        elif self.mode == "gauss":
            mu = self.mu.clamp(-1, 1)
            if self.training:
                mu = mu + self.sig * torch.randn(h.shape[0], *mu.shape)
            else:
                mu = mu.expand(h.shape[0], *mu.shape)
            g = F.grid_sample(h, mu[:, :, None, :], align_corners=True)[..., 0]  # [bt, c, n]
            z = torch.einsum("bcn,nc->bn", g, self.feat) + self.bias
        else:
            h = h.flatten(2)
            m = (self.scale * self.mask).softmax(-1) if self.mode == "softmax" else self.mask
            z = torch.einsum("bcs,ns,nc->bn", h, m, self.feat) + self.bias
        z = rearrange(z, "(b t) n -> b t n", b=b)
        if self.hidden:
            z = z + self.dense(self.rnn(z)[0])
        return self.gain * F.softplus(self.beta * z)

pre = get_preset("small")
for variant in sys.argv[1:]:
    kw = dict(p.split("=") for p in variant.split(",") if p)
    settings = pre.settings_for("crnn")
    for k in ("epochs", "batches_per_epoch", "warmup_epochs", "swa_start", "batch"):
        if k in kw:
            settings = replace(settings, **{k: int(kw.pop(k))})
    for k in ("lr", "weight_decay"):
        if k in kw:
            settings = replace(settings, **{k: float(kw.pop(k))})
    seed = int(kw.pop("seed", 0))
    test = kw.pop("test", "mov1")
    mk = {k: (v if k == "mode" else float(v) if k == "scale" else int(v)) for k, v in kw.items()}
    spec = RunSpec(model="crnn", train_movie="mov1", test_movie=test, seed=seed)
    data = prepare(spec)
    torch.manual_seed(seed)
    model = FRD(data.cells, **mk)
    log_target, _ = test_targets(data, settings.eval_frames)
    target, _ = test_targets(data)
    tr_data = replace(data, test_x=data.train_x, test_y=data.train_y, test_segments=data.train_segments)
    # CC on its own training frames (within one movie only: the test spikes are of that movie)
    tr_target = test_targets(tr_data)[0] if test == "mov1" else None
    dev = torch.device("cpu")
    def ev(m, data=data, dev=dev, settings=settings, log_target=log_target):
        return quick_scores(predict(m, data, dev, False, frames=settings.eval_frames), log_target)

    t0 = time.perf_counter()
    tr = fit(model, data, settings, "full", seed=seed, device=dev, evaluate=ev, progress=False)
    pred = predict(tr.model, data, dev, False)
    trp = predict(tr.model, tr_data, dev, False) if tr_target is not None else None
    if mk.get("mode") in ("gauss", "gmask"):
        import numpy as np

        from vist.data.rf import rf_to_grid
        from vist.train.inputs import recording
        rec = recording(spec, "mov1")
        m = rf_to_grid(rec.rf_contours, rec.frame_shape, 40)
        cen = np.array([[np.nonzero(c)[0].mean(), np.nonzero(c)[1].mean()] for c in m])  # y, x
        mu = tr.model.mu.detach().clamp(-1, 1).numpy()
        s_ = tr.model.s
        off = (mk.get("k1", 7) - 1) / 2 + (mk.get("k2", 5) - 1) / 2
        est = np.stack([(mu[:, 1] + 1) / 2 * (s_ - 1) + off, (mu[:, 0] + 1) / 2 * (s_ - 1) + off], 1)
        d = np.linalg.norm(est - cen, axis=1)
        pc = cc(pred, target).per_cell if hasattr(cc(pred, target), "per_cell") else None
        print("bias", (est - cen).mean(0).round(2), "dist px median", np.median(d).round(2), "frac<2px", (d < 2).mean().round(2), "frac<4", (d < 4).mean().round(2), "sig", np.median(tr.model.logsig.exp().detach().numpy()).round(3))
    log = " ".join(f"{e['cc']:.3f}" for e in tr.history[-6:])
    print(f"{variant}: test {cc(pred, target).mean:.3f} train {cc(trp, tr_target).mean if trp is not None else float('nan'):.3f} log {log} "
          f"params {sum(p.numel() for p in model.parameters())} step {tr.step_ms:.0f} ms total {time.perf_counter()-t0:.0f} s", flush=True)
