"""The Triton depthwise-conv kernels (:mod:`vist.kernels.conv_triton`) under Triton's interpreter
(``TRITON_INTERPRET=1``, set by ``tests/conftest.py`` before the kernels are imported).

Small shapes, float32 against ``F.pad`` + ``F.conv3d`` in float64 (≤ 1e-5 relative to the largest
entry): the forward for every run length R (output frames per program) and block size, its
flipped-kernel input gradient, the 3×3 weight gradient with and without frame chunks, channel
counts that need padding to a multiple of 16 and more than one channel block, dilations longer
than the clip, a 1-frame kernel, a non-3×3 kernel (the general weight gradient), and bf16 inputs
(fp32 accumulation; ≤ 1e-2).
"""

import pytest
import torch

from vist.kernels.time_conv import depthwise_conv3d_reference
from vist.model.equivalence import rel_error

pytest.importorskip("triton")

# (B, T, H, C, (kt, kh, kw), dilation, time_pad, spatial_pad)
CASES = [(2, 7, 5, 3, (3, 3, 3), 2, (4, 0), 1),      # extractor layer: causal, dilated, padded
         (2, 9, 6, 4, (3, 3, 3), 4, (4, 4), 1),      # centred, dilated
         (2, 12, 6, 5, (9, 3, 3), 1, (8, 0), 0),     # long CMST kernel
         (1, 9, 6, 37, (5, 3, 3), 1, (2, 2), 0),     # 37 channels: padded to 48, 3 blocks of 16
         (1, 6, 4, 3, (3, 3, 3), 4, (8, 0), 1),      # dilation reaching past the clip
         (1, 5, 4, 3, (1, 3, 3), 1, (0, 0), 1),      # one frame
         (2, 6, 5, 3, (4, 2, 2), 1, (3, 0), 1)]      # 2×2: the general weight gradient
FWD_CONFIGS = [None, (1, 16, 16, 4), (2, 32, 16, 2), (4, 64, 32, 4)]
WGRAD_CONFIGS = [None, (16, 16, 2), (64, 32, 4, 3)]
# every block configuration on the extractor layer's case; the 37-channel case also with 16-channel
# blocks (three of them); the other cases with the default (the interpreter is slow)
CONFIGS = {0: (FWD_CONFIGS, WGRAD_CONFIGS), 3: ([None, (1, 16, 16, 4)], [None, (16, 16, 2)])}


def _rel(a, b):
    return rel_error(a, b, norm="max")


@pytest.fixture(scope="module")
def ct():
    from vist.kernels import conv_triton  # imports triton: after the importorskip above

    return conv_triton


@pytest.mark.parametrize("index", range(len(CASES)), ids=[str(c) for c in CASES])
def test_kernels_match_the_float64_conv(ct, index):
    b, t, h, c, k, d, tp, sp = CASES[index]
    fwd_configs, wgrad_configs = CONFIGS.get(index, ([None], [None]))
    g = torch.Generator().manual_seed(0)
    x = torch.randn(b, t, h, h, c, generator=g, dtype=torch.float64)
    w = torch.randn(c, 1, *k, generator=g, dtype=torch.float64)
    bias = torch.randn(c, generator=g, dtype=torch.float64)
    xr, wr, br = (v.clone().requires_grad_() for v in (x, w, bias))
    y = depthwise_conv3d_reference(xr, wr, br, d, tp, sp)
    gy = torch.randn(y.shape, generator=g, dtype=torch.float64)
    y.backward(gy)
    x32, w32, b32, g32 = x.float(), w.float(), bias.float(), gy.float()
    for cfg in fwd_configs:
        assert _rel(ct.dw_forward(x32, w32, b32, d, tp[0], tp[1], sp, config=cfg), y.detach()) <= 1e-5, cfg
    gi, gw, gb = ct.dw_backward(g32, x32, w32, d, tp[0], tp[1], sp, True, True)
    assert max(_rel(gi, xr.grad), _rel(gw, wr.grad), _rel(gb, br.grad)) <= 1e-5
    for cfg in wgrad_configs if k[1:] == (3, 3) else [None]:
        gw, gb = ct.dw_weight_grad(g32, x32, k, d, tp[0], tp[1], sp, config=cfg)
        assert max(_rel(gw, wr.grad), _rel(gb, br.grad)) <= 1e-5, cfg


def test_bf16_inputs_accumulate_in_fp32(ct):
    b, t, h, c, k, d, tp, sp = CASES[0]
    g = torch.Generator().manual_seed(1)
    x = torch.randn(b, t, h, h, c, generator=g)
    w = torch.randn(c, 1, *k, generator=g)
    gy = torch.randn(b, t, h, h, c, generator=g)
    y = depthwise_conv3d_reference(x.double(), w.double(), None, d, tp, sp)
    gw_ref = ct.dw_weight_grad(gy, x, k, d, tp[0], tp[1], sp)[0]
    yb = ct.dw_forward(x.bfloat16(), w, None, d, tp[0], tp[1], sp)
    gwb = ct.dw_weight_grad(gy.bfloat16(), x.bfloat16(), k, d, tp[0], tp[1], sp)[0]
    assert yb.dtype == torch.bfloat16
    assert _rel(yb, y) <= 1e-2 and _rel(gwb, gw_ref) <= 1e-2
