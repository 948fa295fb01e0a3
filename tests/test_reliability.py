"""Hostile inputs, damaged stores and outside references (issue 15).

Each test names the item of the issue it covers; each fails on the code before the fix
(a4bdecc): the behaviour it checks was then a traceback, a silent wrong result, or code run from
a file.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from tests.dryad_layout import write_layout, write_mat_v5, write_mat_v73
from vist.cache import CacheError, atomic_path
from vist.data import DryadLayoutError, load
from vist.data.recording import Recording
from vist.data.synthetic import simulate
from vist.model import ViST, ViSTConfig
from vist.presets import TrainSettings
from vist.prior import PixelPrior
from vist.train import RunSpec, fit
from vist.train.inputs import prepare_from

ROOT = Path(__file__).resolve().parents[1]

TINY = TrainSettings(batch=2, window=40, batches_per_epoch=2, epochs=2, warmup_epochs=1, swa_start=1)
LOSS = "rmse+relu"  # the checkpoint tests need no soft-DTW (tested with the full loss in test_train)


@pytest.fixture(scope="module")
def data():
    rec = simulate("mov1", seed=0, trials=4, n_frames=100).cells(range(6))
    return prepare_from(rec, None, PixelPrior(img_size=224, cache=False))


def _model(data, seed=0):
    torch.manual_seed(seed)
    return ViST(ViSTConfig(feat_dim=data.train_x.shape[2], cells=data.cells, video_dim=8, video_layers=2))


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def _fit(data, settings=TINY, seed=1, **kwargs):
    return fit(_model(data), data, settings, loss_name=kwargs.pop("loss_name", LOSS), seed=seed,
               progress=False, **kwargs)


@pytest.fixture(scope="module")
def fresh(data):
    """The uninterrupted TINY run (seed 1): what every healed run must reproduce."""
    return _fit(data)


@pytest.fixture(scope="module")
def partial(data, tmp_path_factory):
    """The bytes of the TINY run's checkpoint after its first epoch."""
    ckpt = tmp_path_factory.mktemp("partial") / "checkpoint.pt"
    _fit(data, checkpoint=ckpt, stop_after_epoch=0)
    return ckpt.read_bytes()


def _strict_json(text: str):
    def refuse(token):
        raise ValueError(f"not JSON: {token}")

    return json.loads(text, parse_constant=refuse)


# --- 1. security: no pickle code runs from the results store ---------------------------------

def test_no_weights_only_false_anywhere_in_the_package():
    hits = [f"{p.relative_to(ROOT)}:{i}" for p in (ROOT / "vist").rglob("*.py")
            for i, line in enumerate(p.read_text().splitlines(), 1) if "weights_only=False" in line]
    assert hits == []


class _Payload:
    """Unpickling this object creates ``marker`` (stands for any code a pickle can run)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_a_pickle_payload_checkpoint_is_not_executed(data, fresh, tmp_path):
    marker = tmp_path / "pwned"
    ckpt = tmp_path / "checkpoint.pt"
    torch.save({"model": _Payload(marker), "epoch": 0}, ckpt)
    with pytest.warns(UserWarning, match=r"checkpoint .*checkpoint\.pt cannot be read as a plain-data"):
        out = _fit(data, checkpoint=ckpt)
    assert not marker.exists()
    assert out.resumed_from is None and _same_weights(out.model, fresh.model)
    # the checkpoint now on disk is the healthy one of this run, and it loads as plain data
    assert torch.load(ckpt, weights_only=True)["epoch"] == TINY.epochs - 1


def test_the_checkpoint_is_plain_data_and_resumes_exactly(data, fresh, partial, tmp_path):
    """weights_only=True reads every entry (numpy's PCG64 state as Python ints included)."""
    ckpt = tmp_path / "checkpoint.pt"
    ckpt.write_bytes(partial)
    state = torch.load(ckpt, weights_only=True)
    assert state["sampler"]["bit_generator"] == "PCG64"
    assert isinstance(state["sampler"]["state"]["state"], int)
    assert state["cuda_rng"] is None and state["torch_rng"].dtype == torch.uint8
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a usable checkpoint resumes without a word
        resumed = _fit(data, checkpoint=ckpt)
    assert resumed.resumed_from == 1 and _same_weights(resumed.model, fresh.model)
    assert [h["loss"] for h in resumed.history] == [h["loss"] for h in fresh.history]


# --- 7. damaged stores heal -------------------------------------------------------------------

@pytest.mark.parametrize("damage", ["empty", "truncated", "garbage"])
def test_a_damaged_checkpoint_restarts_from_scratch_with_a_warning(data, fresh, partial, tmp_path, damage):
    ckpt = tmp_path / "checkpoint.pt"
    ckpt.write_bytes({"empty": b"", "truncated": partial[: len(partial) // 2],
                      "garbage": b"PK\x03\x04 not a checkpoint"}[damage])
    with pytest.warns(UserWarning, match=r"checkpoint .*checkpoint\.pt .*training from scratch"):
        out = _fit(data, checkpoint=ckpt)
    assert out.resumed_from is None and _same_weights(out.model, fresh.model)


def test_a_checkpoint_of_other_settings_is_not_resumed(data, partial, tmp_path):
    ckpt = tmp_path / "checkpoint.pt"
    ckpt.write_bytes(partial)
    other = TrainSettings(**{**TINY.to_dict(), "lr": TINY.lr * 3})
    with pytest.warns(UserWarning, match=r"checkpoint .*checkpoint\.pt was written for another run "
                                         r"\(it differs in: settings\); training from scratch"):
        out = _fit(data, other, checkpoint=ckpt, stop_after_epoch=0)
    assert out.resumed_from is None
    assert _same_weights(out.model, _fit(data, other, stop_after_epoch=0).model)
    # another seed, loss or model is another run too
    for kwargs, what in (({"seed": 2}, "seed"), ({"loss_name": "rmse"}, "loss")):
        ckpt.write_bytes(partial)
        with pytest.warns(UserWarning, match=rf"differs in: {what}\)"):
            out = _fit(data, checkpoint=ckpt, stop_after_epoch=0, **kwargs)
        assert out.resumed_from is None
    ckpt.write_bytes(partial)
    wider = ViST(ViSTConfig(feat_dim=data.train_x.shape[2], cells=data.cells, video_dim=12, video_layers=2))
    with pytest.warns(UserWarning, match=r"differs in: parameters\)"):
        out = fit(wider, data, TINY, loss_name=LOSS, seed=1, checkpoint=ckpt, progress=False, stop_after_epoch=0)
    assert out.resumed_from is None


def test_orphaned_temporary_files_are_removed_by_the_next_write(tmp_path):
    target = tmp_path / "run.json"
    # a writer killed before its rename: a child process that exits while holding its temporary file
    code = ("import os, sys; from vist.cache import atomic_path\n"
            f"with atomic_path({str(target)!r}) as tmp:\n"
            "    tmp.write_text('half')\n"
            "    os._exit(0)\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
    orphans = list(tmp_path.glob(".run.*.json.tmp"))
    assert len(orphans) == 1 and not target.exists()
    legacy = tmp_path / ".run.abcd1234.json.tmp"  # the naming of older versions, an hour old
    legacy.write_text("half")
    os.utime(legacy, (legacy.stat().st_mtime - 7200,) * 2)
    other = tmp_path / ".other.abcd1234.json.tmp"  # another file's: left alone
    other.write_text("half")
    os.utime(other, (other.stat().st_mtime - 7200,) * 2)
    with atomic_path(target) as tmp:
        live = tmp  # this writer's own temporary file survives its own clean-up
        assert tmp.exists()
        tmp.write_text("{}")
    assert target.read_text() == "{}" and not live.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.abcd1234.json.tmp", "run.json"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A saved recording and a run spec on it (CRNN, 1 epoch): trained with a stand-in ``fit``."""
    root = tmp_path_factory.mktemp("store")
    path = root / "rec.npz"
    simulate("mov1", seed=0, trials=4, n_frames=120).cells(range(6)).save(path)
    return SimpleNamespace(root=root, spec=RunSpec(model="crnn", data=str(path), preset="small", epochs=1))


def _train_run(store, monkeypatch, runs: str):
    """``train_run`` with ``fit`` replaced by one that returns the model untrained; counts calls."""
    import vist.train.runs as runs_module
    from vist.train import train_run
    from vist.train.loop import Trained

    calls = []

    def no_training(model, *args, **kwargs):
        calls.append(1)
        return Trained(model=model.eval(), history=[{"epoch": 0, "loss": 1.0, "cc": float("nan")}])

    monkeypatch.setattr(runs_module, "fit", no_training)  # the name train_run calls
    run = train_run(store.spec, device="cpu", progress=False, root=store.root / runs)
    return run, len(calls)


@pytest.mark.parametrize("damage", ["empty run.json", "truncated run.json", "run.json not an object",
                                    "no predictions.npz", "no model.pt", "truncated model.pt",
                                    "truncated predictions.npz"])
def test_a_damaged_stored_run_is_trained_again_with_a_warning(store, monkeypatch, damage):
    runs = re.sub(r"\W", "_", damage)
    first, calls = _train_run(store, monkeypatch, runs)
    assert calls == 1
    again, calls = _train_run(store, monkeypatch, runs)
    assert calls == 0  # intact: reused
    name = damage.split()[-1] if damage.startswith(("no ", "truncated")) else "run.json"
    path = first.path / name
    if damage.startswith("no "):
        path.unlink()
    elif damage.startswith("truncated"):
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    else:
        path.write_text("" if damage.startswith("empty") else "[1, 2]")
    with pytest.warns(UserWarning, match=re.escape(name)):
        healed, calls = _train_run(store, monkeypatch, runs)
    assert calls == 1
    healed.verify_files()
    assert healed.scores.to_dict().keys() == first.scores.to_dict().keys()


# --- 3. infinite summaries; strict JSON --------------------------------------------------------

def test_cells_without_a_usable_ceiling_are_left_out_and_counted():
    from vist.train.evaluate import evaluate

    rng = np.random.default_rng(0)
    T, cells = 300, 4
    rate = 1.0 + np.sin(np.arange(T) / 5.0)[:, None] * np.ones(cells)
    spikes = rng.poisson(np.broadcast_to(rate, (6, T, cells))).astype(np.float64)
    spikes[:, :, 0] = rng.poisson(1.0, (6, T))  # pure noise: reliability <= 0 for this seed
    data = SimpleNamespace(test_y=torch.tensor(spikes.mean(0), dtype=torch.float32), test_spikes=spikes,
                           test_segments=((0, T),))
    from vist.metrics import cc_ceiling

    assert cc_ceiling(spikes)[0] == 0.0  # the case of the issue: a zero ceiling
    pred = rate + rng.normal(0, 0.3, (T, cells))
    out = evaluate(pred.astype(np.float32), data)
    s = out["summary"]
    assert all(v is None or math.isfinite(v) or math.isnan(v) for v in s.values())
    assert math.isfinite(s["cc_normalised"]) and s["cells_without_ceiling"] == 1
    assert out["per_cell"]["cc_normalised"][0] is None
    expected = np.mean([out["per_cell"]["cc"][c] / out["per_cell"]["cc_ceiling"][c] for c in range(1, cells)])
    assert s["cc_normalised"] == pytest.approx(expected)


def test_json_is_strict_nan_and_inf_become_null(tmp_path):
    from vist.cache import dumps_strict, write_json_atomic

    record = {"a": float("nan"), "b": [1.0, float("inf"), np.float32("-inf")], "c": np.float64(0.5),
              "d": {"e": np.int64(3), "f": (1, 2)}, "g": np.array([1.0, np.nan])}
    text = dumps_strict(record)
    assert _strict_json(text) == {"a": None, "b": [1.0, None, None], "c": 0.5, "d": {"e": 3, "f": [1, 2]},
                                  "g": [1.0, None]}
    write_json_atomic(tmp_path / "x.json", record)
    assert _strict_json((tmp_path / "x.json").read_text())["a"] is None


def test_a_stored_run_json_is_strict_and_reads_null_back_as_nan(store, monkeypatch):
    from vist.train import Run
    from vist.train.runs import _write_json

    run, _ = _train_run(store, monkeypatch, "strict")
    _strict_json((run.path / "run.json").read_text())  # the per-epoch cc of NaN was written as null
    assert math.isnan(run.history[0]["cc"])
    record = dict(run.record)
    record["metrics"] = {**record["metrics"], "summary": {**run.scores.to_dict(), "cc_normalised": float("-inf"),
                                                          "cc_positive": math.nan}}
    _write_json(run.path / "run.json", record)
    text = (run.path / "run.json").read_text()
    assert "Infinity" not in text and "NaN" not in text
    again = Run.load(run.path)
    assert math.isnan(again.scores.cc_normalised)
    assert math.isnan(again.scores.cc_positive)


# --- 4. noise ceiling with an odd number of trials -----------------------------------------------

@pytest.mark.parametrize("n", [3, 4, 7, 8])
def test_noise_ceiling_matches_simulated_poisson_trials(n):
    """cc_ceiling estimates the correlation of the true rate with the mean of the n recorded trials.

    The ground truth is measured on fresh simulated repeats of n Poisson trials; the estimate is
    within 0.01 of it on the mean over 200 cells (its sampling error is ~0.001), while the truth
    for n − 1 trials (what a factor-2 Spearman–Brown gives for odd n) differs by more than 0.02.
    """
    from scipy.ndimage import uniform_filter1d

    from vist.metrics import cc_ceiling, split_half_reliability
    from vist.metrics.noise import pearson_columns

    rng = np.random.default_rng(n)
    T, cells = 1000, 200
    lam = uniform_filter1d(rng.gamma(0.6, 0.6, (T, cells)), 3, axis=0)

    def truth(k: int) -> float:
        return float(np.mean([pearson_columns(lam, rng.poisson(np.broadcast_to(lam, (k, T, cells))).mean(0))
                              for _ in range(10)]))

    spikes = rng.poisson(np.broadcast_to(lam, (n, T, cells)))
    estimate = float(np.nanmean(cc_ceiling(spikes)))
    t_n, t_fewer = truth(n), truth(n - 1)
    assert t_n - t_fewer > 0.02
    assert estimate == pytest.approx(t_n, abs=0.01)
    # the reliability itself is that of the n-trial mean: var(λ) / (var(λ) + mean(λ)/n) for Poisson
    theory = np.mean(lam.var(0) / (lam.var(0) + lam.mean(0) / n))
    assert float(np.nanmean(split_half_reliability(spikes))) == pytest.approx(theory, abs=0.015)


# --- 5. weights with NaN or inf; bad weights files ---------------------------------------------

SMALL = "vit_small_patch14_dinov2"


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    import timm

    torch.manual_seed(0)
    m = timm.create_model(SMALL, pretrained=False, img_size=42, num_classes=0)
    return {k: v.detach().clone().contiguous() for k, v in m.state_dict().items()}


def _prior(path):
    from vist.prior import ViTPrior

    return ViTPrior(SMALL, weights=path, img_size=42, precision="fp32", device="cpu", cache=False)


@pytest.mark.parametrize("suffix, value", [(".safetensors", float("nan")), (".pth", float("-inf"))])
def test_weights_with_nan_or_inf_are_refused_naming_the_tensor(weights, tmp_path, suffix, value):
    from safetensors.torch import save_file

    sd = dict(weights)
    sd["blocks.3.mlp.fc1.weight"] = sd["blocks.3.mlp.fc1.weight"].clone()
    sd["blocks.3.mlp.fc1.weight"][5, 7] = value
    path = tmp_path / f"model{suffix}"
    save_file(sd, str(path)) if suffix == ".safetensors" else torch.save(sd, path)
    with pytest.raises(ValueError, match=r"tensor 'blocks\.3\.mlp\.fc1\.weight' \(shape \[1536, 384\]\) "
                                         r"holds 1 NaN or infinite values"):
        _prior(path)


@pytest.mark.parametrize("damage", ["empty", "truncated", "bad header"])
def test_a_damaged_safetensors_file_is_named(weights, tmp_path, damage):
    from safetensors.torch import save_file

    path = tmp_path / "model.safetensors"
    save_file(weights, str(path))
    raw = path.read_bytes()
    path.write_bytes({"empty": b"", "truncated": raw[: len(raw) // 2],
                      "bad header": (10 ** 12).to_bytes(8, "little") + raw[8:]}[damage])
    with pytest.raises(ValueError, match=rf"weights file {re.escape(str(path))}: expected a safetensors file, "
                                         r"could not read it"):
        _prior(path)


def test_a_weights_tensor_of_the_wrong_shape_is_named(weights, tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "model.safetensors"
    save_file({**weights, "blocks.0.attn.qkv.weight": torch.zeros(10, 384)}, str(path))
    with pytest.raises(ValueError, match=r"tensor 'blocks\.0\.attn\.qkv\.weight' has shape \[10, 384\], "
                                         r"expected \[1152, 384\]"):
        _prior(path)


def test_a_pickle_payload_weights_file_is_not_executed(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "dinov2_vits14_pretrain.pth"
    torch.save({"model": _Payload(marker)}, path)
    with pytest.raises(ValueError, match="expected a PyTorch checkpoint of plain tensors"):
        _prior(path)
    assert not marker.exists()


# --- 2. Dryad frames: a missing or extra frame is named ------------------------------------------

def test_a_missing_frame_is_named(tmp_path):
    write_layout(tmp_path, n_frames=12, neurons=2, trials=2)
    os.remove(tmp_path / "Stimuli" / "Movie1" / "frame_7.raw")
    with pytest.raises(DryadLayoutError, match=r"Movie1: expected one file per frame named like 'frame_#\.raw', "
                                               r"numbered 1\.\.12 .*; found missing frame frame_7\.raw$"):
        load("dryad", "mov1", root=tmp_path)


def test_a_stray_or_duplicated_frame_is_named(tmp_path):
    write_layout(tmp_path, n_frames=12, neurons=2, trials=2)
    movie = tmp_path / "Stimuli" / "Movie1"
    shutil.copy(movie / "frame_3.raw", movie / "frame_3 (copy).raw")
    with pytest.raises(DryadLayoutError, match=r"extra file not named like 'frame_#\.raw': frame_3 \(copy\)\.raw"):
        load("dryad", "mov1", root=tmp_path)
    os.remove(movie / "frame_3 (copy).raw")
    shutil.copy(movie / "frame_3.raw", movie / "frame_03.raw")
    with pytest.raises(DryadLayoutError, match=r"several files for frame 3: frame_03\.raw, frame_3\.raw"):
        load("dryad", "mov1", root=tmp_path)
    os.remove(movie / "frame_03.raw")
    os.remove(movie / "frame_1.raw")  # numbering that starts late: the first frame is missing
    with pytest.raises(DryadLayoutError, match=r"missing frame frame_1\.raw"):
        load("dryad", "mov1", root=tmp_path)


def test_zero_based_and_zero_padded_frame_names_load(tmp_path):
    write_layout(tmp_path, n_frames=12, neurons=2, trials=2)
    movie = tmp_path / "Stimuli" / "Movie1"
    for k in range(1, 13):
        (movie / f"frame_{k}.raw").rename(movie / f"img{k - 1:04d}.raw")
    rec = load("dryad", "mov1", root=tmp_path)
    assert rec.n_frames == 12 and rec.frames[11, 5, 100] == 11
    os.remove(movie / "img0004.raw")
    with pytest.raises(DryadLayoutError, match=r"numbered 0\.\.11 .*missing frame img0004\.raw"):
        load("dryad", "mov1", root=tmp_path)


def test_frames_missing_at_the_end_disagree_with_the_spike_time_base(tmp_path):
    write_layout(tmp_path, n_frames=60, neurons=2, trials=3)
    period = 1000 / 30
    # every trial's spikes run to the last frame (2 s)
    rows = [[np.array([5.0, 1000.0, 59 * period + 3]) for _ in range(3)] for _ in range(2)]
    write_mat_v5(tmp_path / "NeuralData" / "Spikes" / "Movie1Exp1.mat", "Spikes", rows)
    assert load("dryad", "mov1", root=tmp_path).n_frames == 60
    for k in range(20, 61):  # a copy that stopped after 19 frames (0.63 s)
        os.remove(tmp_path / "Stimuli" / "Movie1" / f"frame_{k}.raw")
    with pytest.raises(DryadLayoutError, match=r"Movie1 holds 19 frames \(0\.63 s at 30 frames/s\) but in 3 of 3 "
                                               r"trials of Movie1Exp1\.mat spikes go on to 1\.97 s"):
        load("dryad", "mov1", root=tmp_path)


# --- clear errors instead of tracebacks ---------------------------------------------------------

def test_a_synthetic_movie_shorter_than_the_temporal_filters_loads():
    rec = load("synthetic", n_frames=20, cache=False, trials=2)
    assert rec.frames.shape[0] == 20 and rec.spikes.shape == (2, 20, 90)
    assert np.isfinite(rec.true_rates).all() and rec.true_rates.max() > 0


def test_a_negative_seed_is_named():
    from vist.data import WindowSampler
    from vist.data.retina import RetinaParams, make_cells

    with pytest.raises(ValueError, match="seed: expected a non-negative integer"):
        RunSpec(seed=-1)
    with pytest.raises(ValueError, match="seed: expected a non-negative integer"):
        make_cells(RetinaParams(), -1)  # what load("synthetic", seed=-1) draws first
    with pytest.raises(ValueError, match="seed: expected a non-negative integer"):
        load("synthetic", seed=-1, n_frames=5, cache=False)
    with pytest.raises(ValueError, match="seed: expected a non-negative integer"):
        WindowSampler(((0, 100),), 10, 2, 2, seed=-1)


@pytest.mark.parametrize("cut", [0.5, 0.05])
def test_a_truncated_v73_mat_file_is_named(tmp_path, cut):
    write_layout(tmp_path, n_frames=5, neurons=2, trials=2, version="v73")
    path = tmp_path / "NeuralData" / "Spikes" / "Movie1Exp1.mat"
    raw = path.read_bytes()
    path.write_bytes(raw[: max(600, int(len(raw) * cut))])
    with pytest.raises(DryadLayoutError, match=rf"{re.escape(str(path))}: expected a readable MATLAB v7\.3 "
                                               r"\(HDF5\) file, could not read it"):
        load("dryad", "mov1", root=tmp_path)


def test_a_v73_file_still_loads(tmp_path):  # the wrapper only names errors
    write_layout(tmp_path, n_frames=5, neurons=2, trials=2, version="v73")
    write_mat_v73(tmp_path / "NeuralData" / "Spikes" / "Movie1Exp1.mat", "Spikes",
                  [[np.array([10.0]), np.array([50.0])], [np.array([90.0]), np.zeros(0)]])
    rec = load("dryad", "mov1", root=tmp_path)
    assert rec.spikes[:, :, 0].tolist() == [[1, 0, 0, 0, 0], [0, 1, 0, 0, 0]]


@pytest.mark.parametrize("meta", ["[1, 2]", "3", "not json {", None])
def test_a_recording_whose_meta_is_not_a_json_object_is_named(tmp_path, meta):
    path = tmp_path / "rec.npz"
    arrays = {"frames": np.zeros((3, 4, 4), np.uint8), "spikes": np.zeros((2, 3, 1), np.int64),
              "rf_xy": np.array([[0.0, 1, 1], [0, 0, 1]]), "rf_offsets": np.array([0, 3])}
    extra = {"__meta__": np.array(meta)} if meta is not None else {"__meta__": np.arange(3)}
    np.savez(path, **arrays, **extra)
    with pytest.raises(CacheError, match=rf"{re.escape(str(path))}: expected '__meta__' to hold a JSON object"):
        Recording.load(path)
    with pytest.raises(ValueError):  # CacheError is a ValueError, as every bad-input error here
        load(str(path))


def test_cc_of_no_frames_is_named():
    from vist.metrics import cc

    with pytest.raises(ValueError, match=r"cc: expected rates over at least one frame, found T=0"):
        cc(np.zeros((0, 3)), np.zeros((0, 3)))


@pytest.mark.parametrize("shape, what", [((0, 128, 5), "batch size B 0"), ((2, 0, 5), "clip length T 0")])
def test_the_loss_of_an_empty_batch_is_named(shape, what):
    from vist.losses import ViSTLoss

    with pytest.raises(ValueError, match=rf"ViSTLoss: expected a non-empty \[B, T, cells\] batch .*found {what}"):
        ViSTLoss()(torch.zeros(shape), torch.zeros(shape))


# --- 8. resuming on a GPU restores the CUDA generator --------------------------------------------

def test_checkpoints_save_and_restore_the_cuda_generator(monkeypatch):
    """On CUDA, dropout draws from the device's generator: the checkpoint carries its state."""
    from vist.train import loop

    saved = torch.tensor([7, 8, 9], dtype=torch.uint8)
    restored = {}
    monkeypatch.setattr(torch.cuda, "get_rng_state", lambda device="cuda": saved.clone())
    monkeypatch.setattr(torch.cuda, "set_rng_state", lambda state, device="cuda": restored.update(s=state, d=device))
    cuda = torch.device("cuda", 0)
    state = loop.rng_state(cuda)
    assert torch.equal(state["cuda_rng"], saved) and state["torch_rng"].dtype == torch.uint8
    assert loop.rng_state(torch.device("cpu"))["cuda_rng"] is None
    loop.restore_rng_state(state, cuda)
    assert torch.equal(restored["s"], saved) and restored["d"] == cuda
    restored.clear()
    loop.restore_rng_state(state, torch.device("cpu"))
    assert restored == {}


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_resuming_on_cuda_gives_the_same_weights(data, tmp_path):
    torch.backends.cudnn.deterministic = True
    settings = TrainSettings(**{**TINY.to_dict(), "bf16": False})

    def model():
        torch.manual_seed(0)
        return ViST(ViSTConfig(feat_dim=data.train_x.shape[2], cells=data.cells, video_dim=8, video_layers=2,
                               dropout=0.5))

    whole = fit(model(), data, settings, seed=1, device="cuda", progress=False)
    ckpt = tmp_path / "ckpt.pt"
    fit(model(), data, settings, seed=1, device="cuda", checkpoint=ckpt, progress=False, stop_after_epoch=0)
    torch.cuda.manual_seed_all(12345)  # a resumed process starts with another CUDA generator state
    resumed = fit(model(), data, settings, seed=1, device="cuda", checkpoint=ckpt, progress=False)
    assert resumed.resumed_from == 1
    for k, v in whole.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[k], v, rtol=1e-5, atol=1e-6)


def test_published_tables_and_benchmark_files_are_strict_json(tmp_path, monkeypatch):
    import math

    from vist.bench.common import BenchTable
    from vist.report import REPORT_ENV, publish

    monkeypatch.setenv(REPORT_ENV, str(tmp_path))
    publish([{"cc": float("nan"), "sd_kl": math.inf, "model": "Vi-ST"}], "t")
    BenchTable("b", "cpu", [{"median_ms": float("nan")}]).save(tmp_path / "b.json")
    for name in ("t.json", "b.json"):
        text = (tmp_path / name).read_text()
        assert "NaN" not in text and "Infinity" not in text and "null" in text
        json.loads(text, parse_constant=lambda c, name=name: pytest.fail(f"{name} holds {c}"))


def test_a_cached_run_of_format_1_is_reused_with_the_same_scores(store, monkeypatch):
    """A run stored before the summary was keyed by :class:`vist.metrics.Scores` fields (format 1,
    display labels as keys) loads, is reused without training, and shows the same numbers."""
    import json

    from vist.metrics.scores import LEGACY_KEYS

    first, _ = _train_run(store, monkeypatch, "format1")
    record = json.loads((first.path / "run.json").read_text())
    old_keys = {v: k for k, v in LEGACY_KEYS.items()}
    record["format"] = 1
    record["metrics"]["summary"] = {old_keys.get(k, k): v for k, v in record["metrics"]["summary"].items()}
    assert "CC (signed mean, headline)" in record["metrics"]["summary"]
    (first.path / "run.json").write_text(json.dumps(record))
    again, calls = _train_run(store, monkeypatch, "format1")
    assert calls == 0
    assert again.record["format"] == 2 and again.scores.to_dict() == pytest.approx(first.scores.to_dict(),
                                                                                   nan_ok=True)
