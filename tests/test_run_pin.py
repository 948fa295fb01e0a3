"""Same numbers before and after a refactor: a tiny real run on CPU, its summary pinned exactly.

The constants were computed once on this machine's code (floats written with ``repr``); a change
that moves any score by one ulp fails here. CRNN, small preset, 1 epoch, 12 simulated cells.
"""

from __future__ import annotations

import math

import pytest

from vist.data.synthetic import simulate
from vist.train import RunSpec, train_run

PINNED_SUMMARY = {
    "cc": -0.01158987936459025,
    "cc_abs": 0.013894543889038028,
    "cc_positive": 0.006913993573343328,
    "cells_undefined": 6,
    "sd_kl": 834.6453578064999,
    "cc_ceiling": 0.7124617938174914,
    "cc_normalised": -0.03687258124528108,
    "cells_without_ceiling": 9,
    "feve": 0.0,
}
PINNED_HISTORY = [{"epoch": 0, "loss": 0.08077129051089287, "lr": 0.0007137500000000001, "swa_n": 1,
                   "cc": -0.01158987936459025, "sd_kl": 834.6453578064999}]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("pin")
    path = root / "rec.npz"
    simulate("mov1", seed=0, trials=4, n_frames=120).cells(range(12)).save(path)
    spec = RunSpec(model="crnn", data=str(path), preset="small", epochs=1, seed=5)
    return train_run(spec, device="cpu", progress=False, root=root / "runs")


def test_the_summary_of_a_tiny_run_is_unchanged(run):
    summary = run.record["metrics"]["summary"]
    assert list(summary) == list(PINNED_SUMMARY)
    for key, value in PINNED_SUMMARY.items():
        assert summary[key] == value, key


def test_the_per_epoch_log_of_a_tiny_run_is_unchanged(run):
    assert len(run.history) == len(PINNED_HISTORY)
    for got, want in zip(run.history, PINNED_HISTORY, strict=True):
        assert got.keys() == want.keys()
        for key, value in want.items():
            assert got[key] == value or (math.isnan(got[key]) and math.isnan(value)), key
