"""The Triton soft-DTW kernels, run on the CPU by Triton's interpreter (TRITON_INTERPRET=1).

The interpreter must be switched on before triton is imported, so the checks run in a fresh
subprocess; it compares the float32 kernels' values and gradients with the float64 PyTorch path
(itself tested against a brute-force reference) and prints the worst relative errors.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("triton")

SCRIPT = textwrap.dedent(r'''
    import json, os
    assert os.environ["TRITON_INTERPRET"] == "1"
    import torch
    import triton.runtime.interpreter  # noqa: F401  (the interpreter is what runs below)
    from vist.kernels import soft_dtw, windowed_divergence

    def grads(fn, x, y):
        x = x.clone().requires_grad_(True); y = y.clone().requires_grad_(True)
        v = fn(x, y)
        gx, gy = torch.autograd.grad((v * torch.arange(1, v.numel() + 1.0)).sum(), (x, y))
        return v.detach(), gx, gy

    def rel(a, b):  # float32 kernel against the float64 PyTorch path on the same inputs
        a, b = a.double(), b.double()
        return float((a - b).abs().max() / b.abs().max().clamp_min(1e-30))

    g = torch.Generator().manual_seed(0)
    out = {}
    # (B, N, M, d, normalize): unequal lengths, 1-d, lane chunks (N > BLOCK), feature chunks (d > 128)
    for B, N, M, d, norm in [(2, 1, 1, 1, False), (3, 5, 9, 3, False), (2, 7, 4, 2, True),
                             (2, 12, 12, 5, True), (1, 40, 35, 130, False)]:
        x = torch.randn(B, N, d, generator=g); y = torch.randn(B, M, d, generator=g)
        vt, gxt, gyt = grads(lambda a, b: soft_dtw(a, b, 0.1, norm, backend="triton"), x, y)
        vc, gxc, gyc = grads(lambda a, b: soft_dtw(a, b, 0.1, norm, backend="torch"), x.double(), y.double())
        out[f"pair {B}x{N}x{M}x{d} norm={norm}"] = [rel(vt, vc), rel(gxt, gxc), rel(gyt, gyc)]
    # the Vi-ST windows read in place from [B, T, cells], both sizes in one launch, and a
    # non-contiguous input (a transposed view)
    pred = torch.rand(1, 5, 16, generator=g).transpose(1, 2)
    target = torch.rand(1, 16, 5, generator=g)
    for div in [(8, 4), (4,)]:
        vt, gxt, gyt = grads(lambda a, b: windowed_divergence(a, b, div, backend="triton"), pred, target)
        vc, gxc, gyc = grads(lambda a, b: windowed_divergence(a, b, div, backend="torch"),
                             pred.double(), target.double())
        out[f"windows {div}"] = [rel(vt, vc), rel(gxt, gxc), rel(gyt, gyc)]
    x = torch.randn(2, 6, 3, generator=g)
    out["small gamma finite"] = [float(not torch.isfinite(soft_dtw(x, x.flip(1), 0.001, backend="triton")).all())] * 3
    print(json.dumps(out))
''')


def test_triton_kernels_under_interpreter():
    env = {**os.environ, "TRITON_INTERPRET": "1"}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    errors = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(errors) == 8
    for case, (ev, egx, egy) in errors.items():
        assert ev <= 1e-5, (case, ev)
        assert egx <= 1e-4 and egy <= 1e-4, (case, egx, egy)
