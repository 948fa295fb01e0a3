"""vist.model.equivalence: the same-function comparison chapter 13 and the GPU check rely on."""

from __future__ import annotations

import pytest
import torch

from vist.kernels import KernelSettings
from vist.model import ViST, ViSTConfig
from vist.model.equivalence import (
    Pass,
    differences,
    forward_backward,
    rel_error,
    vanishing_gradients,
)
from vist.model.fast import FastViST


def test_rel_error_norms_and_errors():
    b = torch.tensor([3.0, 4.0])
    a = torch.tensor([3.0, 4.5])
    assert rel_error(a, b) == pytest.approx(0.5 / 5.0)
    assert rel_error(a, b, norm="max") == pytest.approx(0.5 / 4.0)
    assert rel_error(b, b) == 0.0
    with pytest.raises(ValueError, match=r"shapes differ, \(2,\) and \(3,\)"):
        rel_error(a, torch.zeros(3))
    with pytest.raises(ValueError, match="norm must be 'l2' or 'max', found 'l1'"):
        rel_error(a, b, norm="l1")


def test_fast_and_reference_passes_agree_and_a_changed_weight_is_seen():
    cfg = ViSTConfig(feat_dim=16, cells=4, video_dim=8, video_layers=2)
    torch.manual_seed(0)
    reference = ViST(cfg)
    fast = FastViST.from_reference(reference, KernelSettings(conv_backend="torch"))
    x = torch.randn(2, 16, cfg.grid ** 2, cfg.feat_dim)
    rf = torch.rand(2, cfg.cells, cfg.grid, cfg.grid)
    probe = torch.rand(2, 16, cfg.cells)
    ref = forward_backward(reference, x, rf, probe, seed=1)
    errs = differences(forward_backward(fast, x, rf, probe, seed=1), ref, skip=vanishing_gradients(reference))
    assert set(errs) == {"output", *ref.grads} - set(vanishing_gradients(reference))
    assert max(errs.values()) < 1e-5
    assert vanishing_gradients(reference) and all(n.endswith("conv.bias") for n in vanishing_gradients(reference))
    with torch.no_grad():
        fast.readout.weight.mul_(1.01)
    moved = differences(forward_backward(fast, x, rf, probe, seed=1), ref, skip=vanishing_gradients(reference))
    assert moved["output"] > 1e-4


def test_differences_refuses_passes_of_other_models():
    a = Pass(torch.zeros(1), {"w": torch.ones(1)})
    b = Pass(torch.zeros(1), {"v": torch.ones(1)})
    with pytest.raises(ValueError, match=r"different parameters: \['v', 'w'\]"):
        differences(a, b)
