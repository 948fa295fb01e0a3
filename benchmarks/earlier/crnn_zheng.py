"""Experiment: CRNN as in Zheng et al.'s code (BN + noise; LSTM across conv2's feature maps)."""
import sys
import time
from dataclasses import replace

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn
from vist.train.settings import settings_for

from vist.metrics import cc
from vist.train.evaluate import predict, quick_scores, test_targets
from vist.train.inputs import prepare
from vist.train.loop import fit
from vist.train.spec import RunSpec

torch.set_num_threads(int(sys.argv[5]) if len(sys.argv) > 5 else 1)

class ZCRNN(nn.Module):
    def __init__(self, cells, S, history, c1, k1, c2, k2, hidden, noise=0.1):
        super().__init__()
        self.history, self.noise = history, noise
        self.conv1 = nn.Conv2d(history, c1, k1)
        self.bn1 = nn.BatchNorm2d(c1, eps=1e-3, momentum=0.01)
        self.conv2 = nn.Conv2d(c1, c2, k2)
        self.bn2 = nn.BatchNorm2d(c2, eps=1e-3, momentum=0.01)
        out = S - k1 - k2 + 2
        self.rnn = nn.LSTM(out * out, hidden, batch_first=True)   # sequence = conv2's c2 maps
        self.bn3 = nn.BatchNorm1d(hidden, eps=1e-3, momentum=0.01)
        self.dense = nn.Linear(c2 * hidden, cells)
        self.bn4 = nn.BatchNorm1d(cells, eps=1e-3, momentum=0.01)
        self.alpha = nn.Parameter(torch.full((cells,), 0.2))
        self.beta = nn.Parameter(torch.full((cells,), 5.0))

    def _noise(self, h):
        return h + self.noise * torch.randn_like(h) if self.training and self.noise else h

    def forward(self, x, rf=None):
        b, t = x.shape[:2]
        x = F.pad(x.float(), (0, 0, 0, 0, self.history - 1, 0))
        s = rearrange(x.unfold(1, self.history, 1), "b t h w k -> (b t) k h w")
        h = torch.relu(self._noise(self.bn1(self.conv1(s))))
        h = torch.relu(self._noise(self.bn2(self.conv2(h))))
        h, _ = self.rnn(rearrange(h, "n c h w -> n c (h w)"))          # [N, c2, hidden]
        h = self.bn3(h.transpose(1, 2)).transpose(1, 2).flatten(1)
        z = self.bn4(self.dense(h))
        return rearrange(self.alpha * F.softplus(self.beta * z), "(b t) c -> b t c", b=b, t=t)

train_movie, test_movie, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
variant = sys.argv[4]
spec = RunSpec(model="crnn", train_movie=train_movie, test_movie=test_movie, seed=seed)
settings = settings_for("small", "crnn")
kw = dict(S=40, history=10, c1=16, k1=25, c2=16, k2=11, hidden=32)
for part in variant.split(","):
    k, v = part.split("=")
    if k in ("epochs", "batches_per_epoch", "warmup_epochs", "swa_start", "batch", "window"):
        settings = replace(settings, **{k: int(v)})
    elif k in ("lr", "weight_decay"):
        settings = replace(settings, **{k: float(v)})
    else:
        kw[k] = float(v) if k == "noise" else int(v)
data = prepare(spec)
torch.manual_seed(seed)
model = ZCRNN(data.cells, **kw)
log_target, _ = test_targets(data, settings.eval_frames)
target, _ = test_targets(data)
dev = torch.device("cpu")
def per_epoch(m):
    return quick_scores(predict(m, data, dev, False, frames=settings.eval_frames), log_target)
t0 = time.perf_counter()
tr = fit(model, data, settings, "full", seed=seed, device=dev, evaluate=per_epoch, progress=False)
pred = predict(tr.model, data, dev, False)
log = " ".join(f"{e['cc']:.3f}" for e in tr.history[-4:])
print(f"{train_movie}->{test_movie} s{seed} {variant}: final {cc(pred, target).mean:.3f} log[-4:] {log} "
      f"params {sum(p.numel() for p in model.parameters())} step {tr.step_ms:.0f} ms total {time.perf_counter()-t0:.0f} s", flush=True)
