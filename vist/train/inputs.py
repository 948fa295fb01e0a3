"""Everything a run trains and is tested on: inputs, RF maps, targets, splits, labels.

Runs trained together (an experiment's list, :func:`shared_inputs`) share what does not depend on
the run: the prior network, each movie's model inputs (prior features or CRNN frames) and each
recording (one per data, movie, seed and trial count) are built or read once and reused by every
later run of the block, instead of being read again from the disk caches run after run (seconds
each on 2 CPU cores: a recording holds its movie's frames). RF maps and targets still come per
run: they depend on the run's cells.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from vist.cache import digest
from vist.data import Recording, describe, load, rf_to_grid, split
from vist.model import CRNN, CRNNConfig
from vist.presets import get_preset
from vist.prior import make_prior as make_prior_of_kind
from vist.train.spec import RunSpec

SHARED_INPUTS = 6
"""Movie inputs kept by :func:`shared_inputs` (least recently used dropped first): a small-preset
ViT movie is ≈ 140 MB of float16 features."""
SHARED_PRIORS = 2
"""Prior networks kept by :func:`shared_inputs` (a ViT-L is ≈ 1.2 GB)."""
SHARED_RECORDINGS = 4
"""Recordings kept by :func:`shared_inputs`: a virtual-retina recording is ≈ 240 MB, nearly all
of it its movie's frames."""


class _Shared:
    """The priors, movie inputs and recordings of one :func:`shared_inputs` block, least recently
    used first."""

    def __init__(self) -> None:
        self.priors: OrderedDict[tuple, Any] = OrderedDict()
        self.inputs: OrderedDict[str, torch.Tensor] = OrderedDict()
        self.recordings: OrderedDict[tuple, Recording] = OrderedDict()

    @staticmethod
    def _get(store: OrderedDict, key: Any, make: Callable[[], Any], size: int) -> Any:
        if key in store:
            store.move_to_end(key)
            return store[key]
        value = store[key] = make()
        while len(store) > size:
            store.popitem(last=False)
        return value


_SHARED: ContextVar[_Shared | None] = ContextVar("vist_shared_inputs", default=None)


@contextmanager
def shared_inputs() -> Iterator[None]:
    """Within this block, runs share prior networks and movie inputs (see the module notes).

    Nothing is shared outside it, so a later call sees files changed on disk in between. Nested
    blocks share the outermost block's store. Shared input tensors are read-only by convention:
    training and evaluation only slice them.
    """
    if _SHARED.get() is not None:
        yield
        return
    token = _SHARED.set(_Shared())
    try:
        yield
    finally:
        _SHARED.reset(token)


@dataclass
class Prepared:
    """The tensors of one run (all on the CPU; the trainer moves what it needs).

    Attributes:
        train_x, test_x: model inputs per frame of the training and test movies:
            features ``float16 [T, P, D]`` or CRNN frames ``float32 [T, S, S]``.
        train_y, test_y: target rates ``float32 [T, cells]`` (trial means, spikes per bin).
        test_spikes: ``[trials, T, cells]`` counts of the test movie (for noise ceilings).
        rf: ``float32 [cells, G, G]`` RF coverage on the patch grid (zeros for the CRNN).
        train_segments, test_segments: frame ranges ``(start, stop)`` used for training/testing.
        data_label, prior_label: what the data and the prior are, for every table and figure.
        prior_trained: whether the prior carries trained weights.
        feature_seconds: time spent computing (or loading) the inputs.
    """

    train_x: torch.Tensor
    test_x: torch.Tensor
    train_y: torch.Tensor
    test_y: torch.Tensor
    test_spikes: np.ndarray
    rf: torch.Tensor
    train_segments: tuple[tuple[int, int], ...]
    test_segments: tuple[tuple[int, int], ...]
    data_label: str
    prior_label: str
    prior_trained: bool
    feature_seconds: float
    cell_index: list[int]
    cell_types: list[str]

    @property
    def cells(self) -> int:
        return int(self.train_y.shape[1])


def recording(spec: RunSpec, movie: str) -> Recording:
    """The recording of ``spec`` for ``movie`` (its cells only); inside :func:`shared_inputs`,
    the whole recording is read once per data, movie, seed and trial count."""

    def read() -> Recording:
        return load(spec.data, movie, seed=spec.seed, trials=spec.trials)

    shared = _SHARED.get()
    rec = read() if shared is None else _Shared._get(
        shared.recordings, (str(spec.data), movie, spec.seed, spec.trials), read, SHARED_RECORDINGS)
    return rec.cells(list(spec.cells)) if spec.cells is not None else rec


def make_prior(spec: RunSpec, device: str | torch.device) -> Any:
    """The feature extractor of ``spec`` (``None`` for the CRNN, which reads frames); inside
    :func:`shared_inputs`, the one already built for an equal prior setting."""
    if spec.prior == "frames":
        return None
    kw: dict[str, Any] = {}
    if spec.prior == "dinov2":
        kw = {"backbone": spec.backbone, "layer": spec.layer, "weights": spec.weights}
    shared = _SHARED.get()
    if shared is None:
        return make_prior_of_kind(spec.prior, preset=spec.preset, device=device, seed=0, **kw)
    key = (spec.prior, spec.preset, str(device), tuple(sorted(kw.items())))
    return _Shared._get(shared.priors, key,
                        lambda: make_prior_of_kind(spec.prior, preset=spec.preset, device=device, seed=0, **kw),
                        SHARED_PRIORS)


def prepare(spec: RunSpec, device: str | torch.device = "cpu") -> Prepared:
    """Load the recordings of ``spec``, compute (or load cached) inputs, and split them."""
    t0 = time.perf_counter()
    train_rec = recording(spec, spec.train_movie)
    test_rec = None if not spec.cross_movie else recording(spec, spec.test_movie)
    crnn_size = get_preset(spec.preset).crnn.sizes.img_size
    data = prepare_from(train_rec, test_rec, make_prior(spec, device), spec.split, crnn_size)
    data.feature_seconds = time.perf_counter() - t0
    return data


def prepare_from(train_rec: Recording, test_rec: Recording | None, prior: Any, scheme: str = "halves",
                 crnn_size: int | None = None) -> Prepared:
    """:class:`Prepared` tensors from recordings and a prior (``None``: CRNN frames).

    ``test_rec=None`` splits ``train_rec`` with ``scheme``; otherwise all of ``train_rec`` trains
    and all of ``test_rec`` tests.
    """
    t0 = time.perf_counter()
    if prior is None:
        cfg = CRNNConfig() if crnn_size is None else CRNNConfig(img_size=crnn_size)

        def compute(rec: Recording) -> torch.Tensor:
            return CRNN.prepare(rec.frames, cfg)

        def key(rec: Recording) -> str:
            return json.dumps({"crnn_frames": cfg.img_size, "movie": digest(rec.frames)})

        rf = torch.zeros(train_rec.n_cells, 1, 1)
        prior_label, trained = f"frames ({cfg.img_size}×{cfg.img_size} px, no prior)", False
    else:
        def compute(rec: Recording) -> torch.Tensor:
            # a private in-memory copy of the (read-only, memory-mapped) cached features
            return torch.from_numpy(np.array(prior.features(rec.frames)))

        def key(rec: Recording) -> str:  # the prior's own cache key: movie digest and settings
            return json.dumps(prior.cache_key(rec.frames), sort_keys=True, default=str)

        rf = torch.from_numpy(rf_to_grid(train_rec.rf_contours, train_rec.frame_shape, prior.grid))
        prior_label, trained = prior.label, bool(getattr(prior, "trained", False))

    def inputs(rec: Recording) -> torch.Tensor:
        shared = _SHARED.get()
        if shared is None:
            return compute(rec)
        return _Shared._get(shared.inputs, key(rec), lambda: compute(rec), SHARED_INPUTS)

    train_x = inputs(train_rec)
    if test_rec is None:
        s = split(train_rec.n_frames, scheme)
        test_rec, test_x, tr, te = train_rec, train_x, s.train, s.test
        data_label = describe(train_rec)
    else:
        if test_rec.n_cells != train_rec.n_cells:
            raise ValueError(f"the test recording has {test_rec.n_cells} cells, the training one {train_rec.n_cells}")
        test_x = inputs(test_rec)
        tr, te = split(train_rec.n_frames, "all").train, split(test_rec.n_frames, "all").test
        data_label = f"{describe(train_rec)} → {describe(test_rec)}"
    return Prepared(
        train_x=train_x, test_x=test_x,
        train_y=torch.from_numpy(train_rec.rates), test_y=torch.from_numpy(test_rec.rates),
        test_spikes=test_rec.spikes, rf=rf, train_segments=tr, test_segments=te,
        data_label=data_label, prior_label=prior_label, prior_trained=trained,
        feature_seconds=time.perf_counter() - t0,
        cell_index=[int(i) for i in train_rec.meta.get("cell_index", range(train_rec.n_cells))],
        cell_types=list(train_rec.meta.get("cell_type", ["cell"] * train_rec.n_cells)))
