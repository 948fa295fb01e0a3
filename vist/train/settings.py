"""Training settings of each preset (SPEC §7).

``paper`` is the authors' setting *(ref)*. ``small`` keeps every step of the protocol — the same
loss, optimiser, schedule shape, SWA and random windows — but with fewer, shorter, smaller
batches and a narrower model, so that one run takes about a minute on 2 CPU cores and the whole
book builds in CI. Numbers produced with ``small`` are labelled so; they are not the paper's
setting.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from vist.presets import PRESETS


@dataclass(frozen=True)
class TrainSettings:
    """Optimisation settings.

    Attributes:
        batch: windows per batch.
        window: frames per window.
        batches_per_epoch: optimiser steps per epoch.
        epochs: epochs.
        lr: peak learning rate (AdamW).
        weight_decay: AdamW weight decay.
        warmup_epochs: linear warm-up from ``lr_start`` to ``lr`` over this many epochs.
        lr_start: learning rate at step 0.
        lr_end: learning rate at the last step (cosine decay from ``lr``).
        swa_start: first epoch (0-based) whose end-of-epoch weights enter the stochastic weight
            average; ``None`` switches SWA off.
        bf16: bf16 autocast on CUDA (ignored on CPU, where training runs in float32).
        eval_frames: the per-epoch log scores the first this many frames of the test split
            (``None``: all of it). Only the log: the run's final metrics always use the whole
            test split.
        model: changes to the model's configuration for this preset (e.g. a narrower extractor),
            by model name.
        schedule: changes to these settings for one model (by model name), e.g. more epochs for
            a baseline whose steps are cheap; see :func:`settings_for`.
    """

    batch: int = 16
    window: int = 128
    batches_per_epoch: int = 48
    epochs: int = 30
    lr: float = 8e-4
    weight_decay: float = 0.1
    warmup_epochs: int = 5
    lr_start: float = 5e-5
    lr_end: float = 1e-4
    swa_start: int | None = 20
    bf16: bool = True
    eval_frames: int | None = None
    model: dict[str, Any] = field(default_factory=dict)
    schedule: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def steps(self) -> int:
        """Optimiser steps in the whole run."""
        return self.epochs * self.batches_per_epoch

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


TRAIN_PRESETS: dict[str, TrainSettings] = {
    "paper": TrainSettings(),
    "small": TrainSettings(batch=2, window=48, batches_per_epoch=20, epochs=10, warmup_epochs=1,
                           swa_start=7, eval_frames=400,
                           # a 32-wide extractor of four layers: its causal reach (1 + 2·(1+2+4+8)
                           # = 31 frames) fits the 48-frame training windows; the paper's six layers
                           # reach 127 frames, and their deepest taps would meet real frames only at
                           # test time, never in training. No dropout: in a run of 200 steps it slows
                           # learning more than it regularises (measured in benchmarks/README.md)
                           model={"vist": {"video_dim": 32, "video_layers": 4, "dropout": 0.0},
                                  "crnn": {"img_size": 40, "conv1": 16, "conv2": 16, "history": 10}},
                           # the CRNN: 240 steps at a higher peak learning rate (at 8e-4 it had
                           # barely left its initialisation after 240 steps) — in its favour
                           schedule={"crnn": {"epochs": 24, "batches_per_epoch": 10, "warmup_epochs": 4,
                                              "swa_start": 16, "lr": 3e-3},
                                     # the MS-TCN's steps are cheap; 320 of them bring it to a plateau
                                     "mstcn": {"epochs": 16, "swa_start": 12}}),
}
"""Training settings by preset name (``"auto"`` is resolved by :func:`vist.presets.get_preset`)."""


def settings_for(preset: str, model: str, epochs: int | None = None) -> TrainSettings:
    """The settings a run of ``model`` trains with: the preset's, with that model's ``schedule``
    changes, and ``epochs`` (a run's override) last — SWA then starts no later than the last epoch.
    """
    base = TRAIN_PRESETS[preset]
    settings = replace(base, schedule={}, **base.schedule.get(model, {}))
    if epochs is not None:
        swa = settings.swa_start
        settings = replace(settings, epochs=int(epochs), swa_start=None if swa is None else min(swa, int(epochs) - 1))
    return settings


def differences(preset: str, reference: str = "paper") -> list[dict[str, str]]:
    """What ``preset`` changes against ``reference``: one row per differing training setting, model
    option or per-model schedule (``setting``, ``reference`` value, ``preset`` value), for the
    table a chapter shows beside the presets. The prior's changes are in
    :data:`vist.presets.PRESETS`."""
    a, b = TRAIN_PRESETS[reference], TRAIN_PRESETS[preset]
    rows: list[dict[str, str]] = []
    pa, pb = PRESETS[reference].prior, PRESETS[preset].prior
    for name in ("backbone", "img_size", "layer", "i3d_img_size"):
        if getattr(pa, name) != getattr(pb, name):
            rows.append({"setting": f"prior: {name}", reference: str(getattr(pa, name)),
                         preset: str(getattr(pb, name))})
    for name in ("batch", "window", "batches_per_epoch", "epochs", "lr", "warmup_epochs", "lr_start",
                 "lr_end", "swa_start", "eval_frames"):
        if getattr(a, name) != getattr(b, name):
            rows.append({"setting": name, reference: str(getattr(a, name)), preset: str(getattr(b, name))})
    for model in sorted(set(a.model) | set(b.model)):
        for k in sorted(set(a.model.get(model, {})) | set(b.model.get(model, {}))):
            va, vb = a.model.get(model, {}).get(k, "default"), b.model.get(model, {}).get(k, "default")
            if va != vb:
                rows.append({"setting": f"{model}: {k}", reference: str(va), preset: str(vb)})
    for model in sorted(set(a.schedule) | set(b.schedule)):
        for k in sorted(set(a.schedule.get(model, {})) | set(b.schedule.get(model, {}))):
            va = a.schedule.get(model, {}).get(k, getattr(a, k))
            vb = b.schedule.get(model, {}).get(k, getattr(b, k))
            if va != vb:
                rows.append({"setting": f"{model} schedule: {k}", reference: str(va), preset: str(vb)})
    return rows
