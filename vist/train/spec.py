"""What a training run is: :class:`RunSpec`, everything that determines its result."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any, NoReturn

from vist.cache import key_digest
from vist.data import MOVIES
from vist.losses import ABLATIONS as LOSSES
from vist.presets import MODELS, PRESETS
from vist.prior import BACKBONES

PRIORS = ("dinov2", "pixels", "i3d", "frames")
DEFAULT_PRIOR = {"vist": "dinov2", "crnn": "frames", "mstcn": "dinov2"}


class ModelOptions(dict):
    """Changes to a model's configuration by option name (e.g. ``{"multiscale": "single"}``): a
    dict that cannot be changed and can be hashed, so that a :class:`RunSpec` holding one can be.
    It is a dict for everything that reads it — ``dataclasses.asdict`` and JSON write it as one."""

    def __hash__(self) -> int:
        return hash(json.dumps(self, sort_keys=True, default=str))

    def _read_only(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("ModelOptions cannot be changed: make a new spec with "
                        "RunSpec.replace(model_options=...)")

    __setitem__ = __delitem__ = __ior__ = clear = pop = popitem = setdefault = update = _read_only

    def __reduce__(self) -> tuple[type, tuple[dict[str, Any]]]:
        return type(self), (dict(self),)  # copy and pickle rebuild it whole, not item by item


@dataclass(frozen=True)
class RunSpec:
    """One training run. Two runs with equal specs (and code) give the same result on a CPU.

    Attributes:
        model: ``"vist"``, ``"crnn"`` or ``"mstcn"``.
        prior: what the model sees: ``"dinov2"`` (ViT features), ``"pixels"`` (patch luminance),
            ``"i3d"`` (untrained I3D features) or ``"frames"`` (CRNN's downsampled frames).
        model_options: changes to the model's configuration (e.g. ablation switches), applied
            after the preset's sizes; held as :class:`ModelOptions` (read-only, hashable).
        loss: a key of :data:`vist.losses.ABLATIONS` (``"full"`` is the paper's loss).
        data: ``"synthetic"``, a Dryad folder or a saved recording.
        train_movie, test_movie: equal → contiguous halves of one movie (first half to train);
            different → all of one movie to train, all of the other to test.
        split: ``"halves"`` or ``"blocks"`` for within-movie runs.
        seed: model initialisation, window sampling, dropout — and the virtual retina.
        trials: trials of the virtual retina.
        preset: ``"paper"`` or ``"small"`` (resolved; never ``"auto"``).
        backbone, layer, weights: the ViT prior (``backbone=None``, ``layer=None``: the preset's).
        cells: train and evaluate on these cells only (``None``: all).
        epochs: override the preset's number of epochs.
    """

    model: str = "vist"
    prior: str | None = None
    model_options: ModelOptions = field(default_factory=ModelOptions)
    loss: str = "full"
    data: str = "synthetic"
    train_movie: str = "mov1"
    test_movie: str = "mov1"
    split: str = "halves"
    seed: int = 0
    trials: int = 20
    preset: str = "small"
    backbone: str | None = None
    layer: int | None = None
    weights: str | None = None
    cells: tuple[int, ...] | None = None
    epochs: int | None = None

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ValueError(f"model: expected one of {list(MODELS)}, found {self.model!r}")
        if self.prior is None:
            object.__setattr__(self, "prior", DEFAULT_PRIOR[self.model])
        if self.prior not in PRIORS:
            raise ValueError(f"prior: expected one of {list(PRIORS)}, found {self.prior!r}")
        if (self.model == "crnn") != (self.prior == "frames"):
            raise ValueError(f"prior: the CRNN reads frames (prior='frames') and only it does; found "
                             f"model={self.model!r} with prior={self.prior!r}")
        for name in ("train_movie", "test_movie"):
            if getattr(self, name) not in MOVIES:
                raise ValueError(f"{name}: expected one of {list(MOVIES)}, found {getattr(self, name)!r}")
        if self.loss not in LOSSES:
            raise ValueError(f"loss: expected one of {list(LOSSES)}, found {self.loss!r}")
        if self.preset not in PRESETS:
            raise ValueError(f"preset: expected one of {list(PRESETS)} (resolve 'auto' first), found {self.preset!r}")
        if self.backbone is not None:
            if self.backbone not in BACKBONES:
                raise ValueError(f"backbone: expected None (the preset's) or one of {list(BACKBONES)}, "
                                 f"found {self.backbone!r}")
        if self.split not in ("halves", "blocks"):
            raise ValueError(f"split: expected 'halves' or 'blocks', found {self.split!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed: expected a non-negative integer, found {self.seed!r}")
        if self.cells is not None:
            object.__setattr__(self, "cells", tuple(int(c) for c in self.cells))
        object.__setattr__(self, "model_options", ModelOptions(self.model_options))

    @property
    def cross_movie(self) -> bool:
        return self.train_movie != self.test_movie

    def to_dict(self) -> dict[str, Any]:
        """JSON form (tuples as lists)."""
        return json.loads(json.dumps(asdict(self)))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunSpec:
        d = dict(d)
        if d.get("cells") is not None:
            d["cells"] = tuple(d["cells"])
        return cls(**d)

    def replace(self, **changes: Any) -> RunSpec:
        return replace(self, **changes)

    def run_id(self) -> str:
        """Folder name of the run: readable prefix + a digest of the whole spec."""
        return f"{self.model}-{self.train_movie}-{self.test_movie}-{self.preset}-{key_digest(self.to_dict())[:12]}"
