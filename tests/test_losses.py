"""ViSTLoss: SPEC §4 term by term, the window scheme, the ablation switches."""

import pytest
import torch

from vist.kernels import soft_dtw
from vist.losses import ViSTLoss


def clip(B=2, T=128, cells=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    target = torch.rand(B, T, cells, generator=g, dtype=torch.float64)
    pred = target + 0.3 * torch.randn(B, T, cells, generator=g, dtype=torch.float64)
    return pred, target


def explicit_sdtw_term(pred, target, w):
    """S_w written out: windows of length w starting at 0, ⌊w/2⌋, … while start < T - w."""
    T, hop = pred.shape[1], w // 2
    vals = []
    start = 0
    while start < T - w:
        vals.append(soft_dtw(pred[:, start:start + w], target[:, start:start + w], 0.1, normalize=True))
        start += hop
    return torch.stack(vals).mean()


def test_full_loss_is_spec_formula():
    pred, target = clip()
    loss = ViSTLoss()(pred, target)
    rmse = torch.sqrt(((pred - target) ** 2).mean())
    relu = torch.relu(-pred).mean()
    s6, s12 = explicit_sdtw_term(pred, target, 6), explicit_sdtw_term(pred, target, 12)
    expected = 0.1 * rmse + 0.5 * relu + 5e-6 * (s6 + s12)
    assert abs(loss.item() - expected.item()) <= 1e-12 * abs(expected.item())
    t = ViSTLoss().terms(pred, target)
    assert set(t) == {"rmse", "relu", "sdtw_6", "sdtw_12"}
    assert abs(t["sdtw_6"].item() - s6.item()) <= 1e-9 * s6.item()
    assert s6 > 0 and s12 > 0 and relu > 0


@pytest.mark.parametrize("name,keys", [("rmse", {"rmse"}), ("rmse+relu", {"rmse", "relu"}),
                                       ("rmse+relu+sdtw_short", {"rmse", "relu", "sdtw_6"}),
                                       ("rmse+relu+sdtw_long", {"rmse", "relu", "sdtw_12"}),
                                       ("full", {"rmse", "relu", "sdtw_6", "sdtw_12"})])
def test_ablations(name, keys):
    pred, target = clip(seed=1)
    loss_fn = ViSTLoss.ablation(name)
    t = ViSTLoss().terms(pred, target)
    weights = {"rmse": 0.1, "relu": 0.5, "sdtw_6": 5e-6, "sdtw_12": 5e-6}
    expected = sum(weights[k] * t[k] for k in keys)
    assert abs(loss_fn(pred, target).item() - expected.item()) <= 1e-12 * expected.item()
    full = ViSTLoss.ablation("full")(pred, target).item()
    assert (loss_fn(pred, target).item() == full) == (name == "full")  # an arm leaves a term out


def test_gradient_finite_at_perfect_prediction_and_descends():
    _, target = clip(B=1, T=60, cells=3)
    pred = target.clone().requires_grad_(True)
    loss = ViSTLoss()(pred, target)
    (g,) = torch.autograd.grad(loss, pred)
    assert torch.isfinite(g).all() and abs(loss.item()) < 1e-6
    # a few gradient steps from a noisy start reduce the loss
    pred = (target + 0.5).clone().requires_grad_(True)
    opt = torch.optim.SGD([pred], lr=5.0)
    first = None
    for _ in range(5):
        opt.zero_grad()
        loss = ViSTLoss()(pred, target)
        first = first if first is not None else loss.item()
        loss.backward()
        opt.step()
    assert ViSTLoss()(pred, target).item() < first


def test_bad_input_is_named():
    with pytest.raises(ValueError, match=r"\[B, T, cells\]"):
        ViSTLoss()(torch.zeros(128, 4), torch.zeros(128, 4))
    with pytest.raises(ValueError, match="unknown loss ablation"):
        ViSTLoss.ablation("mse")
    with pytest.raises(ValueError, match="need at least 2 frames"):
        ViSTLoss()(torch.zeros(1, 30, 2), torch.zeros(1, 30, 2))
