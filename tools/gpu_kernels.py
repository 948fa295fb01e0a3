"""GPU check of the Triton soft-DTW kernels: correctness against the CPU path, then speed.

Run from the repository root on a machine with a CUDA GPU, torch, triton, numpy and scipy (no
tslearn, no internet needed):

    python tools/gpu_kernels.py            # prints checks and a table; writes $OUT/kernels_gpu.json

1. correctness: values and gradients of the Triton kernels on CUDA (float32) against the PyTorch
   path in float64 on the CPU, for the Vi-ST windows of [16, 128, 90], a [90, 800, 1] batch,
   unequal lengths, the divergence, more than 128 features and more than 1024 steps;
2. speed (medians, CUDA-synchronised): the Vi-ST soft-DTW term (ŷ [16, 128, 90], both window
   sizes, forward + backward; target <= 0.1 ms), [90, 800, 1] forward + backward (target <= 5 ms),
   SD-KL of 90 cells x 1600 frames (CPU numpy, vectorised vs per-cell scipy).
Exits non-zero if a correctness check fails. Budget: < 3 minutes including Triton compilation.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from vist.bench.common import BenchTable, device_name, median_time  # noqa: E402
from vist.kernels import soft_dtw, windowed_divergence  # noqa: E402

T0 = time.time()


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.detach().double().cpu(), b.detach().double().cpu()
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-30))


def value_and_grads(fn, x: torch.Tensor, y: torch.Tensor):
    x = x.detach().clone().requires_grad_(True)
    y = y.detach().clone().requires_grad_(True)
    v = fn(x, y)
    w = torch.linspace(1, 2, v.numel(), device=v.device, dtype=v.dtype).reshape(v.shape)
    gx, gy = torch.autograd.grad((v * w).sum(), (x, y))
    return v, gx, gy


def check(name: str, fn, x: torch.Tensor, y: torch.Tensor, tol_v=1e-5, tol_g=1e-3) -> bool:
    t = time.time()
    vt, gxt, gyt = value_and_grads(lambda a, b: fn(a, b, "triton"), x.cuda(), y.cuda())
    torch.cuda.synchronize()
    vc, gxc, gyc = value_and_grads(lambda a, b: fn(a, b, "torch"), x.double(), y.double())
    errs = rel(vt, vc), rel(gxt, gxc), rel(gyt, gyc)
    ok = errs[0] <= tol_v and errs[1] <= tol_g and errs[2] <= tol_g and all(
        torch.isfinite(z).all() for z in (vt, gxt, gyt))
    print(f"[{'ok' if ok else 'FAIL'}] {name}: rel err value {errs[0]:.2e}, grad x {errs[1]:.2e}, "
          f"grad y {errs[2]:.2e} ({time.time() - t:.1f} s incl. compile)", flush=True)
    return ok


def main() -> int:
    if not torch.cuda.is_available():
        print("no CUDA device: nothing to check")
        return 2
    dev = device_name("cuda")
    print(dev, "| torch", torch.__version__, "| triton", __import__("triton").__version__, flush=True)
    g = torch.Generator().manual_seed(0)
    ok = True
    pred, target = torch.rand(16, 128, 90, generator=g), torch.rand(16, 128, 90, generator=g)
    ok &= check("Vi-ST windows [16,128,90] (6+12)", lambda a, b, be: windowed_divergence(a, b, backend=be),
                pred, target)
    x = torch.sin(torch.linspace(0, 40, 800))[None, :, None].repeat(90, 1, 1)
    x = x + 0.1 * torch.randn(x.shape, generator=g)
    y = torch.roll(x, 5, dims=1)
    ok &= check("[90,800,1] value", lambda a, b, be: soft_dtw(a, b, 0.1, backend=be), x, y, tol_v=1e-4)
    ok &= check("unequal lengths [4,37,3] vs [4,21,3], divergence",
                lambda a, b, be: soft_dtw(a, b, 0.1, normalize=True, backend=be),
                torch.randn(4, 37, 3, generator=g), torch.randn(4, 21, 3, generator=g))
    ok &= check("d=200 (feature chunks), [3,40,200] vs [3,45,200]",
                lambda a, b, be: soft_dtw(a, b, 1.0, backend=be),
                0.1 * torch.randn(3, 40, 200, generator=g), 0.1 * torch.randn(3, 45, 200, generator=g))
    ok &= check("1500 x 1300 steps (lane chunks)", lambda a, b, be: soft_dtw(a, b, 0.1, backend=be),
                torch.randn(2, 1500, 1, generator=g) * 0.3, torch.randn(2, 1300, 1, generator=g) * 0.3,
                tol_v=1e-4)
    xs = torch.randn(8, 30, 4, generator=g)
    ok &= check("gamma=0.001", lambda a, b, be: soft_dtw(a, b, 0.001, backend=be), xs, xs.flip(1),
                tol_g=1e-2)
    print(f"checks done at {time.time() - T0:.0f} s", flush=True)

    table = BenchTable(name="kernels-gpu", device=dev)
    sync = torch.cuda.synchronize

    def fwd_bwd(fn, a, b):
        a = a.cuda().requires_grad_(True)
        b = b.cuda()

        def step():
            a.grad = None
            fn(a, b).sum().backward()
        return step

    for what, shape, fn, a, b, rep, target_ms in [
        ("Vi-ST soft-DTW term, windows 6+12, fwd+bwd", "[16,128,90]",
         lambda p, t: windowed_divergence(p, t, backend="triton"), pred, target, 200, 0.1),
        ("soft-DTW value, fwd+bwd", "[90,800,1]",
         lambda p, t: soft_dtw(p, t, 0.1, backend="triton"), x, y, 20, 5.0),
    ]:
        t = median_time(fwd_bwd(fn, a, b), repeat=rep, warmup=3, sync=sync) * 1e3
        table.rows.append({"what": what, "shape": shape, "impl": "vist (triton)", "median_ms": t,
                           "target_ms": target_ms, "meets_target": t <= target_ms})
        print(f"{what} {shape}: {t:.4f} ms (target <= {target_ms} ms)", flush=True)
    # the same term through the PyTorch path on the GPU, for scale
    t = median_time(fwd_bwd(lambda p, q: windowed_divergence(p, q, backend="torch"), pred, target),
                    repeat=10, warmup=1, sync=sync) * 1e3
    table.rows.append({"what": "Vi-ST soft-DTW term, windows 6+12, fwd+bwd", "shape": "[16,128,90]",
                       "impl": "vist (torch path on GPU)", "median_ms": t, "target_ms": None,
                       "meets_target": None})

    from vist.bench.kernels import sdkl_inputs
    from vist.metrics import sd_kl, sd_kl_reference

    p, tr, label = sdkl_inputs()
    tv = median_time(lambda: sd_kl(p, tr), repeat=7) * 1e3
    tref = median_time(lambda: sd_kl_reference(p, tr), repeat=3) * 1e3
    for impl, ms in (("vist sd_kl (all cells at once)", tv), ("per-cell scipy (authors' approach)", tref)):
        table.rows.append({"what": "SD-KL per cell (CPU of the GPU machine)", "shape": f"[{tr.shape[0]},{tr.shape[1]}]",
                           "impl": impl, "median_ms": ms, "target_ms": None, "meets_target": None})
    table.notes += [f"SD-KL data: {label}; speedup {tref / tv:.1f}x.",
                    f"correctness checks: {'all passed' if ok else 'FAILED'}",
                    f"total wall time {time.time() - T0:.0f} s (incl. Triton compilation)."]
    print(table.to_text())
    out = os.environ.get("OUT")
    if out:
        print("saved", table.save(Path(out) / "kernels_gpu.json"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
