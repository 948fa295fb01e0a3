"""vist.presets: what each model trains with in each preset, pinned.

The literals below were produced by the code before the presets became one typed
:class:`~vist.presets.Preset` (commit 118cb65: ``TRAIN_PRESETS``, ``settings_for``, the ``model``
and ``schedule`` dicts), with the small preset's changes since written in by hand (the MS-TCN's
24 epochs; Vi-ST's two CMST levels and 14 epochs). They are the contract: a run of any model in
``paper`` or ``small`` trains with these settings and builds this model, stores this settings
record (so stored runs stay reusable), and keeps its run id.
"""

from __future__ import annotations

from dataclasses import asdict, fields, replace

import pytest

from vist.model import CRNNConfig, MSTCNConfig, ViSTConfig
from vist.presets import PRESETS, CRNNSizes, MSTCNSizes, ViSTSizes, differences, get_preset
from vist.train.models import model_config
from vist.train.runs import settings_record
from vist.train.spec import RunSpec

_PAPER = dict(batch=16, window=128, batches_per_epoch=48, epochs=30, lr=0.0008, weight_decay=0.1,
              warmup_epochs=5, lr_start=5e-05, lr_end=0.0001, swa_start=20, bf16=True, eval_frames=None)
_SMALL = dict(batch=2, window=48, batches_per_epoch=20, epochs=14, lr=0.0008, weight_decay=0.1,
              warmup_epochs=1, lr_start=5e-05, lr_end=0.0001, swa_start=10, bf16=True, eval_frames=400)
SETTINGS = {
    ("paper", "vist"): _PAPER, ("paper", "crnn"): _PAPER, ("paper", "mstcn"): _PAPER,
    ("small", "vist"): {**_SMALL, "weight_decay": 0.5},
    ("small", "crnn"): {**_SMALL, "batch": 4, "epochs": 64, "lr": 0.01, "warmup_epochs": 4, "swa_start": 52},
    ("small", "mstcn"): {**_SMALL, "epochs": 24, "swa_start": 18, "eval_frames": None},
}
"""The training settings of each (preset, model)."""

MODEL_RECORD = {"paper": {},
                "small": {"vist": {"video_dim": 32, "video_layers": 4, "dropout": 0.1,
                                   "cmst_kernels": [[1, 7, 9], [1, 3, 5]]},
                          "crnn": {"img_size": 40, "conv1": 8, "kernel1": 7, "conv2": 8, "kernel2": 5,
                                   "history": 10, "readout": "gaussian", "activation": "elu"}}}
"""The ``model`` entry of a stored run's settings record, by preset."""

INPUTS = {("paper", "vist"): (8, 256, 1024), ("small", "vist"): (8, 100, 384),
          ("paper", "mstcn"): (8, 256, 1024), ("small", "mstcn"): (8, 100, 384),
          ("paper", "crnn"): (8, 50, 50), ("small", "crnn"): (8, 40, 40)}
"""Per-frame input shapes each (preset, model) sees (the prior's patch grid and feature size, or
the CRNN's frames at the preset's size)."""

_CMST = ((1, 25), (1, 13, 21), (1, 7, 9), (1, 3, 5))
CONFIGS = {
    ("paper", "vist"): ViSTConfig(feat_dim=1024, cells=90, grid=16, video_dim=256, video_layers=6, dropout=0.25,
                                  video_extractor="causal", condition="rf", multiscale="causal",
                                  cmst_kernels=_CMST, readout="linear"),
    ("small", "vist"): ViSTConfig(feat_dim=384, cells=90, grid=10, video_dim=32, video_layers=4, dropout=0.1,
                                  video_extractor="causal", condition="rf", multiscale="causal",
                                  cmst_kernels=((1, 7, 9), (1, 3, 5)), readout="linear"),
    ("paper", "crnn"): CRNNConfig(cells=90, img_size=50, history=20, conv1=128, kernel1=25, conv2=64,
                                  kernel2=11, hidden=64, readout="dense", jitter=0.2, activation="relu"),
    ("small", "crnn"): CRNNConfig(cells=90, img_size=40, history=10, conv1=8, kernel1=7, conv2=8,
                                  kernel2=5, hidden=64, readout="gaussian", jitter=0.2, activation="elu"),
    ("paper", "mstcn"): MSTCNConfig(feat_dim=1024, patches=256, cells=90, patch_dim=4, stages=4, layers=10,
                                    channels=64, dropout=0.5, causal=True),
    ("small", "mstcn"): MSTCNConfig(feat_dim=384, patches=100, cells=90, patch_dim=4, stages=4, layers=10,
                                    channels=64, dropout=0.5, causal=True),
}
"""The model configuration a run of each (preset, model) builds for :data:`INPUTS` and 90 cells."""

RUN_IDS = [
    (RunSpec(), "vist-mov1-mov1-small-12243abe1fb2"),
    (RunSpec(model="crnn", preset="paper", seed=3), "crnn-mov1-mov1-paper-fa91900c54f1"),
    (RunSpec(model="vist", model_options={"multiscale": "single", "condition": "none"}, cells=(3, 1), epochs=2),
     "vist-mov1-mov1-small-9598448e66cd"),
    (RunSpec(model="mstcn", train_movie="mov1", test_movie="mov2"), "mstcn-mov1-mov2-small-0934de99be82"),
]

DIFFERENCES = [
    ("prior: backbone", "vit_large_patch14_dinov2", "vit_small_patch14_dinov2"),
    ("prior: img_size", "224", "140"), ("prior: layer", "-1", "-4"), ("prior: i3d_img_size", "224", "112"),
    ("batch", "16", "2"), ("window", "128", "48"), ("batches_per_epoch", "48", "20"), ("epochs", "30", "14"),
    ("warmup_epochs", "5", "1"), ("swa_start", "20", "10"), ("eval_frames", "None", "400"),
    ("crnn: activation", "default", "elu"), ("crnn: conv1", "default", "8"), ("crnn: conv2", "default", "8"), ("crnn: history", "default", "10"),
    ("crnn: img_size", "default", "40"), ("crnn: kernel1", "default", "7"), ("crnn: kernel2", "default", "5"),
    ("crnn: readout", "default", "gaussian"),
    ("vist: cmst_kernels", "default", "((1, 7, 9), (1, 3, 5))"), ("vist: dropout", "default", "0.1"),
    ("vist: video_dim", "default", "32"), ("vist: video_layers", "default", "4"),
    ("crnn schedule: batch", "16", "4"), ("crnn schedule: epochs", "30", "64"),
    ("crnn schedule: lr", "0.0008", "0.01"), ("crnn schedule: swa_start", "20", "52"),
    ("crnn schedule: warmup_epochs", "5", "4"), ("mstcn schedule: epochs", "30", "24"),
    ("mstcn schedule: eval_frames", "None", "None"), ("mstcn schedule: swa_start", "20", "18"),
    ("vist schedule: weight_decay", "0.1", "0.5"),
]
"""The rows chapter 6 shows: (setting, paper, small)."""


@pytest.mark.parametrize(("preset", "model"), sorted(SETTINGS))
def test_each_model_trains_with_the_settings_of_before(preset, model):
    p = PRESETS[preset]
    assert p.settings_for(model).to_dict() == SETTINGS[(preset, model)]
    record = settings_record(p, p.settings_for(model))
    assert record == {**SETTINGS[(preset, model)], "model": MODEL_RECORD[preset], "schedule": {}}
    assert list(record["model"]) == list(MODEL_RECORD[preset])  # the stored order too
    shorter = p.settings_for(model, epochs=3)
    assert shorter.to_dict() == {**SETTINGS[(preset, model)], "epochs": 3, "swa_start": 2}


@pytest.mark.parametrize(("preset", "model"), sorted(CONFIGS))
def test_each_model_is_built_as_before(preset, model):
    assert model_config(RunSpec(model=model, preset=preset), INPUTS[(preset, model)], 90) == CONFIGS[(preset, model)]


def test_run_options_apply_after_the_preset_sizes():
    spec = RunSpec(model="vist", preset="small", model_options={"video_dim": 16, "condition": "none"})
    cfg = model_config(spec, (8, 100, 384), 90)
    assert (cfg.video_dim, cfg.video_layers, cfg.condition) == (16, 4, "none")
    with pytest.raises(ValueError, match="model_options: vist has no options"):
        model_config(RunSpec(model="vist", model_options={"width": 3}), (8, 100, 384), 90)


@pytest.mark.parametrize(("spec", "run_id"), RUN_IDS)
def test_run_ids_are_those_of_before(spec, run_id):
    assert spec.run_id() == run_id


def test_differences_give_the_rows_of_before():
    assert [(r["setting"], r["paper"], r["small"]) for r in differences("small")] == DIFFERENCES
    assert [(r["setting"], r["paper"], r["small"]) for r in differences("paper", "small")] == DIFFERENCES
    assert differences("small", "small") == []


@pytest.mark.parametrize(("sizes", "config"), [(ViSTSizes, ViSTConfig), (CRNNSizes, CRNNConfig),
                                               (MSTCNSizes, MSTCNConfig)])
def test_sizes_name_fields_of_the_model_configs(sizes, config):
    names = {f.name for f in fields(config)}
    assert {f.name for f in fields(sizes)} <= names
    assert all(v is None for v in asdict(sizes()).values())  # unset: the model's own default


def test_a_preset_is_one_typed_value():
    small = get_preset("small")
    assert hash(small) == hash(PRESETS["small"]) and small.model("mstcn") is small.mstcn
    # Vi-ST trains with the preset's schedule but for a stronger weight decay
    assert small.vist.train.weight_decay == 0.5
    assert replace(small.vist.train, weight_decay=small.train.weight_decay) == small.train
    assert small.vist.sizes.changes() == {"video_dim": 32, "video_layers": 4, "dropout": 0.1,
                                          "cmst_kernels": ((1, 7, 9), (1, 3, 5))}
    with pytest.raises(ValueError, match="model: expected one of"):
        small.model("lstm")
