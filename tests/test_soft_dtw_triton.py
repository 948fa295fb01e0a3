"""The Triton soft-DTW kernels, run on the CPU by Triton's interpreter (TRITON_INTERPRET=1).

The interpreter must be switched on before triton is imported, so the checks run in a fresh
subprocess; it compares the float32 kernels' values and gradients with the float64 PyTorch path
(itself tested against a brute-force reference) and prints the worst relative errors. Both
kernels are covered (the register-tile kernel for short sequences and the Vi-ST windows, the
long kernel with lane and feature chunks), as are both diagonal-shift variants of the tile
kernel (``tl.gather`` and the masked sum) and the fallback for windows longer than the tile.
The interpreter does not check that the kernels compile for a GPU: ``tools/gpu_kernels.py`` does.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("triton")

SCRIPT = textwrap.dedent(r'''
    import json, os, warnings
    assert os.environ["TRITON_INTERPRET"] == "1"
    warnings.simplefilter("ignore", RuntimeWarning)   # numpy: inf - inf in lanes that are masked
    import numpy as np
    np.seterr(all="ignore")
    import torch
    import triton.runtime.interpreter  # noqa: F401  (the interpreter is what runs below)
    from vist.kernels import soft_dtw, windowed_divergence
    from vist.kernels import triton_sdtw as ts

    def grads(fn, x, y):
        x = x.clone().requires_grad_(True); y = y.clone().requires_grad_(True)
        v = fn(x, y)
        gx, gy = torch.autograd.grad((v * torch.arange(1, v.numel() + 1.0)).sum(), (x, y))
        return v.detach(), gx, gy

    def rel(a, b):  # float32 kernel against the float64 PyTorch path on the same inputs
        a, b = a.double(), b.double()
        return float((a - b).abs().max() / b.abs().max().clamp_min(1e-30))

    def compare(name, fn, x, y):
        vt, gxt, gyt = grads(lambda a, b: fn(a, b, "triton"), x, y)
        vc, gxc, gyc = grads(lambda a, b: fn(a, b, "torch"), x.double(), y.double())
        finite = all(bool(torch.isfinite(t).all()) for t in (vt, gxt, gyt))
        out[name] = [rel(vt, vc), rel(gxt, gxc), rel(gyt, gyc)] if finite else [float("nan")] * 3

    g = torch.Generator().manual_seed(0)
    out = {}
    # (B, N, M, d, normalize): the tile kernel (<= TILE_MAX = 32 steps), incl. 1 step, unequal
    # lengths and more features than one chunk
    for B, N, M, d, norm in [(2, 1, 1, 1, False), (3, 5, 9, 3, False), (2, 7, 4, 2, True),
                             (2, 12, 12, 5, True), (1, 20, 17, 130, True)]:
        x = torch.randn(B, N, d, generator=g); y = torch.randn(B, M, d, generator=g)
        compare(f"tile {B}x{N}x{M}x{d} norm={norm}",
                lambda a, b, be: soft_dtw(a, b, 0.1, norm, backend=be), x, y)
    # the long kernel (tile limit lowered so that small shapes reach it): unequal lengths, more
    # features than one chunk, and diagonals longer than the lanes (chunks of 8)
    ts.TILE_MAX = 4
    for B, N, M, d, norm in [(1, 13, 9, 40, False), (1, 11, 6, 3, True)]:
        x = torch.randn(B, N, d, generator=g); y = torch.randn(B, M, d, generator=g)
        compare(f"long {B}x{N}x{M}x{d} norm={norm}",
                lambda a, b, be: soft_dtw(a, b, 0.1, norm, backend=be), x, y)
    ts.LONG_MAX_LANES = 8
    compare("long, lane chunks 19x14", lambda a, b, be: soft_dtw(a, b, 0.1, backend=be),
            torch.randn(1, 19, 2, generator=g), torch.randn(1, 14, 2, generator=g))
    ts.LONG_MAX_LANES = 1024
    # windows longer than the tile kernel takes: copies through the long kernel
    pred = torch.rand(1, 5, 16, generator=g).transpose(1, 2)   # non-contiguous [1, 16, 5]
    target = torch.rand(1, 16, 5, generator=g)
    ts.TILE_MAX = 3
    compare("windows (2,) > TILE_MAX", lambda a, b, be: windowed_divergence(a, b, (2,), backend=be),
            pred[:, :8], target[:, :8])
    ts.TILE_MAX = 4
    x = torch.randn(1, 12, 1, generator=g)
    compare("gamma=0.001 long", lambda a, b, be: soft_dtw(a, b, 0.001, backend=be), x, x.flip(1))
    with torch.no_grad():   # values without gradients (no reverse sweep) equal those with them
        a = torch.randn(2, 9, 2, generator=g); b = torch.randn(2, 7, 2, generator=g)
        v0 = soft_dtw(a, b, 0.1, True, backend="triton")
    v1 = soft_dtw(a.requires_grad_(), b, 0.1, True, backend="triton").detach()
    ts.TILE_MAX = 32
    # the Vi-ST windows read in place from [B, T, cells] (here a transposed view), both sizes
    # in one launch; both shift variants of the tile kernel
    for div, gather in [((8, 4), True), ((4,), True), ((8, 4), False)]:
        ts.USE_GATHER = gather
        compare(f"windows {div} gather={gather}",
                lambda a, b, be: windowed_divergence(a, b, div, backend=be), pred, target)
    ts.USE_GATHER = True
    # other tile-kernel settings (wider feature chunks, more warps, pipelined feature loops):
    # the same function (tools/gpu_kernels.py times them)
    default = ts.TILE_TEMP_VALUES, ts.TILE_WARPS, ts.TILE_STAGES, ts.TILE_PREFETCH
    for temp, warps, stages, prefetch in [(16, None, None, False), (32, 2, 2, False), (64, None, None, True)]:
        ts.TILE_TEMP_VALUES, ts.TILE_WARPS, ts.TILE_STAGES, ts.TILE_PREFETCH = temp, warps, stages, prefetch
        compare(f"windows (8, 4) temp={temp} warps={warps} stages={stages} prefetch={prefetch}",
                lambda a, b, be: windowed_divergence(a, b, (8, 4), backend=be), pred, target)
    ts.TILE_PREFETCH = True   # also the plain tile path (unequal lengths, one pair)
    compare("tile 3x5x9x3 prefetch", lambda a, b, be: soft_dtw(a, b, 0.1, False, backend=be),
            torch.randn(3, 5, 3, generator=g), torch.randn(3, 9, 3, generator=g))
    ts.TILE_TEMP_VALUES, ts.TILE_WARPS, ts.TILE_STAGES, ts.TILE_PREFETCH = default
    # small gamma: stable, and still the right gradient (float32: looser tolerance below)
    x = torch.randn(2, 6, 3, generator=g)
    compare("gamma=0.001 tile", lambda a, b, be: soft_dtw(a, b, 0.001, True, backend=be), x, x.flip(1))
    compare("gamma=0.001 windows",
            lambda a, b, be: windowed_divergence(a, b, (8, 4), gamma=0.001, backend=be), pred, target)
    with torch.no_grad():
        w0 = windowed_divergence(pred, target, (8, 4), backend="triton")
        t0 = soft_dtw(a, b, 0.1, True, backend="triton")
    w1 = windowed_divergence(pred.clone().requires_grad_(), target, (8, 4), backend="triton").detach()
    t1 = soft_dtw(a, b, 0.1, True, backend="triton").detach()
    out["no-grad values"] = [max(rel(v0, v1), rel(w0, w1), rel(t0, t1))] * 3
    print(json.dumps(out))
''')


def test_triton_kernels_under_interpreter():
    env = {**os.environ, "TRITON_INTERPRET": "1"}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    errors = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(errors) == 20, sorted(errors)
    for case, (ev, egx, egy) in errors.items():
        tol_v, tol_g = (1e-4, 1e-2) if "gamma=0.001" in case else (1e-5, 1e-4)
        assert ev <= tol_v, (case, ev)
        assert egx <= tol_g and egy <= tol_g, (case, egx, egy)
