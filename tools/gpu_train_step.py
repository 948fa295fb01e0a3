#!/usr/bin/env python
"""GPU checks for issue 7 (one CUDA GPU, one run of about 3 minutes): FastViST against the reference Vi-ST.

Installs nothing. Every section fails soft (its error is printed and the next section runs), the
JSON is rewritten to ``$OUT/train_step_gpu.json`` after every section, and the optional sections
are skipped when the time budget (``--budget``, default 170 s) would be exceeded.

1. **Same function** at a reduced shape (batch 2, 32 frames, 16×16 grid, 1024-d, extractor
   width 256, 90 cells), training mode with dropout 0 (the two implementations' CUDA dropout
   masks are different draws) and eval mode; the reference Vi-ST and FastViST start from the
   same weights. Error of a tensor ``a`` against ``b``: ``‖a − b‖₂ / ‖b‖₂`` (norm-wise relative),
   for the output and for every parameter gradient (the extractor's conv biases, whose gradient
   is exactly 0 before training-mode BatchNorm, are reported, not judged).

   * **fp32**, TF32 off everywhere (``torch.backends.cuda.matmul.allow_tf32 = False``,
     ``torch.backends.cudnn.allow_tf32 = False``; the reference's cuDNN convs otherwise default
     to TF32, and our Triton kernels use no ``tl.dot``): fast vs reference, pass if every error
     ≤ 1e-4.
   * **bf16 autocast**: the ground truth is the *reference in fp32* (TF32 off). For every tensor
     the fast model's bf16 error and the reference's own bf16 error are computed against it;
     pass if for every tensor ``err_fast ≤ 1e-2`` or ``err_fast ≤ 1.1 · err_reference`` (the fast
     model is no worse than the reference's own bf16 rounding, 10 % slack).

2. **Kernels** (bf16, paper shapes): the depthwise op's parts — forward, input gradient, weight
   gradient — of the Triton kernels, the op's forward+backward, cuDNN (``F.conv3d``
   channels-first) forward and forward+backward. Also the CMST's full (1, 3, 3) 90 → 90 conv as cuDNN NHWC
   ``conv2d``, with 90 channels and zero-padded to 96.
3. **Training step** at the paper's shapes (batch 16, 128 frames, 16×16, 1024-d, 90 cells, bf16
   autocast): forward + Vi-ST loss + backward + AdamW, median ms over 10 steps after warm-up and
   peak GPU memory, for ``reference``, ``fast``, ``fast-graph`` (the whole step captured as one
   CUDA graph, capturable AdamW), then if time allows ``fast-compile`` and
   ``fast-compile-graph`` (``torch.compile``). Target: ≤ 40 ms/step, ≤ 8 GiB (the authors'
   module: 389–401 ms, 12.3 GiB on one H200, SPEC §7).
4. **Config sweep** of the Triton kernels (if time allows): ms per (R, BLOCK_P, BLOCK_C, warps)
   forward config and (BLOCK_P, BLOCK_C, warps) weight-gradient config at two shapes.

Usage (repository root):  PYTHONPATH=. python tools/gpu_train_step.py [--quick] [--budget S]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import os
import sys
import time
import traceback
from pathlib import Path

import torch
import torch.nn.functional as F

from vist.bench.train_step import StepInputs, run
from vist.cache import write_json_atomic
from vist.kernels import KernelSettings
from vist.kernels import conv_triton as ct
from vist.kernels.time_conv import depthwise_conv3d
from vist.model import ViST, ViSTConfig
from vist.model.equivalence import forward_backward, rel_error, vanishing_gradients
from vist.model.fast import FastViST

T0 = time.perf_counter()
BF16_RULE = ("bf16 criterion: per tensor (output, every parameter gradient), err = ||a - a_fp32|| / ||a_fp32|| "
             "against the reference in fp32 (TF32 off); pass if err_fast <= 1e-2 or err_fast <= 1.1 * err_reference")
FP32_RULE = ("fp32 criterion (TF32 off): per tensor, err = ||a - a_fp64|| / ||a_fp64|| against the reference in "
             "float64; pass if err_fast <= 1e-4 or err_fast <= 1.1 * err_reference_fp32 (also reported: "
             "||fast - reference|| / ||reference|| in fp32)")


def elapsed() -> float:
    return time.perf_counter() - T0


def say(*args) -> None:
    print(*args, flush=True)


@contextlib.contextmanager
def no_tf32():
    old = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old


# ---------------------------------------------------------------------------------------------
# 1. same function
# ---------------------------------------------------------------------------------------------

def check_same_function() -> dict:
    """fp32 fast vs reference (TF32 off); bf16 fast and reference vs the fp32 reference."""
    torch.manual_seed(0)
    base = ViST(ViSTConfig(feat_dim=1024, cells=90, dropout=0.0)).cuda()
    with torch.no_grad():  # AdaLN-Zero starts at zero; give it weights so its gradients are tested
        for m in base.modules():
            if isinstance(m, torch.nn.Conv3d) and not m.weight.any():
                m.weight.normal_(0, 0.02)
    inputs = StepInputs.make(2, 32, 1024, 90, 16, torch.device("cuda"))
    out: dict = {"shape": "B2 T32 G16 D1024 C256 cells90", "error": "norm-wise relative ||a-b||/||b||",
                 "fp32_rule": FP32_RULE, "bf16_rule": BF16_RULE}
    with no_tf32():
        for mode in ("train", "eval"):
            res = {}
            for impl in ("reference", "fast", "fast-recompute"):
                for prec in ("fp32", "bf16"):
                    model = copy.deepcopy(base) if impl == "reference" else \
                        FastViST.from_reference(base, KernelSettings(recompute=impl == "fast-recompute"))
                    res[impl, prec] = forward_backward(model, inputs.x, inputs.rf, inputs.y,
                                                       train=mode == "train", bf16=prec == "bf16")
            # float64 truth: some fp32 gradients are sums of ~10^5 terms that largely cancel
            # (video.inp.weight in eval mode), where fp32 rounding alone moves them by ~1e-3
            res["reference", "fp64"] = forward_backward(copy.deepcopy(base).double(), inputs.x.double(),
                                                        inputs.rf.double(), inputs.y.double(),
                                                        train=mode == "train", bf16=False)
            names = ["output", *res["reference", "fp32"].grads]
            vanishing = vanishing_gradients(base) if mode == "train" else []

            def tensor(key, name, res=res):
                return res[key].tensor(name)

            truth = {n: tensor(("reference", "fp32"), n) for n in names}
            truth64 = {n: tensor(("reference", "fp64"), n) for n in names}
            fp32 = {n: rel_error(tensor(("fast", "fp32"), n), truth[n]) for n in names if n not in vanishing}
            vs64 = {n: (rel_error(tensor(("fast", "fp32"), n).double(), truth64[n]),
                        rel_error(tensor(("reference", "fp32"), n).double(), truth64[n]))
                    for n in names if n not in vanishing}
            bad32 = [n for n, (f, r) in vs64.items() if not (f <= 1e-4 or f <= 1.1 * r)]
            bf16 = {n: (rel_error(tensor(("fast", "bf16"), n), truth[n]), rel_error(tensor(("reference", "bf16"), n), truth[n]))
                    for n in names if n not in vanishing}
            bad = [n for n, (f, r) in bf16.items() if not (f <= 1e-2 or f <= 1.1 * r)]
            worst32 = max(fp32, key=fp32.get)
            out[mode] = {
                "fp32": {"output": fp32["output"], "worst": fp32[worst32], "worst_tensor": worst32,
                         "worst_vs_fp64": [worst32, *vs64[worst32]], "failing": bad32,
                         "pass": not bad32, "tensors": len(fp32)},
                "bf16": {"output_fast": bf16["output"][0], "output_reference": bf16["output"][1],
                         "max_fast": max(f for f, _ in bf16.values()), "max_reference": max(r for _, r in bf16.values()),
                         "failing": bad, "pass": not bad, "tensors": len(bf16),
                         "worst5": sorted(([n, f, r] for n, (f, r) in bf16.items()), key=lambda v: -v[1])[:5]},
                "vanishing_fp32_abs_max": {k: max((float(tensor((k, "fp32"), n).abs().max()) for n in vanishing),
                                                  default=0.0) for k in ("reference", "fast")},
                # settings.recompute against the plain fast model: the same computation, re-run
                "recompute_vs_fast": {p: max(rel_error(tensor(("fast-recompute", p), n), tensor(("fast", p), n))
                                             for n in names if n not in vanishing) for p in ("fp32", "bf16")},
            }
            del res
    return out


def print_check(c: dict) -> None:
    say(f"same function at {c['shape']}; error = {c['error']}")
    say("  " + FP32_RULE)
    say("  " + BF16_RULE)
    for mode in ("train", "eval"):
        f, b = c[mode]["fp32"], c[mode]["bf16"]
        n64, fast64, ref64 = f["worst_vs_fp64"]
        say(f"  {mode:5s} fp32: output {f['output']:.2e}, worst fast-vs-reference {f['worst']:.2e} ({f['worst_tensor']}, "
            f"{f['tensors']} tensors; against float64 there: fast {fast64:.2e}, reference {ref64:.2e}): "
            f"{'PASS' if f['pass'] else 'FAIL ' + ', '.join(f['failing'][:6])}")
        say(f"  {mode:5s} bf16: output fast {b['output_fast']:.2e} vs reference {b['output_reference']:.2e}; "
            f"worst fast {b['max_fast']:.2e} vs worst reference {b['max_reference']:.2e}: "
            f"{'PASS' if b['pass'] else 'FAIL ' + ', '.join(b['failing'][:6])}")
        for n, fe, re in b["worst5"]:
            say(f"        {n:42s} fast {fe:.2e}  reference {re:.2e}")
        r = c[mode]["recompute_vs_fast"]
        say(f"  {mode:5s} settings.recompute against the plain fast model: fp32 {r['fp32']:.2e}, bf16 {r['bf16']:.2e}")


# ---------------------------------------------------------------------------------------------
# 2. kernels
# ---------------------------------------------------------------------------------------------

def _cuda_ms(call, repeat: int) -> float:
    for _ in range(2):
        call()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(repeat):
        call()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / repeat


CASES = [("extractor (3,3,3) d=4", 16, 128, 16, 256, 3, 4, (8, 0), 1),
         ("CMST L1 (25,3,3)", 16, 128, 16, 90, 25, 1, (24, 0), 0),
         ("CMST L2 (21,3,3)", 16, 128, 14, 90, 21, 1, (20, 0), 0)]


def _kernel_case(what, b, t, h, c, kt, d, tp, sp, repeat) -> list[dict]:
    x = torch.randn(b, t, h, h, c, device="cuda", dtype=torch.bfloat16)
    w = torch.randn(c, 1, kt, 3, 3, device="cuda") * 0.2
    bias = torch.zeros(c, device="cuda")
    y_shape = ct._out_size(t, h, h, (kt, 3, 3), d, tp[0], tp[1], sp)
    g = torch.randn(b, *y_shape, c, device="cuda", dtype=torch.bfloat16)
    parts = {
        "fwd": lambda: ct.dw_forward(x, w, bias, d, tp[0], tp[1], sp),
        "input grad": lambda: ct.dw_backward(g, x, w, d, tp[0], tp[1], sp, True, False)[0],
        "weight grad": lambda: ct.dw_weight_grad(g, x, (kt, 3, 3), d, tp[0], tp[1], sp)[0],
    }
    rows = []
    for part, fn in parts.items():
        row = {"what": what, "impl": "triton", "kind": part, "ms": None}
        try:
            row["ms"] = _cuda_ms(fn, repeat)
        except Exception as err:
            row["error"] = f"{type(err).__name__}: {str(err)[:300]}"
        rows.append(row)
    xg = x.detach().requires_grad_()
    wg = w.detach().requires_grad_()
    bg = bias.detach().requires_grad_()
    xl = x.detach().permute(0, 4, 1, 2, 3).contiguous().requires_grad_()

    def op_fb():
        depthwise_conv3d(xg, wg, bg, d, tp, sp).backward(g)

    def cudnn_f():
        with torch.autocast("cuda", dtype=torch.bfloat16):
            return F.conv3d(F.pad(xl, (sp, sp, sp, sp, *tp)), wg, bg, dilation=(d, 1, 1), groups=c)

    def cudnn_fb():
        cudnn_f().backward(g.permute(0, 4, 1, 2, 3))

    for impl, kind, fn in (("op", "fwd+bwd", op_fb), ("cuDNN channels-first", "fwd", cudnn_f),
                           ("cuDNN channels-first", "fwd+bwd", cudnn_fb)):
        row = {"what": what, "impl": impl, "kind": kind, "ms": None}
        try:
            row["ms"] = _cuda_ms(fn, repeat)
        except Exception as err:
            row["error"] = f"{type(err).__name__}: {str(err)[:300]}"
        rows.append(row)
    return rows


def _full_conv_rows(repeat: int) -> list[dict]:
    """The CMST (1,3,3) 90 → 90 branch as NHWC conv2d over B·T frames, 90 channels vs zero-padded 96."""
    rows = []
    for cpad in (90, 96):
        x = torch.randn(16 * 128, cpad, 16, 16, device="cuda", dtype=torch.bfloat16).to(
            memory_format=torch.channels_last).requires_grad_()
        w = (torch.randn(cpad, cpad, 3, 3, device="cuda") * 0.05).requires_grad_()

        def f(x=x, w=w):
            with torch.autocast("cuda", dtype=torch.bfloat16):
                return F.conv2d(x, w)

        def fb(f=f):
            y = f()
            y.backward(torch.ones_like(y))

        for kind, fn in (("fwd", f), ("fwd+bwd", fb)):
            row = {"what": "CMST L1 (1,3,3) full", "impl": f"cuDNN NHWC C={cpad}", "kind": kind, "ms": None}
            try:
                row["ms"] = _cuda_ms(fn, repeat)
            except Exception as err:
                row["error"] = f"{type(err).__name__}: {str(err)[:300]}"
            rows.append(row)
    return rows


def kernel_timings(repeat: int) -> list[dict]:
    rows = []
    for case in CASES:
        rows += _kernel_case(*case, repeat=repeat)
        torch.cuda.empty_cache()
    return rows + _full_conv_rows(repeat)


def print_kernels(rows: list[dict]) -> None:
    say(f"{'kernel':24s} {'impl':22s} {'kind':12s} {'ms':>8s}")
    for r in rows:
        ms = f"{r['ms']:8.3f}" if r["ms"] is not None else "   error"
        say(f"{r['what']:24s} {r['impl']:22s} {r['kind']:12s} {ms}  {r.get('error', '')}")


# ---------------------------------------------------------------------------------------------
# 3. training step, 4. config sweep
# ---------------------------------------------------------------------------------------------

def train_step_row(variant: str, steps: int) -> dict:
    table = run(device="cuda", steps=steps, warmup=3, variants=variant)
    row = dict(table.rows[0])
    row.update(device=table.device, commit=table.commit, date=table.date)
    return row


def print_step(rows: list[dict]) -> None:
    base = next((r["ms_per_step"] for r in rows if r["impl"] == "reference" and r["ms_per_step"]), None)
    say(f"{'variant':20s} {'ms/step':>9s} {'min':>9s} {'peak GiB':>9s} {'resv GiB':>9s} {'speedup':>8s}")
    for r in rows:
        def f(v, spec):
            return "-" if v is None else spec.format(v)

        peak = r["peak_mib"] / 1024 if r.get("peak_mib") is not None else None
        resv = r["reserved_mib"] / 1024 if r.get("reserved_mib") is not None else None
        speed = base / r["ms_per_step"] if base and r.get("ms_per_step") else None
        say(f"{r['impl']:20s} {f(r.get('ms_per_step'), '{:9.1f}'):>9s} {f(r.get('ms_min'), '{:9.1f}'):>9s} "
            f"{f(peak, '{:9.2f}'):>9s} {f(resv, '{:9.2f}'):>9s} {f(speed, '{:8.2f}'):>8s} {r.get('error', '')}")
    say("target: <= 40 ms/step, <= 8 GiB (authors' module: 389-401 ms, 12.3 GiB on one H200)")


# most informative first: the sweep stops at the budget (each new config is a Triton compilation)
FWD_CONFIGS = [(4, 64, 32, 4), (2, 64, 32, 4), (1, 64, 32, 4), (4, 32, 64, 4), (4, 128, 32, 8), (4, 32, 32, 4),
               (2, 32, 64, 4), (4, 64, 16, 4)]
WGRAD_CONFIGS = [(32, 32, 4), (16, 32, 4), (16, 64, 4), (64, 32, 8), (32, 64, 8), (32, 16, 4), (32, 32, 2)]


def config_sweep(deadline: float) -> list[dict]:
    rows = []
    for what, b, t, h, c, kt, d, tp, sp in CASES[:2]:
        x = torch.randn(b, t, h, h, c, device="cuda", dtype=torch.bfloat16)
        w = torch.randn(c, 1, kt, 3, 3, device="cuda") * 0.2
        y_shape = ct._out_size(t, h, h, (kt, 3, 3), d, tp[0], tp[1], sp)
        g = torch.randn(b, *y_shape, c, device="cuda", dtype=torch.bfloat16)
        args = (d, tp[0], tp[1], sp)

        def fwd(cfg, x=x, w=w, args=args):
            return ct.dw_forward(x, w, None, *args, config=cfg)

        def wgrad(cfg, g=g, x=x, kt=kt, args=args):
            return ct.dw_weight_grad(g, x, (kt, 3, 3), *args, config=cfg)

        jobs = [("fwd", cfg, fwd) for cfg in FWD_CONFIGS] + [("weight grad", cfg, wgrad) for cfg in WGRAD_CONFIGS]
        for kind, cfg, fn in jobs:
            if elapsed() > deadline:
                return rows
            row = {"what": what, "kind": kind, "config": list(cfg), "ms": None,
                   "default": list(ct.fwd_config(kt, c) if kind == "fwd" else ct.wgrad_config(kt, c)) == list(cfg)}
            try:
                row["ms"] = _cuda_ms(lambda fn=fn, cfg=cfg: fn(cfg), 10)
            except Exception as err:
                row["error"] = f"{type(err).__name__}: {str(err)[:200]}"
            rows.append(row)
            say(f"  {what:24s} {kind:12s} {str(cfg):22s} {_f(row['ms'])} {'(default)' if row['default'] else ''} "
                f"{row.get('error', '')}")
    return rows


def profile_fast(steps: int = 3) -> dict:
    """Where the fast step's GPU time goes: torch.profiler over ``steps`` eager steps (paper shapes)."""
    from torch.profiler import ProfilerActivity, profile

    from vist.bench.train_step import PAPER_SHAPE, build, make_step

    sh = PAPER_SHAPE
    torch.manual_seed(0)
    reference = ViST(ViSTConfig(feat_dim=sh["feat_dim"], cells=sh["cells"], grid=sh["grid"],
                                video_dim=sh["video_dim"])).cuda().train()
    inputs = StepInputs.make(sh["batch"], sh["frames"], sh["feat_dim"], sh["cells"], sh["grid"],
                             torch.device("cuda"), torch.bfloat16)
    step = make_step(build("fast", reference), inputs, bf16=True)
    for _ in range(3):
        step()
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        for _ in range(steps):
            step()
        torch.cuda.synchronize()
    events = prof.key_averages()
    table = None
    for key in ("self_cuda_time_total", "self_device_time_total", "cuda_time_total"):
        try:
            table = events.table(sort_by=key, row_limit=40, max_name_column_width=70)
            break
        except Exception:
            continue
    return {"steps": steps, "table": table}


def _f(v) -> str:
    return f"{v:8.3f}" if isinstance(v, float) else "   error"


# ---------------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 timed steps, no compile variants, no sweep")
    parser.add_argument("--budget", type=float, default=170.0, help="seconds; optional sections stop before it")
    parser.add_argument("--skip-kernels", action="store_true", help="skip the depthwise-kernel timings")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("tools/gpu_train_step.py needs a CUDA device")
    torch.backends.cudnn.benchmark = True
    result: dict = {"device": torch.cuda.get_device_name(), "torch": torch.__version__}
    try:
        import triton

        result["triton"] = triton.__version__
    except ImportError:
        result["triton"] = None
    out = os.environ.get("OUT")
    path = Path(out) / "train_step_gpu.json" if out else None

    def save() -> None:
        result["total_s"] = round(elapsed(), 1)
        if path is not None:
            write_json_atomic(path, result, indent=2, default=str)

    def section(key: str, fn, show) -> None:
        say(f"\n== {key} (at {elapsed():.0f} s)")
        try:
            result[key] = fn()
            show(result[key])
        except Exception:
            result[key] = {"error": traceback.format_exc()[-3000:]}
            say(f"{key}: FAILED\n{result[key]['error']}")
        torch.cuda.empty_cache()
        save()

    say(f"device: {result['device']} (torch {result['torch']}, triton {result['triton']})")
    section("check", check_same_function, print_check)
    if not args.skip_kernels:
        section("kernels", lambda: kernel_timings(10 if args.quick else 20), print_kernels)

    section("profile", profile_fast, lambda p: say(p["table"]))
    steps = 5 if args.quick else 10
    variants = [("reference", 0), ("fast", 0), ("fast-graph", 0)]
    if not args.quick:  # start a compile variant only if it can finish within the budget
        variants += [("fast-compile-graph", args.budget - 100), ("fast-compile-lowmem-graph", args.budget - 70)]
    variants += [("fast-recompute-graph", args.budget - 15)]
    rows: list[dict] = []
    result["train_step"] = {"rows": rows}
    say(f"\n== train_step (at {elapsed():.0f} s)")
    for variant, start_by in variants:
        if start_by and elapsed() > start_by:
            rows.append({"impl": variant, "error": f"skipped: {elapsed():.0f} s elapsed (budget {args.budget:.0f} s)"})
            continue
        try:
            rows.append(train_step_row(variant, steps))
        except Exception:
            rows.append({"impl": variant, "error": traceback.format_exc()[-2000:]})
        say(f"  {variant}: {rows[-1].get('ms_per_step')} ms/step at {elapsed():.0f} s {rows[-1].get('error', '')}")
        torch.cuda.empty_cache()
        save()
    print_step(rows)

    if not args.quick and elapsed() < args.budget - 20:
        section("sweep", lambda: config_sweep(args.budget - 10), lambda rows: None)
    save()
    say(f"\ntotal {result['total_s']} s")
    if path is not None:
        say(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
