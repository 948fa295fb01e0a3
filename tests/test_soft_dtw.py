"""Soft-DTW (CPU path): against a float64 brute-force autograd reference, tslearn >= 0.10 and gradcheck."""

import math

import numpy as np
import pytest
import torch

from vist.kernels import soft_dtw, vist_windows, windowed_divergence
from vist.kernels.reference import legacy_tslearn_soft_dtw, soft_dtw_bruteforce
from vist.kernels.soft_dtw import soft_alignment, sq_euclidean_cost


def shifted_sines(B=2, N=12, M=12, d=5, shift=2, dtype=torch.float64):
    """x: sines with per-dimension phases; y: the same sines delayed by ``shift`` steps."""
    t = torch.arange(max(N, M), dtype=dtype)
    ph = torch.arange(d, dtype=dtype)[None, :] * 0.6
    b = torch.arange(B, dtype=dtype)[:, None, None] * 0.3
    x = torch.sin(2 * math.pi * t[:N, None] / 12 + ph + b)
    y = torch.sin(2 * math.pi * (t[:M, None] - shift) / 12 + ph + b)
    return x, y


def rel(a, b):
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-30))


def _values_and_grads(fn, x, y):
    x = x.clone().requires_grad_(True)
    y = y.clone().requires_grad_(True)
    v = fn(x, y)
    gx, gy = torch.autograd.grad(v.sum(), (x, y))
    return v.detach(), gx, gy


CASES = [(1, 1, 1), (1, 6, 2), (6, 1, 3), (7, 4, 3), (12, 12, 5), (3, 17, 1), (9, 9, 90)]


@pytest.mark.parametrize("N,M,d", CASES)
@pytest.mark.parametrize("gamma", [0.1, 1.0])
def test_matches_bruteforce_float64(N, M, d, gamma):
    g = torch.Generator().manual_seed(N * 100 + M * 10 + d)
    x = torch.randn(3, N, d, dtype=torch.float64, generator=g)
    y = torch.randn(3, M, d, dtype=torch.float64, generator=g)
    v, gx, gy = _values_and_grads(lambda a, b: soft_dtw(a, b, gamma, backend="torch"), x, y)
    vr, rx, ry = _values_and_grads(lambda a, b: soft_dtw_bruteforce(a, b, gamma), x, y)
    assert rel(v, vr) <= 1e-6 and rel(gx, rx) <= 1e-6 and rel(gy, ry) <= 1e-6


@pytest.mark.parametrize("shift", [1, 2, 4])
def test_time_shifted_pairs_bruteforce(shift):
    x, y = shifted_sines(shift=shift)
    v, gx, gy = _values_and_grads(lambda a, b: soft_dtw(a, b, 0.1, normalize=True), x, y)

    def ref(a, b):
        return soft_dtw_bruteforce(a, b, 0.1) - 0.5 * (soft_dtw_bruteforce(a, a, 0.1)
                                                        + soft_dtw_bruteforce(b, b, 0.1))

    vr, rx, ry = _values_and_grads(ref, x, y)
    assert rel(v, vr) <= 1e-6 and rel(gx, rx) <= 1e-6 and rel(gy, ry) <= 1e-6


@pytest.mark.parametrize("N,M,normalize", [(12, 12, False), (12, 12, True), (10, 14, False),
                                           (14, 9, True), (20, 20, True)])
def test_matches_tslearn_float32(N, M, normalize):
    from tslearn.metrics import SoftDTWLossPyTorch

    x, y = shifted_sines(B=3, N=N, M=M, d=5, shift=3, dtype=torch.float32)
    x = x + 0.1 * torch.randn(x.shape, generator=torch.Generator().manual_seed(N + M))
    v, gx, gy = _values_and_grads(lambda a, b: soft_dtw(a, b, 0.1, normalize=normalize), x, y)
    ts = SoftDTWLossPyTorch(gamma=0.1, normalize=normalize)
    vt, tx, ty = _values_and_grads(lambda a, b: ts(a, b), x, y)
    assert rel(v, vt) <= 1e-5
    assert rel(gx, tx) <= 1e-3 and rel(gy, ty) <= 1e-3


def test_gradcheck():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 5, 3, dtype=torch.float64, generator=g, requires_grad=True)
    y = torch.randn(2, 7, 3, dtype=torch.float64, generator=g, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: soft_dtw(a, b, 0.3), (x, y))
    assert torch.autograd.gradcheck(lambda a, b: soft_dtw(a, b, 0.3, normalize=True), (x, y))


def test_normalize_zero_for_identical_inputs():
    x, _ = shifted_sines(B=4, d=3, dtype=torch.float32)
    assert torch.equal(soft_dtw(x, x.clone(), normalize=True), torch.zeros(4))
    x64, y64 = shifted_sines(B=2, d=3)
    assert (soft_dtw(x64, y64, normalize=True) > 0).all()


def test_small_gamma_is_finite_and_approaches_dtw():
    x, y = shifted_sines(B=2, N=15, M=11, d=2, dtype=torch.float32)
    x.requires_grad_(True)
    v = soft_dtw(x, y, gamma=0.001)
    (g,) = torch.autograd.grad(v.sum(), x)
    assert torch.isfinite(v).all() and torch.isfinite(g).all()
    # hard DTW by the plain min recursion, float64
    C = sq_euclidean_cost(x.detach().double(), y.double())[0].numpy()
    R = np.full((16, 12), np.inf)
    R[0, 0] = 0
    for i in range(1, 16):
        for j in range(1, 12):
            R[i, j] = C[i - 1, j - 1] + min(R[i - 1, j], R[i, j - 1], R[i - 1, j - 1])
    # each softmin is within γ·log 3 of the min; N + M - 1 of them along the table
    assert abs(v[0].item() - R[-1, -1]) <= 0.001 * math.log(3) * 25 + 1e-4


def test_long_sequences_beyond_1024():
    x = torch.sin(torch.linspace(0, 60, 1100))[None, :, None]
    y = torch.sin(torch.linspace(0.3, 60.3, 1030))[None, :, None]
    x.requires_grad_(True)
    v = soft_dtw(x, y, 0.1)
    (g,) = torch.autograd.grad(v.sum(), x)
    assert torch.isfinite(v).all() and torch.isfinite(g).all() and g.abs().sum() > 0


def test_alignment_is_a_soft_path():
    """E = ∂value/∂C: 1 at both corners, entries in [0, 1], each row-sum ≥ 1/(row visits)."""
    x, y = shifted_sines(B=1, N=9, M=13, d=3)
    C = sq_euclidean_cost(x, y)
    v, E = soft_alignment(C, 0.1)
    E = E[0]
    assert abs(v.item() - soft_dtw_bruteforce(x, y, 0.1).item()) <= 1e-9 * abs(v.item())
    assert abs(E[0, 0].item() - 1) < 1e-9 and abs(E[-1, -1].item() - 1) < 1e-9
    assert E.min() >= -1e-12 and E.max() <= 1 + 1e-9
    # every anti-diagonal band is crossed: each row is visited with total mass >= 1
    assert (E.sum(1) >= 1 - 1e-9).all()


@pytest.mark.parametrize("bad,msg", [
    (lambda: soft_dtw(torch.zeros(2, 3), torch.zeros(2, 3, 1)), "must be \\[B, length, d\\]"),
    (lambda: soft_dtw(torch.zeros(2, 3, 1), torch.zeros(3, 3, 1)), "batch sizes differ"),
    (lambda: soft_dtw(torch.zeros(2, 3, 1), torch.zeros(2, 3, 2)), "feature dims differ"),
    (lambda: soft_dtw(torch.zeros(1, 3, 1), torch.zeros(1, 3, 1), gamma=0.0), "gamma must be > 0"),
    (lambda: soft_dtw(torch.zeros(1, 3, 1), torch.zeros(1, 3, 1), backend="cuda"), "backend must be"),
    (lambda: soft_dtw(torch.zeros(1, 3, 1, dtype=torch.long), torch.zeros(1, 3, 1)), "floating point"),
])
def test_bad_input_is_named(bad, msg):
    with pytest.raises((ValueError, TypeError), match=msg):
        bad()


def test_vist_windows_paper_shapes():
    assert vist_windows(128) == [(6, 3, 41), (12, 6, 20)]
    # starts 0, hop, … while start < T - w: the window ending exactly at T is skipped
    for w, hop, n in vist_windows(100):
        starts = list(range(0, 100 - w, hop))
        assert n == len(starts) and starts[-1] + w < 100
    with pytest.raises(ValueError, match="need at least 2 frames"):
        vist_windows(30)


def test_windowed_divergence_equals_explicit_loop():
    g = torch.Generator().manual_seed(3)
    pred = torch.rand(2, 64, 4, dtype=torch.float64, generator=g)
    target = torch.rand(2, 64, 4, dtype=torch.float64, generator=g)
    s = windowed_divergence(pred, target)
    for k, (w, hop, n) in enumerate(vist_windows(64)):
        vals = [soft_dtw_bruteforce(pred[:, a:a + w], target[:, a:a + w], 0.1)
                - 0.5 * (soft_dtw_bruteforce(pred[:, a:a + w], pred[:, a:a + w], 0.1)
                         + soft_dtw_bruteforce(target[:, a:a + w], target[:, a:a + w], 0.1))
                for a in range(0, 64 - w, hop)]
        assert len(vals) == n
        assert abs(s[k].item() - torch.stack(vals).mean().item()) <= 1e-9 * abs(s[k].item()) + 1e-12


def test_legacy_tslearn_defect_is_the_truncated_problem():
    """tslearn <= 0.9's gradient = our gradient of the cost matrix without its last row and column,
    plus a 1 at the last cell; its value read after backward = the truncated problem's value."""
    x, y = shifted_sines(B=2, N=12, M=10, d=5, shift=2)
    leg = legacy_tslearn_soft_dtw(x, y, 0.1)
    C = sq_euclidean_cost(x, y)
    full, _ = soft_alignment(C, 0.1)
    trunc_value, E_trunc = soft_alignment(C[:, :-1, :-1], 0.1)
    expect = torch.zeros_like(C)
    expect[:, :-1, :-1] = E_trunc
    expect[:, -1, -1] = 1.0
    assert np.allclose(leg.value, full.numpy(), rtol=1e-10)
    assert np.allclose(leg.value_after_backward, trunc_value.numpy(), rtol=1e-10)
    assert np.allclose(leg.alignment, expect.numpy(), atol=1e-10)
    # and on these time-shifted signals the defect is large
    xr = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(soft_dtw_bruteforce(xr, y, 0.1).sum(), xr)
    err = np.linalg.norm(leg.grad_x - g.numpy()) / np.linalg.norm(g.numpy())
    assert err > 0.1


@pytest.mark.parametrize("B", [2, 16])
@pytest.mark.parametrize("noise", [0.02, 0.5])
def test_float32_vist_windows_match_float64(B, noise):
    """The CPU path in float32 on the Vi-ST windows (T = 128, 90 cells, windows 6 and 12) within
    1e-6 relative of float64. The cost expanded as |x|² + |y|² − 2 x·y cancels where prediction
    and target are close (and in every D(a, a)): that was 7e-4 off for a near-perfect prediction."""
    g = torch.Generator().manual_seed(B)
    target = torch.rand(B, 128, 90, generator=g) ** 3 * 4
    pred = (target + noise * torch.randn(B, 128, 90, generator=g)).clamp_min(0)
    ref = windowed_divergence(pred.double(), target.double(), backend="torch")
    got = windowed_divergence(pred, target, backend="torch")
    assert got.dtype == torch.float32 and (ref > 0).all()
    assert float(((got.double() - ref).abs() / ref).max()) <= 1e-6


def test_cost_matrix_of_unequal_lengths_is_the_direct_sum():
    from vist.kernels.soft_dtw import _cost_matrix

    g = torch.Generator().manual_seed(0)
    for N, M in ((3, 7), (7, 3), (5, 5)):
        x, y = torch.rand(2, N, 4, generator=g), torch.rand(2, M, 4, generator=g)
        assert torch.equal(_cost_matrix(x, y), sq_euclidean_cost(x, y))


def test_kernel_settings_are_frozen_checked_and_leave_the_torch_path_alone():
    import dataclasses

    from vist.kernels import DEFAULT_SETTINGS, KernelSettings

    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT_SETTINGS.tile_max = 3
    with pytest.raises(ValueError, match="tile_max"):
        KernelSettings(tile_max=0)
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(2, 7, 3, generator=g), torch.randn(2, 5, 3, generator=g)
    other = KernelSettings(tile_max=2, long_max_lanes=4, gather=False)
    assert torch.equal(soft_dtw(x, y, backend="torch"), soft_dtw(x, y, backend="torch", settings=other))
