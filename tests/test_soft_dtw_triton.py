"""The Triton soft-DTW kernels, run on the CPU by Triton's interpreter (``TRITON_INTERPRET=1``,
set by ``tests/conftest.py`` before the kernels are imported).

The float32 kernels' values and gradients are compared with the float64 PyTorch path (itself
tested against a brute-force reference). Both kernels are covered (the register-tile kernel for
short sequences and the Vi-ST windows, the long kernel with lane and feature chunks), as are
both diagonal-shift variants of the tile kernel (``tl.gather`` and the masked sum), the other
tile-kernel settings, and the fallback for windows longer than the tile. The interpreter does
not check that the kernels compile for a GPU: ``tools/gpu_kernels.py`` does.
"""

import warnings

import pytest
import torch

from vist.kernels import KernelSettings, soft_dtw, windowed_divergence

pytest.importorskip("triton")

DEFAULT = KernelSettings()
SHORT_TILE = KernelSettings(tile_max=4)  # small shapes reach the long kernel


@pytest.fixture(autouse=True)
def _quiet_numpy():
    """The interpreter computes ``inf - inf`` in lanes that are masked afterwards."""
    import numpy as np

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _grads(fn, x, y):
    x = x.clone().requires_grad_(True)
    y = y.clone().requires_grad_(True)
    v = fn(x, y)
    gx, gy = torch.autograd.grad((v * torch.arange(1, v.numel() + 1.0)).sum(), (x, y))
    return v.detach(), gx, gy


def _rel(a, b):
    a, b = a.double(), b.double()
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-30))


def _check(fn, x, y, tol_v=1e-5, tol_g=1e-4):
    """``fn(a, b, backend)`` in float32 Triton against float64 torch: values and both gradients."""
    vt, gxt, gyt = _grads(lambda a, b: fn(a, b, "triton"), x, y)
    vc, gxc, gyc = _grads(lambda a, b: fn(a, b, "torch"), x.double(), y.double())
    for t in (vt, gxt, gyt):
        assert torch.isfinite(t).all()
    assert _rel(vt, vc) <= tol_v
    assert _rel(gxt, gxc) <= tol_g and _rel(gyt, gyc) <= tol_g


def _pair(B, N, M, d, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(B, N, d, generator=g), torch.randn(B, M, d, generator=g)


def _clip():
    """Prediction (a non-contiguous view) and target ``[1, 16, 5]``."""
    g = torch.Generator().manual_seed(1)
    return torch.rand(1, 5, 16, generator=g).transpose(1, 2), torch.rand(1, 16, 5, generator=g)


# (B, N, M, d, normalize): 1 step, unequal lengths, more features than one chunk
@pytest.mark.parametrize("B, N, M, d, norm", [(2, 1, 1, 1, False), (3, 5, 9, 3, False), (2, 7, 4, 2, True),
                                              (2, 12, 12, 5, True), (1, 20, 17, 130, True)])
def test_tile_kernel(B, N, M, d, norm):
    _check(lambda a, b, be: soft_dtw(a, b, 0.1, norm, backend=be), *_pair(B, N, M, d))


@pytest.mark.parametrize("B, N, M, d, norm", [(1, 13, 9, 40, False), (1, 11, 6, 3, True)])
def test_long_kernel(B, N, M, d, norm):
    _check(lambda a, b, be: soft_dtw(a, b, 0.1, norm, backend=be, settings=SHORT_TILE), *_pair(B, N, M, d, seed=5))


def test_long_kernel_lane_chunks():
    lanes = KernelSettings(tile_max=4, long_max_lanes=8)
    _check(lambda a, b, be: soft_dtw(a, b, 0.1, backend=be, settings=lanes), *_pair(1, 19, 14, 2))


def test_windows_longer_than_the_tile_are_copied():
    pred, target = _clip()
    _check(lambda a, b, be: windowed_divergence(a, b, (2,), backend=be, settings=KernelSettings(tile_max=3)),
           pred[:, :8], target[:, :8])


@pytest.mark.parametrize("divisors, gather", [((8, 4), True), ((4,), True), ((8, 4), False)])
def test_vist_windows_in_place(divisors, gather):
    """Both window sizes in one launch, read in place from a transposed view; both shift variants."""
    settings = KernelSettings(gather=gather)
    _check(lambda a, b, be: windowed_divergence(a, b, divisors, backend=be, settings=settings), *_clip())


@pytest.mark.parametrize("temp, warps, stages, prefetch", [(16, None, None, False), (32, 2, 2, False),
                                                           (64, None, None, True)])
def test_other_tile_settings_same_function(temp, warps, stages, prefetch):
    """Wider feature chunks, more warps, pipelined loops, prefetched loads: the same function."""
    settings = KernelSettings(tile_temp_values=temp, tile_warps=warps, tile_stages=stages, tile_prefetch=prefetch)
    _check(lambda a, b, be: windowed_divergence(a, b, (8, 4), backend=be, settings=settings), *_clip())
    if prefetch:  # also the plain tile path (unequal lengths, one pair)
        _check(lambda a, b, be: soft_dtw(a, b, 0.1, False, backend=be, settings=settings), *_pair(3, 5, 9, 3))


def test_small_gamma_is_stable():
    """γ = 1e-3: finite, and still the right gradient (float32: looser tolerance)."""
    x = torch.randn(1, 12, 1, generator=torch.Generator().manual_seed(2))
    _check(lambda a, b, be: soft_dtw(a, b, 0.001, backend=be, settings=SHORT_TILE), x, x.flip(1),
           tol_v=1e-4, tol_g=1e-2)
    x = torch.randn(2, 6, 3, generator=torch.Generator().manual_seed(3))
    _check(lambda a, b, be: soft_dtw(a, b, 0.001, True, backend=be), x, x.flip(1), tol_v=1e-4, tol_g=1e-2)
    _check(lambda a, b, be: windowed_divergence(a, b, (8, 4), gamma=0.001, backend=be), *_clip(),
           tol_v=1e-4, tol_g=1e-2)


def test_values_without_gradients_equal_those_with():
    """Without an input needing a gradient no reverse sweep runs; the values are the same."""
    a, b = _pair(2, 9, 7, 2, seed=4)
    pred, target = _clip()
    for settings in (DEFAULT, SHORT_TILE):
        with torch.no_grad():
            v0 = soft_dtw(a, b, 0.1, True, backend="triton", settings=settings)
        v1 = soft_dtw(a.clone().requires_grad_(), b, 0.1, True, backend="triton", settings=settings).detach()
        assert _rel(v0, v1) <= 1e-6
    with torch.no_grad():
        w0 = windowed_divergence(pred, target, (8, 4), backend="triton")
    w1 = windowed_divergence(pred.clone().requires_grad_(), target, (8, 4), backend="triton").detach()
    assert _rel(w0, w1) <= 1e-6
