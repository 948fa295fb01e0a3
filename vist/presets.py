"""Presets: named settings for the whole pipeline (SPEC §7).

``"paper"`` is the authors' setting *(ref)*; ``"small"`` is sized so the whole book executes on 2
CPU cores within the CI budget; ``"auto"`` is ``"paper"`` on CUDA and ``"small"`` otherwise.

A :class:`Preset` is one typed bundle: the prior (:class:`PriorSettings`), the training settings
(:class:`TrainSettings`) and, for each model family (``vist``, ``crnn``, ``mstcn``), a
:class:`ModelSettings`: the training settings that family trains with and its model-size changes
(:class:`ViSTSizes`, :class:`CRNNSizes`, :class:`MSTCNSizes`). ``small`` keeps every step of the
protocol — the same loss, optimiser, schedule shape, SWA and random windows — with fewer, shorter,
smaller batches and narrower models, so that one run takes about a minute on 2 CPU cores. Numbers
produced with ``small`` are labelled so; they are not the paper's setting.

The size classes name fields of the model configurations (:class:`vist.model.ViSTConfig`, …),
which this low-level module does not import: ``None`` keeps the model's own default.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Generic, TypeVar

import torch

from vist.env import resolve_device

MODELS = ("vist", "crnn", "mstcn")
"""The model families a preset sizes and schedules."""


@dataclass(frozen=True)
class PriorSettings:
    """Which feature extractor a preset uses.

    Attributes:
        backbone: timm DINOv2 name.
        img_size: ViT input resolution in pixels (224 → a 16×16 patch grid).
        layer: block in L−n notation (−1 = last).
        i3d_img_size: input resolution of the untrained I3D baseline extractor, in pixels.
    """

    backbone: str = "vit_large_patch14_dinov2"
    img_size: int = 224
    layer: int = -1
    i3d_img_size: int = 224


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

    @property
    def steps(self) -> int:
        """Optimiser steps in the whole run."""
        return self.epochs * self.batches_per_epoch

    def with_epochs(self, epochs: int | None) -> TrainSettings:
        """These settings for ``epochs`` epochs (a run's override; ``None``: unchanged); SWA then
        starts no later than the last epoch."""
        if epochs is None:
            return self
        swa = self.swa_start
        return replace(self, epochs=int(epochs), swa_start=None if swa is None else min(swa, int(epochs) - 1))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Sizes:
    """Changes to a model's configuration; a field left ``None`` keeps the model's default."""

    def changes(self) -> dict[str, Any]:
        """The fields set (not ``None``), by name: keyword arguments of the model's config."""
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class ViSTSizes(_Sizes):
    """Sizes of Vi-ST (fields of :class:`vist.model.ViSTConfig`; ``None``: its default).

    Attributes:
        video_dim: channels of the video feature extractor (paper: 256).
        video_layers: residual layers of the extractor (paper: 6, dilations 1…32 frames).
        dropout: dropout probability of extractor and CMST branches (paper: 0.25).
        cmst_kernels: temporal kernels (frames) of each CMST level; each level shrinks the patch
            grid by 2 (paper: four levels, ``(1, 25), (1, 13, 21), (1, 7, 9), (1, 3, 5)``).
    """

    video_dim: int | None = None
    video_layers: int | None = None
    dropout: float | None = None
    cmst_kernels: tuple[tuple[int, ...], ...] | None = None


@dataclass(frozen=True)
class CRNNSizes(_Sizes):
    """Sizes of the CRNN (fields of :class:`vist.model.CRNNConfig`; ``None``: its default).

    Attributes:
        img_size: side of the downsampled input frame, in pixels (default 50).
        history: frames of history each prediction sees (default 20).
        conv1, conv2: feature maps of the two convolutions (default 128, 64).
        kernel1, kernel2: their kernel sides, in pixels of the downsampled frame (default 25, 11).
        hidden: units of the recurrent layer of the dense readout (default 64).
        readout: ``"dense"`` (default; Zheng et al.'s) or ``"gaussian"`` (one learned point of
            the conv map per cell; :mod:`vist.model.crnn`).
        jitter: training jitter of the Gaussian readout's points (default 0.2 half-map sides).
        activation: after each convolution, ``"relu"`` (default) or ``"elu"``.
    """

    img_size: int | None = None
    history: int | None = None
    conv1: int | None = None
    kernel1: int | None = None
    conv2: int | None = None
    kernel2: int | None = None
    hidden: int | None = None
    readout: str | None = None
    jitter: float | None = None
    activation: str | None = None


@dataclass(frozen=True)
class MSTCNSizes(_Sizes):
    """Sizes of the MS-TCN (fields of :class:`vist.model.MSTCNConfig`; ``None``: its default).

    Attributes:
        patch_dim: dimensions each patch is projected to before concatenation (default 4).
        stages: number of stages (default 4).
        layers: dilated residual layers per stage (default 10).
        channels: feature maps per layer (default 64).
        dropout: dropout probability in each layer (default 0.5).
    """

    patch_dim: int | None = None
    stages: int | None = None
    layers: int | None = None
    channels: int | None = None
    dropout: float | None = None


S = TypeVar("S", ViSTSizes, CRNNSizes, MSTCNSizes)


@dataclass(frozen=True)
class ModelSettings(Generic[S]):
    """What one model family trains with in a preset.

    Attributes:
        train: the training settings of its runs (the preset's, or its own schedule, e.g. more
            epochs for a baseline whose steps are cheap).
        sizes: changes to the model's configuration (applied before a run's ``model_options``).
    """

    train: TrainSettings
    sizes: S


@dataclass(frozen=True)
class Preset:
    """A named bundle of settings, one typed field per part of the pipeline.

    Attributes:
        name: ``"paper"`` or ``"small"``.
        prior: the feature extractor.
        train: the training settings (those of a family without a schedule of its own).
        vist, crnn, mstcn: each model family's training settings and sizes.
    """

    name: str
    prior: PriorSettings
    train: TrainSettings
    vist: ModelSettings[ViSTSizes]
    crnn: ModelSettings[CRNNSizes]
    mstcn: ModelSettings[MSTCNSizes]

    def model(self, model: str) -> ModelSettings:
        """The settings of family ``model`` (``"vist"``, ``"crnn"`` or ``"mstcn"``)."""
        if model not in MODELS:
            raise ValueError(f"model: expected one of {list(MODELS)}, found {model!r}")
        return getattr(self, model)

    def settings_for(self, model: str, epochs: int | None = None) -> TrainSettings:
        """The settings a run of ``model`` trains with: its family's, and ``epochs`` (a run's
        override) last — SWA then starts no later than the last epoch."""
        return self.model(model).train.with_epochs(epochs)


_PAPER_TRAIN = TrainSettings()
_SMALL_TRAIN = TrainSettings(batch=2, window=48, batches_per_epoch=20, epochs=14, warmup_epochs=1,
                             swa_start=10, eval_frames=400)

PRESETS: dict[str, Preset] = {
    # the paper: DINOv2 ViT-L/14 at 224 px, last block; every model at its published size (ref)
    "paper": Preset("paper", PriorSettings("vit_large_patch14_dinov2", 224, -1, 224), _PAPER_TRAIN,
                    vist=ModelSettings(_PAPER_TRAIN, ViSTSizes()),
                    crnn=ModelSettings(_PAPER_TRAIN, CRNNSizes()),
                    mstcn=ModelSettings(_PAPER_TRAIN, MSTCNSizes())),
    # 2 CPU cores: ViT-S/14 at 140 px, a 10×10 patch grid read at block L−4 (9 of 12 blocks):
    # about 2.5× fewer patches for the prior and for every layer of the models than at 224 px
    # (16×16), so that each model can train to its plateau
    "small": Preset(
        "small", PriorSettings("vit_small_patch14_dinov2", 140, -4, 112), _SMALL_TRAIN,
        # a 32-wide extractor of four layers: its causal reach (1 + 2·(1+2+4+8) = 31 frames) fits
        # the 48-frame training windows; the paper's six layers reach 127 frames, and their deepest
        # taps would meet real frames only at test time, never in training. Regularised against
        # the 900 training frames, which the model otherwise fits far better than the test half
        # (training CC 0.85, test 0.49): dropout 0.1 instead of 0.25 (in a run this short 0.25
        # slows learning more than it regularises) and a weight decay of 0.5 instead of 0.1 —
        # together +0.02 CC within the movie, beyond the seed spread
        # (benchmarks/small_preset_schedule.md). Two CMST levels, the paper's last two (its shortest kernels): each level shrinks the grid
        # by 2, and the paper's four would leave 2×2 positions of the 10×10 grid for the readout —
        # every output would then see nearly the whole frame, and the model could not learn where
        # each cell looks (a 6×6 readout grid, like the paper's 8×8 of 16×16, can:
        # benchmarks/small_preset_schedule.md); with them the model reaches 43 frames back
        vist=ModelSettings(replace(_SMALL_TRAIN, weight_decay=0.5),
                           ViSTSizes(video_dim=32, video_layers=4, dropout=0.1,
                                     cmst_kernels=((1, 7, 9), (1, 3, 5)))),
        # the CRNN: from 900 frames, Zheng et al.'s dense readout does not find where each of 90
        # cells looks (CC ≈ 0.2 on its own training frames and on the test half, whatever its
        # sizes or schedule); a Gaussian readout — one learned point of the conv map per cell —
        # does (≈ 0.5). Small kernels (7 and 5 px: a 30×30 map fine enough for a point readout),
        # 8 maps per conv, ELUs (at this learning rate a ReLU layer fell silent in one seed and
        # never recovered), 4 windows per step (finding the points needs more frames per step
        # than fitting the weights) and 1,280 steps at a peak lr of 1e-2
        # (benchmarks/small_preset_schedule.md, "A readout that finds the cells")
        crnn=ModelSettings(replace(_SMALL_TRAIN, batch=4, epochs=64, batches_per_epoch=20, warmup_epochs=4,
                                   swa_start=52, lr=1e-2),
                           CRNNSizes(img_size=40, conv1=8, kernel1=7, conv2=8, kernel2=5, history=10,
                                     readout="gaussian", activation="elu")),
        # the MS-TCN's steps are cheap; 480 of them bring it to a plateau (at 320 its final CC
        # was still 0.04-0.05 below: benchmarks/small_preset_schedule.md). Its per-epoch log
        # scores the whole test split (a few seconds a run): on the first 400 frames alone its
        # dropout of 0.5 made the log wander by ±0.02 from epoch to epoch
        mstcn=ModelSettings(replace(_SMALL_TRAIN, epochs=24, swa_start=18, eval_frames=None), MSTCNSizes())),
}
"""The presets by name (``"auto"`` is resolved by :func:`get_preset`)."""


def get_preset(preset: str | Preset = "auto", device: str | torch.device | None = "auto") -> Preset:
    """The preset named ``preset`` (``"auto"`` → ``"paper"`` when ``device`` resolves to CUDA, else ``"small"``).

    Raises:
        ValueError: unknown name.
    """
    if isinstance(preset, Preset):
        return preset
    if preset == "auto":
        preset = "paper" if resolve_device(device).type == "cuda" else "small"
    if preset not in PRESETS:
        raise ValueError(f"preset: expected 'auto' or one of {list(PRESETS)}, found {preset!r}")
    return PRESETS[preset]


def differences(preset: str, reference: str = "paper") -> list[dict[str, str]]:
    """What ``preset`` changes against ``reference``: one row per differing prior setting, training
    setting, model size or per-model schedule (``setting``, ``reference`` value, ``preset`` value),
    for the table a chapter shows beside the presets. A size a preset leaves at the model's
    default reads ``"default"``. A family's schedule is listed also where both presets give it the
    same value but only one of them sets it apart from its general settings."""
    a, b = get_preset(reference), get_preset(preset)
    rows: list[dict[str, str]] = []

    def row(setting: str, va: Any, vb: Any, always: bool = False) -> None:
        if always or va != vb:
            rows.append({"setting": setting, reference: str(va), preset: str(vb)})

    for f in fields(PriorSettings):
        row(f"prior: {f.name}", getattr(a.prior, f.name), getattr(b.prior, f.name))
    for f in fields(TrainSettings):
        row(f.name, getattr(a.train, f.name), getattr(b.train, f.name))
    for model in sorted(MODELS):
        sa, sb = a.model(model).sizes, b.model(model).sizes
        for name in sorted(f.name for f in fields(sa)):
            va, vb = getattr(sa, name), getattr(sb, name)
            row(f"{model}: {name}", "default" if va is None else va, "default" if vb is None else vb)
    for model in sorted(MODELS):
        ta, tb = a.model(model).train, b.model(model).train
        own = [f.name for f in fields(TrainSettings)  # what either preset schedules for this model
               if getattr(ta, f.name) != getattr(a.train, f.name)
               or getattr(tb, f.name) != getattr(b.train, f.name)]
        for name in sorted(own):
            # shown also where the values agree but only one preset sets it apart for this family
            apart = (getattr(ta, name) != getattr(a.train, name)) != (getattr(tb, name) != getattr(b.train, name))
            row(f"{model} schedule: {name}", getattr(ta, name), getattr(tb, name), always=apart)
    return rows
