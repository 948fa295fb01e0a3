"""Noise ceilings: split-half reliability, jackknife oracle, FEVE."""

import numpy as np
import pytest

from vist.metrics import cc_ceiling, feve, oracle_correlation, split_half_reliability


def _trials(noise_sd: float, trials: int = 20, t: int = 400, cells: int = 5, seed: int = 0):
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=(t, cells))
    return signal, signal[None] + rng.normal(0, noise_sd, (trials, t, cells))


def test_identical_trials_are_perfectly_reliable():
    signal, _ = _trials(0.0)
    spikes = np.repeat(signal[None], 6, axis=0)
    np.testing.assert_allclose(split_half_reliability(spikes), 1.0)
    np.testing.assert_allclose(oracle_correlation(spikes), 1.0)


def test_pure_noise_is_unreliable():
    rng = np.random.default_rng(1)
    spikes = rng.normal(size=(20, 2000, 4))
    assert np.all(np.abs(split_half_reliability(spikes)) < 0.15)
    assert np.all(np.abs(oracle_correlation(spikes)) < 0.1)


def test_spearman_brown_matches_the_theory():
    # signal variance 1, noise variance s² per trial: the n-trial mean has reliability n / (n + s²)
    n, s = 20, 2.0
    _, spikes = _trials(s, trials=n, t=20000, cells=3)
    np.testing.assert_allclose(split_half_reliability(spikes, n_splits=10), n / (n + s * s), atol=0.02)
    np.testing.assert_allclose(cc_ceiling(spikes, n_splits=10), np.sqrt(n / (n + s * s)), atol=0.02)
    # single trial vs the mean of the other n − 1
    expected = np.sqrt(1 / (1 + s * s)) * np.sqrt((n - 1) / (n - 1 + s * s))
    np.testing.assert_allclose(oracle_correlation(spikes), expected, atol=0.02)


def test_feve_of_the_true_signal_is_one_and_of_a_constant_is_zero():
    signal, spikes = _trials(1.0, t=5000)
    np.testing.assert_allclose(feve(signal, spikes), 1.0, atol=0.03)
    np.testing.assert_allclose(feve(np.zeros_like(signal), spikes), 0.0, atol=0.01)
    assert np.all(feve(-signal, spikes) == 0.0)  # worse than nothing: clipped at 0
    half = feve(0.5 * signal, spikes)
    np.testing.assert_allclose(half, 0.75, atol=0.05)  # explains 1 − 0.25 of the signal variance


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match=r"\[trials, T, cells\], found shape \(5, 3\)"):
        split_half_reliability(np.zeros((5, 3)))
    with pytest.raises(ValueError, match="at least 2 trials, found 1"):
        oracle_correlation(np.zeros((1, 5, 3)))
    with pytest.raises(ValueError, match="NaN"):
        split_half_reliability(np.full((4, 5, 3), np.nan))
    with pytest.raises(ValueError, match=r"pred: expected shape \(5, 3\)"):
        feve(np.zeros((5, 2)), np.zeros((4, 5, 3)))
