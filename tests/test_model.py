"""Vi-ST and the baselines: sizes, shapes, causality, temporal reach, bad input."""

from __future__ import annotations

import pytest
import torch

from vist.model import (
    ABLATIONS,
    CRNN,
    MSTCN,
    CRNNConfig,
    MSTCNConfig,
    ViST,
    ViSTConfig,
    ablation_config,
    causality_profile,
    count_parameters,
    input_footprint,
    shape_table,
    temporal_reach,
)
from vist.prior.i3d_net import I3D

TINY = ViSTConfig(feat_dim=8, cells=3, video_dim=8)


def tiny_inputs(config: ViSTConfig = TINY, b: int = 2, t: int = 40, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, t, config.grid ** 2, config.feat_dim, generator=g)
    rf = torch.rand(b, config.cells, config.grid, config.grid, generator=g)
    return x, rf


def test_paper_parameter_count():
    assert count_parameters(ViST(ViSTConfig(feat_dim=1024, cells=90))) == 1_702_952


def test_paper_per_stage_parameters():
    # per-module counts of the authors' torchinfo summary (ref)
    m = ViST(ViSTConfig(feat_dim=1024, cells=90))
    assert count_parameters(m.video.inp) == 262_400
    assert all(count_parameters(layer) == 73_472 for layer in m.video.layers)
    assert count_parameters(m.video.out) == 23_130
    assert count_parameters(m.adaln.modulation) == 24_570 and count_parameters(m.adaln.net) == 8_190
    assert [count_parameters(b) for b in m.cmst[0].branches] == [72_990, 20_340]
    assert [count_parameters(b) for b in m.cmst[3].branches] == [72_990, 2_520, 4_140]
    assert count_parameters(m.readout) == 518_490


def test_output_shape_and_rf_broadcast():
    m = ViST(TINY).eval()
    x, rf = tiny_inputs()
    y = m(x, rf)
    assert y.shape == (2, 40, 3) and y.dtype == torch.float32
    same = rf[0].expand(2, -1, -1, -1)
    torch.testing.assert_close(m(x, rf[0]), m(x, same))


def test_adaln_starts_as_identity_and_rf_matters_after_training_step():
    m = ViST(TINY).eval()
    x, rf = tiny_inputs()
    h = torch.randn(2, 3, 5, 16, 16)
    torch.testing.assert_close(m.adaln(h, torch.rand(2, 3, 1, 16, 16)), h)
    # once the modulation is non-zero, a different RF coverage changes the prediction
    torch.nn.init.normal_(m.adaln.modulation[1].weight, 0, 0.5)
    assert not torch.allclose(m(x, rf), m(x, rf * 0.0))


def _changes_before(model, x: torch.Tensor, t0: int, *extra) -> tuple[float, float]:
    """Max output change before t0 and from t0 on, when inputs from t0 on are redrawn."""
    profile = causality_profile(model, x, t0, *extra)
    return float(profile[:t0].max()), float(profile[t0:].max())


CAUSAL = [a.key for a in ABLATIONS if ablation_config(a.key, TINY).causal]
NONCAUSAL = [a.key for a in ABLATIONS if not ablation_config(a.key, TINY).causal]


def test_ablation_rows_cover_the_switches():
    assert len({a.key for a in ABLATIONS}) == len(ABLATIONS) == 10
    assert set(NONCAUSAL) == {"noncausal_tcn", "noncausal_multiscale"}
    assert {a.prior for a in ABLATIONS} == {"dinov2", "pixels"} and {a.loss for a in ABLATIONS} == {"vist", "rmse"}
    with pytest.raises(ValueError, match="ablation"):
        ablation_config("nope")


@pytest.mark.parametrize("key", CAUSAL)
def test_causal_configurations_are_causal(key):
    torch.manual_seed(0)
    cfg = ablation_config(key, TINY)
    m = ViST(cfg)
    if m.adaln is not None:  # make the conditioning path active
        torch.nn.init.normal_(m.adaln.modulation[1].weight, 0, 0.3)
    x, rf = tiny_inputs(t=48)
    before, after = _changes_before(m, x, 30, rf)
    assert before == 0.0
    assert after > 1e-4


@pytest.mark.parametrize("key", NONCAUSAL)
def test_noncausal_configurations_see_the_future(key):
    torch.manual_seed(0)
    m = ViST(ablation_config(key, TINY))
    x, rf = tiny_inputs(t=48)
    before, _ = _changes_before(m, x, 30, rf)
    assert before > 1e-6


@pytest.mark.parametrize("cfg", [TINY, ablation_config("noncausal_tcn", TINY),
                                 ablation_config("single_kernel", TINY),
                                 ablation_config("no_video_extractor", TINY)])
def test_temporal_reach_matches_gradient_footprint(cfg):
    reach = temporal_reach(cfg)[-1]
    t = reach["past"] + reach["future"] + 20
    m = ViST(cfg).eval()
    torch.nn.init.normal_(m.adaln.modulation[1].weight, 0, 0.3) if m.adaln is not None else None
    x, rf = tiny_inputs(cfg, b=1, t=t)
    probe = t - reach["future"] - 10
    touched = input_footprint(m, x, probe, rf).nonzero()[0]
    assert touched.min() == probe - reach["past"]
    assert touched.max() == probe + reach["future"]


def test_paper_temporal_reach():
    rows = temporal_reach(ViSTConfig())
    assert rows[5]["past"] == 2 * (1 + 2 + 4 + 8 + 16 + 32)  # 126 frames
    assert [r["past"] for r in rows if r["stage"].startswith("CMST")] == [150, 170, 178, 182]
    assert all(r["future"] == 0 for r in rows)


def test_shape_table_walks_every_stage():
    m = ViST(TINY)
    x, rf = tiny_inputs(b=1, t=20)
    rows = shape_table(m, x, rf)
    stages = [r["stage"] for r in rows]
    assert stages[:2] == ["video", "adaln"] and stages[-1] == "(model)"
    grids = [r["output"][-1] for r in rows if r["stage"].startswith("cmst")]
    assert grids == [14, 12, 10, 8]
    assert rows[-1]["output"] == (1, 20, 3) and rows[-1]["params"] == count_parameters(m)
    assert m.training  # mode restored


@pytest.mark.parametrize("make, match", [
    (lambda x, rf: (x[0], rf), "features"),
    (lambda x, rf: (x[..., :4], rf), "D=8"),
    (lambda x, rf: (x[:, :, :200], rf), "256 patches"),
    (lambda x, rf: (x, rf[..., :8, :8]), "16×16 patch grid"),
    (lambda x, rf: (x, rf[:, :2]), "3 cells but rf holds 2"),
    (lambda x, rf: (x, rf[:1].expand(3, -1, -1, -1)), "batch"),
    (lambda x, rf: (x.long(), rf), "floating"),
])
def test_bad_input_names_expected_and_found(make, match):
    m = ViST(TINY)
    x, rf = tiny_inputs()
    with pytest.raises(ValueError, match=match):
        m(*make(x, rf))


def test_bad_config():
    with pytest.raises(ValueError, match="condition"):
        ViSTConfig(condition="movie")
    with pytest.raises(ValueError, match="grid"):
        ViSTConfig(grid=8)


def test_crnn_shape_causal_positive():
    torch.manual_seed(0)
    cfg = CRNNConfig(cells=4, img_size=40, history=5, conv1=8, conv2=4, hidden=8)
    m = CRNN(cfg)
    x = torch.randn(2, 16, 40, 40)
    assert m(x).shape == (2, 16, 4)
    assert (m(x) >= 0).all()
    before, after = _changes_before(m, x, 9)
    assert before == 0.0 and after > 0
    with pytest.raises(ValueError, match="40, 40"):
        m(torch.randn(2, 16, 32, 32))
    import numpy as np

    prepared = CRNN.prepare(np.zeros((3, 90, 90), np.uint8), cfg)
    assert prepared.shape == (3, 40, 40)


def test_crnn_gaussian_readout_shape_causal_positive():
    torch.manual_seed(0)
    m = CRNN(CRNNConfig(cells=4, img_size=20, history=5, conv1=4, kernel1=5, conv2=3, kernel2=3,
                        readout="gaussian")).eval()
    x = torch.randn(2, 16, 20, 20)
    assert m(x).shape == (2, 16, 4) and (m(x) >= 0).all()
    before, after = _changes_before(m, x, 9)
    assert before == 0.0 and after > 0


def test_crnn_gaussian_readout_reads_where_its_point_is():
    """A cell sees only the pixels under the conv units around its point: a pixel beyond their
    reach leaves its rate unchanged; one at the point changes it."""
    torch.manual_seed(0)
    cfg = CRNNConfig(cells=1, img_size=30, history=3, conv1=4, kernel1=5, conv2=4, kernel2=3,
                     readout="gaussian")
    m = CRNN(cfg).eval()
    side = cfg.conv_out                                   # 24 map positions, each 7 px wide
    with torch.no_grad():
        m.position.copy_(torch.tensor([[-1.0, -1.0]]))    # map unit (0, 0): pixels 0…6
    x = torch.randn(1, 6, 30, 30)
    near, far = x.clone(), x.clone()
    near[0, :, 3, 3] += 5.0
    far[0, :, 20, 20] += 5.0
    assert side == 24
    assert torch.equal(m(far), m(x))
    assert not torch.allclose(m(near), m(x))


def test_crnn_gaussian_readout_jitters_only_in_training():
    torch.manual_seed(0)
    m = CRNN(CRNNConfig(cells=3, img_size=20, history=2, conv1=2, kernel1=5, conv2=2, kernel2=3,
                        readout="gaussian"))
    x = torch.randn(1, 4, 20, 20)
    assert not torch.equal(m.train()(x), m(x))
    assert torch.equal(m.eval()(x), m(x))


@pytest.mark.parametrize(("activation", "learns"), [("relu", False), ("elu", True)])
def test_a_silent_conv_layer_stops_learning_only_with_relu(activation, learns):
    torch.manual_seed(0)
    m = CRNN(CRNNConfig(cells=2, img_size=20, history=2, conv1=2, kernel1=5, conv2=2, kernel2=3,
                        readout="gaussian", activation=activation))
    with torch.no_grad():
        m.conv2.bias.fill_(-30.0)      # every unit of conv2 far below threshold for every input
    m(torch.randn(1, 4, 20, 20)).sum().backward()
    assert (m.conv1.weight.grad.abs().sum() > 0) == learns


def test_crnn_bad_readout():
    with pytest.raises(ValueError, match="readout: expected one of .*'dense'.* found 'point'"):
        CRNN(CRNNConfig(readout="point"))
    with pytest.raises(ValueError, match="activation: expected one of .*'elu'.* found 'tanh'"):
        CRNN(CRNNConfig(activation="tanh"))
    with pytest.raises(ValueError, match="jitter"):
        CRNN(CRNNConfig(img_size=20, kernel1=5, kernel2=3, readout="gaussian", jitter=-0.1))


def test_crnn_paper_sizes():
    m = CRNN(CRNNConfig())
    assert m.conv1.kernel_size == (25, 25) and m.conv1.out_channels == 128
    assert m.conv2.kernel_size == (11, 11) and m.conv2.out_channels == 64
    assert m.conv1.in_channels == 20


@pytest.mark.parametrize("causal", [True, False])
def test_mstcn_causality(causal):
    torch.manual_seed(0)
    m = MSTCN(MSTCNConfig(feat_dim=6, patches=9, cells=4, stages=2, layers=4, channels=8, causal=causal))
    x = torch.randn(2, 40, 9, 6)
    assert m(x).shape == (2, 40, 4) and len(m.stages_output(x)) == 2
    before, after = _changes_before(m, x, 25)
    assert after > 0
    assert (before == 0.0) == causal
    with pytest.raises(ValueError, match="P=9"):
        m(torch.randn(2, 40, 8, 6))


def test_i3d_causal_per_frame():
    torch.manual_seed(0)
    m = I3D().eval()
    x = torch.randn(1, 3, 12, 64, 64)
    with torch.no_grad():
        y = m(x)
        x2 = x.clone()
        x2[:, :, 7:] = torch.randn_like(x2[:, :, 7:])
        y2 = m(x2)
    assert y.shape == (1, 1024, 12, 2, 2)
    assert (y - y2)[:, :, :7].abs().max() == 0 and (y - y2)[:, :, 7:].abs().max() > 0
    assert 12_000_000 < count_parameters(m) < 12_500_000  # Inception-v1 inflated: ≈12.3 M
