"""vist.train: determinism, resuming, divergence, parameter validation, run storage and reuse."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vist.data.synthetic import simulate
from vist.model import ViST, ViSTConfig
from vist.presets import TrainSettings
from vist.prior import PixelPrior
from vist.train import RunSpec, TrainingDiverged, fit
from vist.train.evaluate import evaluate, head_segments, predict
from vist.train.evaluate import test_targets as held_out_targets  # not a test: no "test_" name here
from vist.train.inputs import prepare_from
from vist.train.schedule import one_cycle_lr

TINY = TrainSettings(batch=2, window=40, batches_per_epoch=3, epochs=3, warmup_epochs=1,
                     swa_start=1)


@pytest.fixture(scope="module")
def data():
    rec = simulate("mov1", seed=0, trials=4, n_frames=120).cells(range(10))
    return prepare_from(rec, None, PixelPrior(img_size=224, cache=False))


def _model(data, seed=0):
    torch.manual_seed(seed)
    return ViST(ViSTConfig(feat_dim=data.train_x.shape[2], cells=data.cells, video_dim=8, video_layers=2))


def _weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_same_seed_gives_identical_weights_and_metrics(data):
    runs = []
    for _ in range(2):
        out = fit(_model(data), data, TINY, seed=3, progress=False)
        pred = predict(out.model, data, torch.device("cpu"))
        runs.append((_weights(out.model), evaluate(pred, data)["summary"]))
    for k in runs[0][0]:
        torch.testing.assert_close(runs[0][0][k], runs[1][0][k], rtol=0, atol=0)
    assert runs[0][1] == runs[1][1]


def test_resuming_gives_the_same_final_weights(data, tmp_path):
    whole = fit(_model(data), data, TINY, seed=1, progress=False)
    ckpt = tmp_path / "ckpt.pt"
    fit(_model(data), data, TINY, seed=1, checkpoint=ckpt, progress=False, stop_after_epoch=0)
    assert ckpt.exists()
    resumed = fit(_model(data), data, TINY, seed=1, checkpoint=ckpt, progress=False)
    assert resumed.resumed_from == 1
    a, b = _weights(whole.model), _weights(resumed.model)
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)
    assert [h["loss"] for h in whole.history] == [h["loss"] for h in resumed.history]


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(data, tmp_path):
    ckpt = tmp_path / "ckpt.pt"
    poisoned = prepare_from(simulate("mov1", seed=0, trials=4, n_frames=120).cells(range(10)), None,
                            PixelPrior(img_size=224, cache=False))

    def poison_after_first_epoch(model):
        poisoned.train_y[:] = float("nan")
        return {}

    with pytest.raises(TrainingDiverged, match=r"loss became nan at epoch 1, step 0.*epoch \(0\) is kept"):
        fit(_model(poisoned), poisoned, TINY, checkpoint=ckpt, evaluate=poison_after_first_epoch, progress=False)
    state = torch.load(ckpt, weights_only=True)
    assert state["epoch"] == 0
    assert all(torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point())


def test_head_segments_keeps_the_first_frames_in_order():
    segs = ((0, 10), (20, 30), (40, 50))
    assert head_segments(segs, None) == segs
    assert head_segments(segs, 15) == ((0, 10), (20, 25))
    assert head_segments(segs, 10) == ((0, 10),)
    assert head_segments(segs, 100) == segs
    with pytest.raises(ValueError, match="positive number of frames or None, found 0"):
        head_segments(segs, 0)


def test_per_epoch_subset_is_the_head_of_the_full_prediction(data):
    """A causal model restarts at each segment start, so scoring the head predicts the same values."""
    model = _model(data).eval()
    full = predict(model, data, torch.device("cpu"))
    head = predict(model, data, torch.device("cpu"), frames=25)
    assert head.shape == (25, data.cells)
    np.testing.assert_allclose(head, full[:25], rtol=1e-5, atol=1e-6)
    target, spikes = held_out_targets(data, 25)
    np.testing.assert_array_equal(target, held_out_targets(data)[0][:25])
    assert spikes.shape[1] == 25


def test_training_reduces_the_loss(data):
    settings = TrainSettings(batch=4, window=40, batches_per_epoch=6, epochs=4, warmup_epochs=1,
                             swa_start=None, lr=3e-3)
    out = fit(_model(data), data, settings, seed=0, progress=False)
    assert out.history[-1]["loss"] < out.history[0]["loss"]


@pytest.mark.parametrize("field, value, message", [
    ("model", "transformer", r"model: expected one of \['vist', 'crnn', 'mstcn'\]"),
    ("train_movie", "mov3", r"train_movie: expected one of \['mov1', 'mov2'\]"),
    ("preset", "huge", r"preset: expected one of \['paper', 'small'\]"),
    ("loss", "mse", r"loss: expected one of"),
    ("prior", "clip", r"prior: expected one of"),
    ("backbone", "vit_huge", r"backbone: expected None \(the preset's\) or one of \['vit_small_patch14_dinov2'"),
])
def test_unknown_values_fail_before_any_work(field, value, message):
    with pytest.raises(ValueError, match=message):
        RunSpec(**{field: value})


def test_spec_roundtrip_and_id():
    spec = RunSpec(model="vist", cells=(3, 1), model_options={"condition": "none"})
    again = RunSpec.from_dict(spec.to_dict())
    assert again == spec and again.run_id() == spec.run_id()
    assert spec.run_id() != spec.replace(seed=1).run_id()


def test_schedule_warms_up_then_decays():
    lrs = [one_cycle_lr(s, 100, 10, 8e-4, 5e-5, 1e-4) for s in range(100)]
    assert lrs[0] == pytest.approx(5e-5) and max(lrs) == pytest.approx(8e-4)
    assert lrs[-1] == pytest.approx(1e-4)
    assert np.all(np.diff(lrs[:10]) > 0) and np.all(np.diff(lrs[10:]) <= 0)


def test_settings_for_applies_the_model_schedule_then_the_run_override():
    from vist.presets import PRESETS

    small, paper = PRESETS["small"], PRESETS["paper"]
    vist = small.settings_for("vist")
    assert vist == small.vist.train and vist.weight_decay == 0.5 != small.train.weight_decay
    crnn = small.settings_for("crnn")
    assert (crnn.epochs, crnn.warmup_epochs, crnn.swa_start) == (64, 4, 52)
    assert small.settings_for("crnn", epochs=3).swa_start == 2
    assert paper.settings_for("crnn") == paper.train
    with pytest.raises(ValueError, match="model: expected one of"):
        small.settings_for("lstm")


def test_a_spec_can_be_hashed_and_its_options_cannot_change():
    spec = RunSpec(model="vist", model_options={"condition": "none"})
    assert {spec: 1}[RunSpec(model="vist", model_options={"condition": "none"})] == 1
    assert spec.model_options == {"condition": "none"} and hash(spec) != hash(spec.replace(model_options={}))
    with pytest.raises(TypeError, match="cannot be changed"):
        spec.model_options["condition"] = "rf"


def test_a_stored_run_is_reused_only_if_its_settings_are_todays(tmp_path, monkeypatch):
    import json

    import vist.train.loop as loop
    from vist.train import train_run

    path = tmp_path / "rec.npz"
    simulate("mov1", seed=0, trials=4, n_frames=120).cells(range(6)).save(path)
    spec = RunSpec(model="crnn", data=str(path), preset="small", epochs=1)
    first = train_run(spec, device="cpu", progress=False, root=tmp_path / "runs")
    assert first.record["settings"]["epochs"] == 1 and len(first.history) == 1

    def no_training(*args, **kwargs):
        raise AssertionError("a stored run with the same spec and settings was retrained")

    with monkeypatch.context() as m:
        m.setattr(loop, "fit", no_training)
        again = train_run(spec, device="cpu", progress=False, root=tmp_path / "runs")
    assert again.record["provenance"] == first.record["provenance"]
    # the same spec stored by code whose preset trained differently is retrained
    record = json.loads((first.path / "run.json").read_text())
    record["settings"]["batches_per_epoch"] = 99
    (first.path / "run.json").write_text(json.dumps(record))
    retrained = train_run(spec, device="cpu", progress=False, root=tmp_path / "runs")
    assert retrained.record["settings"]["batches_per_epoch"] == first.record["settings"]["batches_per_epoch"]
