"""Where the CRNN's Gaussian readout looks: points in frame pixels, RF centres, offsets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from vist.data.rf import rf_to_grid
from vist.experiments.crnn_points import (
    _derangement,
    findings,
    has_points,
    point_offsets,
    rf_centres,
    scores,
)
from vist.model import CRNN, CRNNConfig
from vist.train.runs import Run


def test_points_are_the_centres_of_what_the_conv_units_see():
    cfg = CRNNConfig(cells=2, img_size=30, history=2, conv1=2, kernel1=7, conv2=2, kernel2=5, readout="gaussian")
    m = CRNN(cfg)
    with torch.no_grad():
        m.position.copy_(torch.tensor([[-1.0, -1.0], [1.0, 0.0]]))
    # map unit 0 sees pixels 0…10 (centre 5.5); the last unit (19) sees 19…29 (centre 24.5)
    np.testing.assert_allclose(m.points(), [[5.5, 5.5], [24.5, 15.0]])
    with pytest.raises(ValueError, match="Gaussian readout"):
        CRNN(CRNNConfig(img_size=30, kernel1=7, kernel2=5)).points()


def test_rf_centres_of_square_contours():
    # squares in a 90-px frame, seen at 30 px: centres scale by 1/3
    squares = [np.array([[0, 30, 30, 0], [0, 0, 30, 30]], float), np.array([[45, 75, 75, 45], [60, 60, 90, 90]], float)]
    np.testing.assert_allclose(rf_centres(rf_to_grid(squares, (90, 90), 30)), [[5, 5], [20, 25]], atol=1e-6)
    with pytest.raises(ValueError, match="empty maps for cells \\[1\\]"):
        rf_centres(np.stack([np.ones((4, 4)), np.zeros((4, 4))]))


def test_offsets_of_points_on_and_off_their_cells():
    squares = [np.array([[0, 30, 30, 0], [0, 0, 30, 30]], float), np.array([[45, 75, 75, 45], [60, 60, 90, 90]], float),
               np.array([[60, 90, 90, 60], [0, 0, 30, 30]], float)]
    cov = rf_to_grid(squares, (90, 90), 30)
    points = np.array([[5.0, 5.0], [20.0, 25.0], [5.0, 25.0]])   # cells 0 and 1 on target, cell 2 not
    o = point_offsets(points, cov)
    np.testing.assert_allclose(o["distance"][:2], 0, atol=1e-6)
    assert o["inside"].tolist() == [True, True, False]
    assert (o["distance_chance"] > 5).all() and not o["inside_chance"].any()
    with pytest.raises(ValueError, match="expected \\[3, 2\\]"):
        point_offsets(points[:2], cov)


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 40), st.integers(0, 1000))
def test_the_chance_pairing_moves_every_cell(n, seed):
    perm = _derangement(n, seed)
    assert sorted(perm) == list(range(n)) and not np.any(perm == np.arange(n))


def test_findings_follow_the_numbers():
    rows = pd.DataFrame({"direction": ["mov1→mov1"] * 2, "seed": [0, 1], "size": [40, 40],
                         "median_distance": [1.0, 2.0], "inside": [0.8, 0.6],
                         "median_distance_chance": [12.0, 14.0], "inside_chance": [0.02, 0.04]})
    (s,) = findings(rows)
    assert "1.5 ± 0.7 px" in s and "(paired with another cell's RF: 13.0 px)" in s
    assert "70 ± 14 % fall inside" in s and "(another cell's: 3 %)" in s


def test_runs_of_the_dense_readout_have_no_points():
    dense = Run(Path("unused"), {"model_class": "CRNN", "model_config": {"cells": 3, "readout": "dense"}})
    older = Run(Path("unused"), {"model_class": "CRNN", "model_config": {"cells": 3}})
    vist = Run(Path("unused"), {"model_class": "ViST", "model_config": {}})
    assert not any(has_points(r) for r in (dense, older, vist))
    rows = scores({("mov1→mov1", 0): dense, ("mov1→mov2", 0): older})
    assert rows.empty and "median_distance" in rows.columns
    assert findings(rows) == []
