"""Property-based tests (hypothesis): invariants that example tests miss.

Kept quick: a few dozen examples each, small arrays, no example database written to disk.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from vist.data import Recording, WindowSampler, split
from vist.kernels import soft_dtw
from vist.metrics import cc, sd_kl

FAST = settings(max_examples=40, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# values on a 1e-3 grid: a column is either exactly constant or clearly not, so Pearson r is
# well-conditioned wherever it is defined
grid_values = st.integers(-20_000, 20_000).map(lambda k: k / 1000)


@st.composite
def trace_pairs(draw, min_t=2, max_t=40, max_cells=4):
    t = draw(st.integers(min_t, max_t))
    cells = draw(st.integers(1, max_cells))
    a = draw(arrays(np.float64, (t, cells), elements=grid_values))
    b = draw(arrays(np.float64, (t, cells), elements=grid_values))
    return a, b


@FAST
@given(trace_pairs())
def test_cc_equals_scipy_pearsonr(pair):
    from scipy.stats import pearsonr

    pred, target = pair
    r = cc(pred, target).r
    for c in range(pred.shape[1]):
        if np.ptp(pred[:, c]) == 0 or np.ptp(target[:, c]) == 0:
            assert math.isnan(r[c])  # undefined for a constant trace
        else:
            expected = pearsonr(pred[:, c], target[:, c]).statistic
            assert r[c] == pytest.approx(expected, abs=1e-9)
            assert -1.0 - 1e-12 <= r[c] <= 1.0 + 1e-12


@st.composite
def sequence_pairs(draw):
    b = draw(st.integers(1, 3))
    n, m = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    d = draw(st.integers(1, 6))
    elems = st.floats(-3, 3, allow_nan=False, allow_infinity=False)
    x = draw(arrays(np.float64, (b, n, d), elements=elems))
    y = draw(arrays(np.float64, (b, m, d), elements=elems))
    gamma = draw(st.sampled_from([0.01, 0.1, 1.0]))
    return torch.from_numpy(x), torch.from_numpy(y), gamma


@FAST
@given(sequence_pairs())
# found by this test: the float32 cost expanded as |x|²+|y|²−2x·y made D(x, x) − D(x, x) ≠ 0 here
@example((torch.full((1, 9, 6), 0.7377, dtype=torch.float64), torch.zeros(1, 4, 6, dtype=torch.float64), 0.01))
def test_soft_dtw_divergence_is_nonnegative_and_zero_on_identical_inputs(case):
    x, y, gamma = case
    d = soft_dtw(x, y, gamma, normalize=True)
    scale = 1e-9 * (1 + float((x ** 2).sum() + (y ** 2).sum()))
    assert torch.isfinite(d).all() and (d >= -scale).all()
    assert torch.equal(soft_dtw(x, x.clone(), gamma, normalize=True), torch.zeros(x.shape[0], dtype=x.dtype))
    # float32 too: identical inputs give exactly 0
    x32 = x.float()
    assert torch.equal(soft_dtw(x32, x32.clone(), gamma, normalize=True), torch.zeros(x.shape[0]))


rates = st.integers(0, 300).map(lambda k: k / 200)  # 0 … 1.5 spikes per bin, beyond β = 1 too


@FAST
@given(st.integers(5, 80).flatmap(lambda t: st.tuples(
    arrays(np.float64, (t, 2), elements=rates), arrays(np.float64, (t, 2), elements=rates))))
def test_sd_kl_is_nonnegative_and_zero_for_a_perfect_prediction(pair):
    pred, target = pair
    kl = sd_kl(pred, target)
    assert kl.shape == (2,) and np.all(np.isfinite(kl)) and np.all(kl >= 0) and np.all(kl <= 1000)
    same = sd_kl(target, target)
    # identical durations: KL 0, unless a cell has fewer than 2 peaks or one duration (score 1000)
    assert np.all((np.abs(same) <= 1e-9) | (same == 1000))


json_scalars = (st.none() | st.booleans() | st.integers(-10 ** 12, 10 ** 12)
                | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=8)


@st.composite
def recordings(draw):
    t, h, w = draw(st.integers(1, 6)), draw(st.integers(1, 5)), draw(st.integers(1, 5))
    trials, cells = draw(st.integers(1, 3)), draw(st.integers(0, 3))
    frames = draw(arrays(np.uint8, (t, h, w)))
    spikes = draw(arrays(draw(st.sampled_from([np.uint8, np.uint16, np.int64])), (trials, t, cells),
                         elements=st.integers(0, 9)))
    contours = [draw(arrays(np.float64, (2, draw(st.integers(3, 6))),
                            elements=st.floats(-50, 50, allow_nan=False))) for _ in range(cells)]
    true_rates = draw(st.none() | arrays(np.float32, (t, cells), elements=st.floats(0, 5, width=32)))
    meta = draw(st.dictionaries(st.text(min_size=1, max_size=6), json_values, max_size=4))
    return Recording(frames=frames, spikes=spikes, rf_contours=contours, name=draw(st.text(max_size=10)),
                     source=draw(st.sampled_from(["synthetic", "dryad", "file"])), true_rates=true_rates,
                     meta=meta, fps=draw(st.floats(1, 240)))


@settings(max_examples=30, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(recordings())
def test_recording_save_then_load_round_trips(tmp_path, rec):
    path = rec.save(tmp_path / "rec.npz")
    back = Recording.load(path)
    np.testing.assert_array_equal(back.frames, rec.frames)
    assert back.spikes.dtype == rec.spikes.dtype
    np.testing.assert_array_equal(back.spikes, rec.spikes)
    assert len(back.rf_contours) == len(rec.rf_contours)
    for a, b in zip(back.rf_contours, rec.rf_contours, strict=True):
        np.testing.assert_array_equal(a, b)
    if rec.true_rates is None:
        assert back.true_rates is None
    else:
        np.testing.assert_array_equal(back.true_rates, rec.true_rates)
    assert (back.name, back.source, back.fps, back.meta) == (rec.name, rec.source, rec.fps, rec.meta)
    np.testing.assert_array_equal(back.rates, rec.rates)


@st.composite
def sampling_cases(draw):
    n = draw(st.integers(2, 400))
    scheme = draw(st.sampled_from(["halves", "blocks"]))
    block = draw(st.integers(1, 120))
    gap = draw(st.integers(0, 10))
    sp = split(n, scheme, block=block, gap=gap)
    longest = max((b - a for a, b in sp.train), default=0)
    assume(longest >= 1)
    window = draw(st.integers(1, longest))
    return sp, window, draw(st.integers(1, 5)), draw(st.integers(0, 2 ** 32))


@FAST
@given(sampling_cases())
def test_window_sampling_never_crosses_a_segment_or_touches_the_test_set(case):
    sp, window, batch, seed = case
    test_frames = set(sp.indices("test").tolist()) if sp.scheme != "all" else set()
    sampler = WindowSampler(sp.train, window, batch, batches_per_epoch=3, seed=seed)
    for starts in sampler:
        assert starts.shape == (batch,)
        for s in starts.tolist():
            assert any(a <= s and s + window <= b for a, b in sp.train)
            assert not test_frames.intersection(range(s, s + window))
