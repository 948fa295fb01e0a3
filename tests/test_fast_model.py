"""FastViST and its depthwise conv op against the reference ``nn.Conv3d`` Vi-ST.

* the op (CPU path: oneDNN 3D or per-tap 2D forward, flipped-kernel input gradient, per-tap 2D
  weight gradient) against ``F.pad`` + ``F.conv3d`` in float64, run in float64 and in float32
  (oneDNN's kernels), for causal, centred, dilated, padded and long kernels and for taps that
  read only padding;
* the whole model, float32 on the CPU, in training mode with dropout (the masks are drawn as the
  reference draws them) and in eval mode, for every ablation configuration: outputs, every
  parameter gradient and the BatchNorm buffers within 1e-5 (relative to the largest entry);
* checkpoints interchangeable, conversion draws no random numbers, clear errors;
* the op's Triton backend and a Triton-backed FastViST under ``TRITON_INTERPRET=1``;
* ``torch.compile(fullgraph=True)`` traces the fast model without a graph break;
* the ``train-step`` benchmark runs and names its device; graph variants refuse CPUs clearly.
"""

import pytest
import torch

from vist.kernels import KernelSettings
from vist.kernels.time_conv import depthwise_conv3d, depthwise_conv3d_reference
from vist.model import ABLATIONS, CRNN, CRNNConfig, ViST, ViSTConfig, ablation_config
from vist.model.equivalence import rel_error
from vist.model.fast import FastViST, convert

SMALL = ViSTConfig(feat_dim=24, cells=6, grid=12, video_dim=8, video_layers=3,
                   cmst_kernels=((1, 9), (1, 3, 4), (1, 2, 3), (1, 2)))


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return rel_error(a, b, norm="max")


# ---------------------------------------------------------------------------------------------
# the op
# ---------------------------------------------------------------------------------------------

OP_CASES = [  # (B, T, H, C, kt, dilation, time_pad, spatial_pad)
    (2, 10, 6, 5, 3, 2, (4, 0), 1),   # extractor layer: causal, dilated (per-tap 2D convs), padded
    (2, 9, 6, 4, 3, 4, (4, 4), 1),    # non-causal dilated
    (2, 12, 6, 3, 5, 1, (4, 0), 0),   # short CMST kernel: one 3D conv forward
    (2, 14, 6, 3, 9, 1, (8, 0), 0),   # long kernel
    (1, 11, 7, 2, 7, 2, (6, 6), 1),   # padding on every side and dilation
    (2, 5, 5, 3, 3, 4, (8, 0), 1),    # dilation beyond the window: a tap that reads only padding
    (2, 8, 5, 3, 3, 2, (3, 1), 1),    # no tap lines input and output frames up: bias-filled output
    (2, 7, 5, 3, 3, 2, (4, 2), 1),    # a centred tap, but more output frames than input frames
    (1, 6, 5, 3, 1, 3, (0, 0), 1),    # a single tap
]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("case", OP_CASES)
def test_depthwise_conv_matches_conv3d(case, dtype):
    """float64 (PyTorch's generic convolutions) and float32 (oneDNN's kernels) against float64 conv3d."""
    b, t, h, c, kt, d, tp, sp = case
    g = torch.Generator().manual_seed(0)
    x = torch.randn(b, t, h, h, c, generator=g, dtype=torch.float64)
    w = torch.randn(c, 1, kt, 3, 3, generator=g, dtype=torch.float64)
    bias = torch.randn(c, generator=g, dtype=torch.float64)
    results = []
    for fn, dt in ((lambda *a: depthwise_conv3d(*a, backend="torch"), dtype), (depthwise_conv3d_reference, torch.float64)):
        xr, wr, br = (v.to(dt).requires_grad_() for v in (x, w, bias))
        y = fn(xr, wr, br, d, tp, sp)
        y.backward(torch.randn(y.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64).to(dt))
        results.append((y.detach(), xr.grad, wr.grad, br.grad))
    for name, a, r in zip(("y", "dx", "dw", "db"), *results, strict=True):
        assert a.shape == r.shape and a.dtype == dtype, name
        assert rel(a, r) < (1e-10 if dtype == torch.float64 else 1e-5), (name, rel(a, r))


def test_depthwise_conv_errors():
    x = torch.randn(1, 5, 4, 4, 3)
    with pytest.raises(ValueError, match="weight must be"):
        depthwise_conv3d(x, torch.randn(3, 3, 3, 3, 3))
    with pytest.raises(ValueError, match="channels-last"):
        depthwise_conv3d(x[0], torch.randn(3, 1, 3, 3, 3))
    with pytest.raises(ValueError, match="padding larger"):
        depthwise_conv3d(x, torch.randn(3, 1, 3, 3, 3), time_pad=(5, 0))
    with pytest.raises(ValueError, match="too small"):
        depthwise_conv3d(torch.randn(1, 5, 2, 2, 3), torch.randn(3, 1, 3, 3, 3), time_pad=(2, 0))
    with pytest.raises(ValueError, match="backend"):
        depthwise_conv3d(x, torch.randn(3, 1, 3, 3, 3), time_pad=(2, 0), backend="cudnn")


# ---------------------------------------------------------------------------------------------
# the model
# ---------------------------------------------------------------------------------------------

def _reference(cfg: ViSTConfig) -> ViST:
    torch.manual_seed(0)
    model = ViST(cfg)
    with torch.no_grad():  # AdaLN-Zero starts at zero: give it weights so that its gradients flow
        for m in model.modules():
            if isinstance(m, torch.nn.Conv3d) and not m.weight.any():
                m.weight.normal_(0, 0.1)
                m.bias.normal_(0, 0.1)
    return model


def _run(model: torch.nn.Module, x: torch.Tensor, rf: torch.Tensor):
    """Two forward passes (two dropout draws, two BatchNorm updates) and one backward."""
    torch.manual_seed(5)
    y1 = model(x, rf)
    y2 = model(x, rf)
    weights = torch.linspace(-1, 1, y1.numel()).view(y1.shape)
    ((y1 * weights).sum() + y2.square().sum()).backward()
    return (y1.detach(), {n: p.grad for n, p in model.named_parameters()},
            {k: v.clone() for k, v in model.state_dict().items()})


def _vanishing(name: str, cfg: ViSTConfig, training: bool) -> bool:
    """Gradients that are exactly 0 in exact arithmetic: a conv bias followed by training-mode BatchNorm."""
    return training and cfg.video_extractor != "none" and name.startswith("video.layers") and name.endswith("conv.conv.bias")


@pytest.mark.parametrize("key", [a.key for a in ABLATIONS if a.model or a.key == "baseline"])
@pytest.mark.parametrize("training", [True, False])
def test_fast_matches_reference(key, training, recompute=False, fuse_residual=None):
    cfg = ablation_config(key, SMALL)
    ref = _reference(cfg).train(training)
    fast = FastViST.from_reference(ref, KernelSettings(fuse_residual=fuse_residual, recompute=recompute))
    assert fast.training == training
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 14, cfg.grid ** 2, cfg.feat_dim, generator=g)
    rf = torch.rand(2, cfg.cells, cfg.grid, cfg.grid, generator=g)
    (y_ref, g_ref, s_ref), (y_fast, g_fast, s_fast) = _run(ref, x, rf), _run(fast, x, rf)
    assert y_fast.shape == y_ref.shape == (2, 14, cfg.cells)
    assert rel(y_fast, y_ref) <= 1e-5
    largest = max(float(v.abs().max()) for v in g_ref.values())
    for name, gr in g_ref.items():
        gf = g_fast[name]
        assert gf is not None and gf.shape == gr.shape, name
        if _vanishing(name, cfg, training):  # both are rounding noise around 0
            assert float(gf.abs().max()) <= 1e-5 * largest and float(gr.abs().max()) <= 1e-5 * largest, name
        else:
            assert rel(gf, gr) <= 1e-5, (name, rel(gf, gr))
    assert s_fast.keys() == s_ref.keys()
    for k, v in s_ref.items():
        assert rel(s_fast[k].float(), v.float()) <= 1e-5 or not v.float().abs().max(), k


@pytest.mark.parametrize("key", ["baseline", "noncausal_tcn"])
def test_recomputing_extractor_is_the_same_function(key):
    """settings.recompute: same outputs, gradients and BatchNorm buffers (running statistics updated
    once, not again by the recomputation; in eval mode, used and left alone), and the layers'
    activations are no longer kept."""
    test_fast_matches_reference(key, True, recompute=True)
    test_fast_matches_reference(key, False, recompute=True)
    cfg = ablation_config(key, SMALL)
    x = torch.randn(2, 14, cfg.grid ** 2, cfg.feat_dim)
    rf = torch.rand(2, cfg.cells, cfg.grid, cfg.grid)
    kept = {}
    for recompute in (False, True):
        fast = FastViST.from_reference(_reference(cfg), KernelSettings(recompute=recompute))
        storages = {}

        def pack(t, storages=storages):
            storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
            return t

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            fast(x, rf).sum().backward()
        kept[recompute] = sum(storages.values())
    layer = 2 * 14 * cfg.grid ** 2 * cfg.video_dim * 4      # bytes of one extractor activation
    assert kept[False] - kept[True] >= 2 * cfg.video_layers * layer


def test_checkpoints_interchangeable_and_conversion():
    ref = _reference(SMALL)
    fast = convert(ref)
    assert isinstance(fast, FastViST) and fast is not ref
    assert list(fast.state_dict()) == list(ref.state_dict())
    # a reference checkpoint loads into a fast model and back (strict)
    other = ViST(SMALL)
    other.load_state_dict(fast.state_dict())
    fast.load_state_dict(other.state_dict())
    assert type(fast.to_reference()) is ViST
    # conversion draws no random numbers: a seeded run continues identically
    torch.manual_seed(3)
    convert(ref)
    a = torch.rand(3)
    torch.manual_seed(3)
    b = torch.rand(3)
    assert torch.equal(a, b)
    # pass-through and errors
    crnn = CRNN(CRNNConfig(cells=3, img_size=40))
    assert convert(crnn) is crnn and convert(ref, enabled=False) is ref and convert(fast) is fast
    with pytest.raises(TypeError, match="ViST"):
        FastViST.from_reference(crnn)
    with pytest.raises(ValueError, match="rf"):
        fast(torch.randn(1, 4, SMALL.grid ** 2, SMALL.feat_dim), torch.rand(1, SMALL.cells, 5, 5))


def test_speed_switches_live_in_kernel_settings():
    """FastViST's backend and recompute switches are KernelSettings fields, checked when built."""
    ref = _reference(SMALL)
    settings = KernelSettings(conv_backend="torch", recompute=True)
    assert convert(ref, settings=settings).settings is settings
    assert FastViST.from_reference(ref).settings == KernelSettings()
    assert (KernelSettings().conv_backend, KernelSettings().recompute) == ("auto", False)
    with pytest.raises(ValueError, match=r"conv_backend must be one of 'auto', 'torch', 'triton', found 'cudnn'"):
        KernelSettings(conv_backend="cudnn")
    with pytest.raises(TypeError, match="recompute must be a bool, found str"):
        KernelSettings(recompute="yes")


# ---------------------------------------------------------------------------------------------
# Triton under the interpreter (TRITON_INTERPRET=1 is set by tests/conftest.py)
# ---------------------------------------------------------------------------------------------

# (B, T, H, C, kt, d, time_pad, spatial_pad): C > BLOCK_C and positions > BLOCK_P somewhere
TRITON_OP_CASES = [(2, 7, 5, 3, 3, 2, (4, 0), 1), (1, 9, 6, 37, 5, 1, (2, 2), 0), (2, 6, 9, 2, 4, 1, (3, 0), 0)]


@pytest.mark.parametrize("case", TRITON_OP_CASES, ids=[str(c) for c in TRITON_OP_CASES])
def test_triton_op_matches_float64_torch(case):
    """The op's Triton backend in float32 against its torch backend in float64: output and gradients."""
    pytest.importorskip("triton")
    b, t, h, c, kt, d, tp, sp = case
    g = torch.Generator().manual_seed(0)
    x, w = torch.randn(b, t, h, h, c, generator=g), torch.randn(c, 1, kt, 3, 3, generator=g)
    bias = torch.randn(c, generator=g)
    res = []
    for backend, dt in (("triton", torch.float32), ("torch", torch.float64)):
        xr, wr, br = (v.detach().to(dt).clone().requires_grad_() for v in (x, w, bias))
        y = depthwise_conv3d(xr, wr, br, d, tp, sp, backend=backend)
        y.backward(torch.randn(y.shape, generator=torch.Generator().manual_seed(2)).to(dt))
        res.append((y.detach(), xr.grad, wr.grad, br.grad))
    for a, r in zip(*res, strict=True):
        assert rel(a, r) <= 1e-5


def test_triton_backed_model_matches_reference():
    """A whole Triton-backed FastViST against the reference (fp32, eval: no dropout draws)."""
    pytest.importorskip("triton")
    cfg = ViSTConfig(feat_dim=8, cells=3, grid=9, video_dim=4, video_layers=2,
                     cmst_kernels=((1, 3), (1, 2), (2,), (1,)))
    torch.manual_seed(0)
    ref = ViST(cfg).eval()
    fast = FastViST.from_reference(ref, KernelSettings(conv_backend="triton"))
    g = torch.Generator().manual_seed(1)
    x, rf = torch.randn(1, 5, 81, 8, generator=g), torch.rand(1, 3, 9, 9, generator=g)
    res = []
    for m in (fast, ref):
        y = m(x, rf)
        y.square().sum().backward()
        res.append([y.detach()] + [p.grad for p in m.parameters()])
    assert max(rel(a, r) for a, r in zip(*res, strict=True) if r.abs().max() > 0) <= 1e-5


# ---------------------------------------------------------------------------------------------
# the benchmark
# ---------------------------------------------------------------------------------------------

def test_train_step_benchmark_runs():
    from vist.bench.train_step import run

    table = run(device="cpu", batch=1, frames=40, feat_dim=16, video_dim=8, cells=4, grid=12, steps=1, warmup=0)
    assert table.device.startswith("CPU")
    assert [r["impl"] for r in table.rows] == ["reference", "fast"]
    for row in table.rows:
        assert row["error"] == "" and row["ms_per_step"] > 0, row
    assert table.rows[1]["speedup"] > 0
    bad = run(device="cpu", batch=1, frames=40, feat_dim=16, video_dim=8, cells=4, grid=12, steps=1, warmup=0,
              variants="fast,nonsense,fast-graph")
    assert bad.rows[1]["error"].startswith("ValueError")
    assert bad.rows[2]["error"].startswith("ValueError") and "CUDA" in bad.rows[2]["error"]  # graphs need CUDA


def test_fast_model_traces_as_one_graph():
    """``torch.compile(fullgraph=True)`` traces forward and backward without a graph break (the op is opaque)."""
    cfg = ViSTConfig(feat_dim=16, cells=4, grid=12, video_dim=8, video_layers=2, cmst_kernels=((1, 5), (1, 3), (1, 2), (1,)))
    ref = _reference(cfg).train()
    fast = FastViST.from_reference(ref)
    compiled = torch.compile(FastViST.from_reference(ref), backend="aot_eager", fullgraph=True)
    x = torch.randn(2, 10, cfg.grid ** 2, cfg.feat_dim)
    rf = torch.rand(2, cfg.cells, cfg.grid, cfg.grid)
    fast.eval()
    compiled.eval()
    y, yc = fast(x, rf), compiled(x, rf)
    yc.square().sum().backward()
    assert rel(yc.detach(), y.detach()) <= 1e-5
    assert all(p.grad is not None for p in compiled.parameters())


def test_full_conv_channel_padding_and_fused_residual_path():
    """The CMST's full (1, 3, 3) conv with channels padded (as on CUDA) is the same conv, and
    the block's residual path is computed inside it (no average pool runs)."""
    from vist.model import fast as fast_module

    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 6, 6, 10, generator=g)
    w, b = torch.randn(13, 10, 3, 3, generator=g), torch.randn(13, generator=g)
    plain = fast_module._full_conv(x, w, b, align=1)
    assert plain.shape == (2, 3, 4, 4, 13)
    assert rel(fast_module._full_conv(x, w, b, align=8), plain) <= 1e-6
    ref = torch.nn.functional.conv3d(x.permute(0, 4, 1, 2, 3), w[:, :, None], b).permute(0, 2, 3, 4, 1)
    assert rel(plain, ref) <= 1e-5

    cfg = ablation_config("baseline", SMALL)
    fast = FastViST.from_reference(_reference(cfg)).eval()
    fast.settings = KernelSettings(fuse_residual=True)  # the CUDA default
    calls = []
    original = torch.nn.functional.avg_pool2d
    try:
        torch.nn.functional.avg_pool2d = lambda *a, **k: calls.append(1) or original(*a, **k)
        fast(torch.randn(1, 4, cfg.grid ** 2, cfg.feat_dim, generator=g), torch.rand(1, cfg.cells, cfg.grid, cfg.grid))
    finally:
        torch.nn.functional.avg_pool2d = original
    assert not calls


@pytest.mark.parametrize("key", ["baseline", "single_kernel", "noncausal_multiscale"])
@pytest.mark.parametrize("training", [True, False])
def test_fused_residual_path_is_the_same_function(key, training):
    test_fast_matches_reference(key, training, fuse_residual=True)
