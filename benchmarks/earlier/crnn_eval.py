"""Does evaluating the CRNN as one long sequence hold it back? Predicts the stored seed-0 CRNN runs' test
frames as one sequence, restarted every 48/96 frames, and from sliding windows of the LSTM.
(benchmarks/small_preset_schedule.md)"""

import glob

import torch
import torch.nn.functional as F
from einops import rearrange

from vist.metrics import cc
from vist.train.evaluate import predict, test_targets
from vist.train.inputs import prepare
from vist.train.runs import Run, results_dir

torch.set_num_threads(1)


def sliding(model, x, W):
    """Each frame's rate from the LSTM run over its last W frames only (zero state before)."""
    c = model.config
    with torch.no_grad():
        b, t = x.shape[:2]
        xp = F.pad(x.float(), (0, 0, 0, 0, c.history - 1, 0))
        stacks = rearrange(xp.unfold(1, c.history, 1), "b t h w k -> (b t) k h w")
        h = torch.relu(model.conv2(torch.relu(model.conv1(stacks))))
        h = rearrange(h, "(b t) c h w -> b t (c h w)", b=b, t=t)[0]   # [T, F]
        hp = F.pad(h, (0, 0, W - 1, 0))                                 # zeros before start
        win = hp.unfold(0, W, 1).permute(0, 2, 1)                      # [T, W, F]
        out = []
        for s in range(0, t, 256):
            o, _ = model.rnn(win[s:s+256])
            out.append(o[:, -1])
        o = torch.cat(out)
        return (model.softplus_gain * F.softplus(model.softplus_beta * model.dense(o))).numpy()

for r in sorted(glob.glob(str(results_dir() / 'crnn-mov1-*-small-*'))):
    run = Run.load(r)
    if run.spec.seed != 0:
        continue
    data = prepare(run.spec)
    model = run.model().eval()
    y, _ = test_targets(data)
    res = {"whole": cc(predict(model, data, torch.device('cpu')), y).mean}
    for ch in (48, 96):
        res[f"chunk{ch}"] = cc(predict(model, data, torch.device('cpu'), chunk=ch), y).mean
    ((a, b),) = data.test_segments
    x = data.test_x[a:b][None]
    for W in (24, 48, 96):
        res[f"slide{W}"] = cc(sliding(model, x, W), y).mean
    print(run.spec.train_movie, run.spec.test_movie, {k: round(float(v), 3) for k, v in res.items()}, flush=True)
