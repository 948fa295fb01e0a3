"""Diagnostic: the small preset's CRNN with its LSTM replaced by a per-frame dense layer (64 units,
ReLU), optionally with a BatchNorm after the first convolution; test CC and CC on its own training
frames (mov1→mov1, seed 0; benchmarks/small_preset_schedule.md). Usage: python crnn_no_rnn.py
VARIANT... with VARIANT "norn" or "norn-bn"."""
import sys
import time
from dataclasses import replace

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from vist.metrics import cc
from vist.model.crnn import CRNN, CRNNConfig
from vist.presets import get_preset
from vist.train.evaluate import predict, quick_scores, test_targets
from vist.train.inputs import prepare
from vist.train.loop import fit
from vist.train.spec import RunSpec

torch.set_num_threads(2)

class NoRNN(CRNN):
    def __init__(self, c, bn=False):
        super().__init__(c)
        self.rnn = None
        self.fc = nn.Linear(c.conv2 * c.conv_out ** 2, c.hidden)
        self.bn = nn.BatchNorm2d(c.conv1) if bn else nn.Identity()
    def forward(self, x, rf=None):
        c = self.config
        b, t = x.shape[:2]
        x = F.pad(x.float(), (0, 0, 0, 0, c.history - 1, 0))
        s = rearrange(x.unfold(1, c.history, 1), "b t h w k -> (b t) k h w")
        h = torch.relu(self.conv2(torch.relu(self.bn(self.conv1(s)))))
        h = torch.relu(self.fc(h.flatten(1)))
        h = rearrange(h, "(b t) d -> b t d", b=b, t=t)
        return self.softplus_gain * F.softplus(self.softplus_beta * self.dense(h))

pre = get_preset("small")
settings = pre.settings_for("crnn")
spec = RunSpec(model="crnn", train_movie="mov1", test_movie="mov1", seed=0)
data = prepare(spec)
for variant in sys.argv[1:]:
    torch.manual_seed(0)
    cfg = CRNNConfig(cells=data.cells, **pre.crnn.sizes.changes())
    model = NoRNN(cfg, bn="bn" in variant)
    st = replace(settings, lr=1e-3) if "lr1e-3" in variant else settings
    lt, _ = test_targets(data, st.eval_frames)
    target, _ = test_targets(data)
    trd = replace(data, test_x=data.train_x, test_y=data.train_y, test_segments=data.train_segments)
    trt, _ = test_targets(trd)
    dev = torch.device("cpu")
    t0 = time.perf_counter()
    tr = fit(model, data, st, "full", seed=0, device=dev, progress=False,
             evaluate=lambda m, dev=dev, st=st, lt=lt: quick_scores(predict(m, data, dev, False, frames=st.eval_frames), lt))
    print(variant, "test", round(float(cc(predict(tr.model, data, dev, False), target).mean), 3), "train",
          round(float(cc(predict(tr.model, trd, dev, False), trt).mean), 3), "log", " ".join(f"{e['cc']:.3f}" for e in tr.history[-4:]),
          f"{time.perf_counter()-t0:.0f}s", flush=True)
