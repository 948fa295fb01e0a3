"""The Triton depthwise-conv kernels (:mod:`vist.kernels.conv_triton`) under ``TRITON_INTERPRET=1``.

Small shapes, float32 against ``F.pad`` + ``F.conv3d`` in float64 (≤ 1e-5 relative to the largest
entry): the v2 forward for every run length R (output frames per program) and block size,
its flipped-kernel input gradient, the 3×3 weight gradient with and without frame chunks,
channel counts that need padding to a multiple of 16 and more than one channel block, dilations
longer than the clip, a 1-frame kernel, a non-3×3 kernel (v1 weight gradient), the v1 kernels,
and bf16 inputs (fp32 accumulation; ≤ 1e-2).
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(r'''
    import json, os
    assert os.environ["TRITON_INTERPRET"] == "1"
    import torch
    from vist.kernels import conv_triton as ct
    from vist.kernels.time_conv import depthwise_conv3d_reference

    from vist.model.equivalence import rel_error

    def rel(a, b):
        return rel_error(a, b, norm="max")

    out = {}
    g = torch.Generator().manual_seed(0)
    # (B, T, H, C, (kt, kh, kw), dilation, time_pad, spatial_pad)
    cases = [(2, 7, 5, 3, (3, 3, 3), 2, (4, 0), 1),      # extractor layer: causal, dilated, padded
             (2, 9, 6, 4, (3, 3, 3), 4, (4, 4), 1),      # centred, dilated
             (2, 12, 6, 5, (9, 3, 3), 1, (8, 0), 0),     # long CMST kernel
             (1, 9, 6, 37, (5, 3, 3), 1, (2, 2), 0),     # 37 channels: padded to 48, 3 blocks of 16
             (1, 6, 4, 3, (3, 3, 3), 4, (8, 0), 1),      # dilation reaching past the clip
             (1, 5, 4, 3, (1, 3, 3), 1, (0, 0), 1),      # one frame
             (2, 6, 5, 3, (4, 2, 2), 1, (3, 0), 1)]      # 2×2: v1 weight gradient
    configs = {"fwd": [None, (1, 16, 16, 4), (2, 32, 16, 2), (4, 64, 32, 4)],
               "wgrad": [None, (16, 16, 2), (64, 32, 4, 3)]}
    for case in cases:
        b, t, h, c, k, d, tp, sp = case
        x = torch.randn(b, t, h, h, c, generator=g, dtype=torch.float64)
        w = torch.randn(c, 1, *k, generator=g, dtype=torch.float64)
        bias = torch.randn(c, generator=g, dtype=torch.float64)
        xr, wr, br = (v.clone().requires_grad_() for v in (x, w, bias))
        y = depthwise_conv3d_reference(xr, wr, br, d, tp, sp)
        gy = torch.randn(y.shape, generator=g, dtype=torch.float64)
        y.backward(gy)
        x32, w32, b32, g32 = x.float(), w.float(), bias.float(), gy.float()
        errs = []
        for cfg in configs["fwd"]:
            errs.append(rel(ct.dw_forward(x32, w32, b32, d, tp[0], tp[1], sp, config=cfg), y.detach()))
        gi, gw, gb = ct.dw_backward(g32, x32, w32, d, tp[0], tp[1], sp, True, True)
        errs += [rel(gi, xr.grad), rel(gw, wr.grad), rel(gb, br.grad)]
        if k[1:] == (3, 3):
            for cfg in configs["wgrad"]:
                errs.append(rel(ct.dw_weight_grad(g32, x32, k, d, tp[0], tp[1], sp, config=cfg)[0], wr.grad))
        out[f"v2 {case}"] = errs
    # the v1 kernels and bf16 inputs, on the extractor case
    b, t, h, c, k, d, tp, sp = cases[0]
    x = torch.randn(b, t, h, h, c, generator=g); w = torch.randn(c, 1, *k, generator=g)
    gy = torch.randn(b, t, h, h, c, generator=g)
    y = depthwise_conv3d_reference(x.double(), w.double(), None, d, tp, sp)
    gw_ref = ct.dw_weight_grad(gy, x, k, d, tp[0], tp[1], sp)[0]
    out["v1"] = [rel(ct.dw_forward_v1(x, w, None, d, tp[0], tp[1], sp), y),
                 rel(ct.dw_weight_grad_v1(gy, x, k, d, tp[0], tp[1], sp)[0], gw_ref)]
    yb = ct.dw_forward(x.bfloat16(), w, None, d, tp[0], tp[1], sp)
    gwb = ct.dw_weight_grad(gy.bfloat16(), x.bfloat16(), k, d, tp[0], tp[1], sp)[0]
    out["bf16"] = [yb.dtype == torch.bfloat16, rel(yb, y), rel(gwb, gw_ref)]
    print(json.dumps(out))
''')


def test_conv_kernels_under_interpreter():
    pytest.importorskip("triton")
    env = {**os.environ, "TRITON_INTERPRET": "1"}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(out) == 9
    for case, errs in out.items():
        if case == "bf16":
            assert errs[0] is True and max(errs[1:]) <= 1e-2, errs
        else:
            assert max(errs) <= 1e-5, (case, errs)
