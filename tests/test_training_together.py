"""Runs trained together share prior networks and movie inputs (vist.train.inputs.shared_inputs)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from vist.data.synthetic import simulate
from vist.experiments.common import train_all
from vist.prior import PixelPrior
from vist.train import RunSpec
from vist.train import inputs as inputs_module
from vist.train.inputs import make_prior, prepare_from, shared_inputs


class CountingPrior(PixelPrior):
    """Patch luminance that counts how often it computes a movie's features."""

    def __init__(self) -> None:
        super().__init__(img_size=56, cache=False)
        self.computed = 0

    def features(self, frames: np.ndarray) -> np.ndarray:
        self.computed += 1
        return super().features(frames)


@pytest.fixture(scope="module")
def recs():
    """Two retinas (other spikes) watching one movie, and one watching another movie."""
    rec = simulate("mov1", seed=0, trials=2, n_frames=30).cells(range(4))
    other_cells = replace(rec, spikes=np.roll(rec.spikes, 3, axis=1))
    other_movie = replace(rec, frames=np.ascontiguousarray(rec.frames[:, ::-1]))
    return rec, other_cells, other_movie


def test_runs_in_a_block_compute_each_movie_once_and_see_the_same_inputs(recs):
    recs, prior = recs[:2], CountingPrior()
    alone = [prepare_from(r, None, prior) for r in recs]
    assert prior.computed == 2  # outside a block: every run computes its inputs
    prior.computed = 0
    with shared_inputs():
        together = [prepare_from(r, None, prior) for r in recs]
    assert prior.computed == 1  # the seeds' retinas differ, the movie does not
    for a, b in zip(alone, together, strict=True):
        torch.testing.assert_close(a.train_x, b.train_x, rtol=0, atol=0)
        torch.testing.assert_close(a.train_y, b.train_y, rtol=0, atol=0)  # targets stay per run
    assert not torch.equal(together[0].train_y, together[1].train_y)
    prior.computed = 0
    prepare_from(recs[0], None, prior)
    assert prior.computed == 1  # nothing is kept once the block has ended


def test_other_movies_or_settings_are_not_mixed_up(recs):
    rec, _, other = recs
    with shared_inputs():
        a = prepare_from(rec, None, PixelPrior(img_size=56, cache=False))
        b = prepare_from(other, None, PixelPrior(img_size=56, cache=False))
        c = prepare_from(rec, None, PixelPrior(img_size=28, cache=False))
        d = prepare_from(rec, None, None, crnn_size=20)
        e = prepare_from(rec, None, None, crnn_size=24)
    assert not torch.equal(a.train_x, b.train_x)
    assert c.train_x.shape[1:] == (4, 196) and a.train_x.shape[1:] == (16, 196)
    assert d.train_x.shape[1:] == (20, 20) and e.train_x.shape[1:] == (24, 24)


def test_a_block_keeps_a_bounded_number_of_movies(recs, monkeypatch):
    monkeypatch.setattr(inputs_module, "SHARED_INPUTS", 2)
    rec, prior = recs[0], CountingPrior()
    movies = [recs[0], recs[2]]
    with shared_inputs():
        prepare_from(movies[0], None, prior)
        prepare_from(movies[1], None, prior)
        prepare_from(movies[0], None, prior)  # kept: still computed twice
        assert prior.computed == 2
        prepare_from(rec, None, None, crnn_size=20)  # a third input: the least recent (movie 2) goes
        prepare_from(movies[0], None, prior)
        assert prior.computed == 2
        prepare_from(movies[1], None, prior)
    assert prior.computed == 3


def test_a_block_builds_each_prior_once_and_train_all_opens_one():
    spec = RunSpec(model="vist", prior="pixels", seed=0)
    with shared_inputs():
        assert make_prior(spec, "cpu") is make_prior(RunSpec(model="vist", prior="pixels", seed=1), "cpu")
        assert make_prior(spec, "cpu") is not make_prior(RunSpec(model="mstcn", prior="i3d"), "cpu")
    assert make_prior(spec, "cpu") is not make_prior(spec, "cpu")

    seen = []

    def fake_train(spec, device, rerun, progress):
        seen.append(inputs_module._SHARED.get())
        return spec

    train_all({0: spec, 1: spec}, fake_train)
    assert seen[0] is not None and seen[0] is seen[1]
    assert inputs_module._SHARED.get() is None



def test_a_block_reads_each_recording_once_per_seed(tmp_path, monkeypatch):
    path = tmp_path / "rec.npz"
    simulate("mov1", seed=0, trials=2, n_frames=60).cells(range(5)).save(path)
    reads = []
    real_load = inputs_module.load

    def counting_load(data, movie, **kw):
        reads.append((movie, kw["seed"]))
        return real_load(data, movie, **kw)

    monkeypatch.setattr(inputs_module, "load", counting_load)
    base = RunSpec(model="crnn", data=str(path), preset="small")
    specs = [base, base.replace(cells=(0, 2)), base.replace(model="vist", prior="pixels"), base.replace(seed=1)]
    with shared_inputs():
        together = [inputs_module.prepare(s) for s in specs]
    assert sorted(reads) == [("mov1", 0), ("mov1", 1)]  # per seed, not per run
    assert together[1].cells == 2 and together[0].cells == 5  # each run still gets its own cells
    torch.testing.assert_close(together[1].train_y, together[0].train_y[:, [0, 2]], rtol=0, atol=0)
    reads.clear()
    inputs_module.prepare(base)
    inputs_module.prepare(base)
    assert len(reads) == 2  # nothing is kept outside a block
