"""The LN references of chapter 7: lagged stacks, ridge solutions, and that being told where a
cell looks is what the located model gains."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vist.data import Recording
from vist.experiments import located_ln as ln
from vist.train.inputs import prepare_from
from vist.train.spec import RunSpec


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 5), st.lists(st.integers(1, 7), min_size=1, max_size=3))
def test_lagged_holds_each_frames_history_and_zeros_before_its_segment(history, lengths):
    starts = np.cumsum([0] + lengths)
    segments = [(int(a), int(b)) for a, b in zip(starts[:-1], starts[1:], strict=True)]
    frames = np.arange(1, starts[-1] * 2 + 1, dtype=np.float32).reshape(-1, 2)
    out = ln.lagged(frames, segments, history)
    assert out.shape == (starts[-1], history, 2)
    row = 0
    for a, b in segments:
        for t in range(a, b):
            for k in range(history):
                src = t - (history - 1 - k)
                expected = frames[src] if src >= a else np.zeros(2)
                np.testing.assert_array_equal(out[row, k], expected)
            row += 1


def test_lagged_rejects_no_history():
    with pytest.raises(ValueError, match="history: expected at least 1"):
        ln.lagged(np.zeros((4, 2), np.float32), [(0, 4)], 0)


@pytest.mark.parametrize("n_features", [6, 40])  # primal (F ≤ N) and dual (F > N) form
def test_ridge_predictions_match_the_closed_form(n_features):
    rng = np.random.default_rng(0)
    x, y, e = rng.normal(size=(20, n_features)), rng.normal(size=(20, 3)), rng.normal(size=(5, n_features))
    ridges = (0.1, 1.0)
    got = ln.ridge_predictions(x, y, e, ridges)
    mu, sd = x.mean(0), x.std(0)
    a, b = (x - mu) / sd, (e - mu) / sd
    scale = np.trace(a.T @ a) / min(a.shape)  # the mean eigenvalue of the (smaller) Gram matrix
    for i, r in enumerate(ridges):
        w = np.linalg.solve(a.T @ a + r * scale * np.eye(n_features), a.T @ (y - y.mean(0)))
        np.testing.assert_allclose(got[i], b @ w + y.mean(0), atol=1e-8)


def test_fit_ln_recovers_a_linear_cell_and_rectifies():
    rng = np.random.default_rng(1)
    w = rng.normal(size=8)
    x = rng.normal(size=(600, 8))
    y = (x @ w + 10)[:, None] + rng.normal(0, 0.3, (600, 1))
    pred = ln.fit_ln(x[:400], y[:400], x[400:])
    assert np.corrcoef(pred[:, 0], y[400:, 0])[0, 1] > 0.98
    low = ln.fit_ln(x[:400], y[:400] - 10, x[400:])  # half of its prediction below zero
    assert low.min() == 0 and (low == 0).mean() > 0.3


def test_fit_ln_needs_rows_to_hold_out():
    with pytest.raises(ValueError, match="enough training rows"):
        ln.fit_ln(np.zeros((3, 2)), np.zeros((3, 1)), np.zeros((2, 2)))


def _located_recording(n_frames=1200, size=24, cells=4, seed=0):
    """Cells that each respond, one frame late, to the brightening of a 4×4-px block of their own
    (contour: that block's square), on frames of independent noise."""
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 256, (n_frames, size, size), dtype=np.uint8)
    corners = [(2 + 5 * c, 3 + 4 * c) for c in range(cells)]
    contrast = frames.astype(np.float64) / 255 - 0.5
    rates = np.zeros((n_frames, cells))
    for c, (x0, y0) in enumerate(corners):
        drive = contrast[:, y0:y0 + 4, x0:x0 + 4].mean((1, 2))
        rates[1:, c] = 8 * np.maximum(drive[:-1], 0)
    spikes = rng.poisson(np.broadcast_to(rates, (30, n_frames, cells)))
    contours = [np.array([[x0, x0 + 4, x0 + 4, x0], [y0, y0, y0 + 4, y0 + 4]], float) for x0, y0 in corners]
    return Recording(frames=frames, spikes=spikes, rf_contours=contours, name="located-test", source="file")


def test_being_told_the_rf_is_what_the_located_model_gains():
    rec = _located_recording()
    data = prepare_from(rec, None, None, "halves", crnn_size=24)
    ref = ln.references(data, rec.rf_contours, rec.frame_shape, history=3)
    assert list(ref.pixels) == [16] * 4
    assert ref.located.mean > 0.85
    assert ref.located.mean > ref.whole_frame.mean + 0.1
    # told the wrong cell's pixels, the located model loses what it was told
    shifted = rec.rf_contours[1:] + rec.rf_contours[:1]
    wrong = ln.references(data, shifted, rec.frame_shape, history=3)
    assert wrong.located.mean < 0.3


def test_references_check_their_inputs():
    rec = _located_recording(n_frames=200)
    data = prepare_from(rec, None, None, "halves", crnn_size=24)
    with pytest.raises(ValueError, match="contours: expected one per cell \\(4\\), found 3"):
        ln.references(data, rec.rf_contours[:3], rec.frame_shape, history=2)
    with pytest.raises(ValueError, match="expected a CRNN run"):
        ln.reference_for(RunSpec(model="vist", train_movie="mov1", test_movie="mov1"))


def test_findings_follow_the_numbers():
    refs = pd.DataFrame({"reference": [ln.LOCATED, ln.WHOLE], "direction": ["mov1→mov1"] * 2,
                         "cc_mean": [0.52, 0.24], "cc_sd": [0.01, 0.02], "seeds": [3, 3]})
    models = pd.DataFrame({"model": ["CRNN", "Vi-ST"], "direction": ["mov1→mov1"] * 2,
                           "cc_mean": [0.18, 0.51], "cc_sd": [0.02, 0.004]})
    (s,) = ln.findings(refs, models)
    assert "0.52 ± 0.01" in s and "0.24 ± 0.02" in s and "0.18 ± 0.02" in s and "Vi-ST (told each RF) 0.51" in s
    assert "worth 0.28 CC" in s and "(beyond the seed spread)" in s and "scores below the LN model on the whole" in s
    level = models.assign(cc_mean=[0.23, 0.51])
    assert "scores level with" in ln.findings(refs, level)[0]
    assert ln.findings(refs, models[models["model"] == "Vi-ST"]) == []
    one = ln.findings(refs.assign(cc_sd=float("nan")), models.assign(cc_sd=float("nan")))[0]
    assert "(one seed: no spread to judge it by)" in one and "0.52;" in one


def test_summary_means_over_seeds():
    s = pd.DataFrame({"reference": [ln.LOCATED] * 3, "direction": ["mov1→mov1"] * 3, "seed": [0, 1, 2],
                      "cc": [0.5, 0.6, 0.7]})
    out = ln.summary(s)
    assert out.loc[0, "cc_mean"] == pytest.approx(0.6) and out.loc[0, "cc_sd"] == pytest.approx(0.1)
    assert out.loc[0, "seeds"] == 3
