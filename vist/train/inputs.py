"""Everything a run trains and is tested on: inputs, RF maps, targets, splits, labels."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from vist.data import Recording, describe, load, rf_to_grid, split
from vist.train.spec import RunSpec


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


def _recording(spec: RunSpec, movie: str) -> Recording:
    rec = load(spec.data, movie, seed=spec.seed, trials=spec.trials)
    return rec.cells(list(spec.cells)) if spec.cells is not None else rec


def make_prior(spec: RunSpec, device: str | torch.device) -> Any:
    """The feature extractor of ``spec`` (``None`` for the CRNN, which reads frames)."""
    from vist.prior import make_prior as _make

    if spec.prior == "frames":
        return None
    kw: dict[str, Any] = {}
    if spec.prior == "dinov2":
        kw = {"backbone": spec.backbone, "layer": spec.layer, "weights": spec.weights}
    return _make(spec.prior, preset=spec.preset, device=device, seed=0, **kw)


def prepare(spec: RunSpec, device: str | torch.device = "cpu") -> Prepared:
    """Load the recordings of ``spec``, compute (or load cached) inputs, and split them."""
    t0 = time.perf_counter()
    train_rec = _recording(spec, spec.train_movie)
    test_rec = None if not spec.cross_movie else _recording(spec, spec.test_movie)
    from vist.train.settings import TRAIN_PRESETS

    crnn_size = TRAIN_PRESETS[spec.preset].model.get("crnn", {}).get("img_size")
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
        from vist.model import CRNN, CRNNConfig

        cfg = CRNNConfig() if crnn_size is None else CRNNConfig(img_size=crnn_size)

        def inputs(rec: Recording) -> torch.Tensor:
            return CRNN.prepare(rec.frames, cfg)

        rf = torch.zeros(train_rec.n_cells, 1, 1)
        prior_label, trained = f"frames ({cfg.img_size}×{cfg.img_size} px, no prior)", False
    else:
        def inputs(rec: Recording) -> torch.Tensor:
            # a private in-memory copy of the (read-only, memory-mapped) cached features
            return torch.from_numpy(np.array(prior.features(rec.frames)))

        rf = torch.from_numpy(rf_to_grid(train_rec.rf_contours, train_rec.frame_shape, prior.grid))
        prior_label, trained = prior.label, bool(getattr(prior, "trained", False))
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
