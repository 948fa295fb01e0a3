"""The compiled SD-KL (vist.metrics.sdkl) against scipy: adversarial traces, properties, the KDE's
three ways of evaluating kernels, the benchmark's inputs and numba's cache fallback."""

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy.signal import find_peaks, peak_widths

from vist.metrics import sd_kl, sd_kl_reference, sdkl
from vist.metrics.sdkl import peak_durations


def scipy_widths(trace, beta=1.0):
    """SPEC §5's durations of one trace, scipy's way."""
    x = np.clip(trace, 0, beta)
    peaks, _ = find_peaks(x, height=0)
    return peak_widths(x, peaks, rel_height=1)[0] if peaks.size else np.zeros(0)


def assert_widths_equal_scipy(traces, beta=1.0):
    traces = np.asarray(traces, dtype=float)
    if traces.ndim == 1:
        traces = traces[:, None]
    w, cell = peak_durations(traces, beta)
    assert np.all(np.diff(cell) >= 0)
    for c in range(traces.shape[1]):
        np.testing.assert_array_equal(w[cell == c], scipy_widths(traces[:, c], beta), err_msg=f"cell {c}")


def adversarial_traces():
    """Traces that exercise every branch of scipy's peak, prominence and width loops."""
    T = 60
    tt = np.arange(T)
    tiny = np.where(tt % 2 == 0, 0.0, 1e-12)                   # a peak every other frame, ε high
    alt2 = np.where((tt // 2) % 2 == 0, 0.0, 0.5)               # two-sample plateaus (left middle)
    stair = np.minimum(tt // 5, 12) / 10.0                     # level steps up, clipped at β
    saw = (tt % 7) / 7.0                                        # rises then drops: peaks at the tops
    nested = np.exp(-0.5 * ((tt - 30) / 9.0) ** 2) + 0.05 * np.sin(tt * 2.1)  # small peaks on a big one
    w_shape = np.tile([0.0, 0.4, 0.1, 0.4, 0.1, 0.4, 0.0, 0.2], 8)[:T]   # equal peaks and equal minima
    plateau_beta = np.tile([0.2, 1.5, 1.5, 1.2, 0.3, 2.0, 0.3], 9)[:T]   # clipped tops: plateaus at β
    cases = {
        "empty-ish (1 sample)": np.array([0.5]),
        "two samples": np.array([0.1, 0.9]),
        "three samples, a peak": np.array([0.1, 0.9, 0.1]),
        "three samples, plateau at the end": np.array([0.1, 0.9, 0.9]),
        "flat": np.full(T, 0.4),
        "zeros": np.zeros(T),
        "all at β (clipped)": np.full(T, 3.0),
        "all negative": np.full(T, -0.3),
        "plateau at the start": np.r_[np.full(5, 0.8), np.linspace(0.7, 0.0, T - 5)],
        "plateau at the end": np.r_[np.linspace(0.0, 0.7, T - 5), np.full(5, 0.8)],
        "peak next to each edge": np.r_[0.0, 1.0, np.full(T - 4, 0.2), 1.0, 0.0],
        "edges high": np.r_[1.0, np.linspace(0.1, 0.5, T - 2), 1.0],
        "many tiny peaks": tiny,
        "two-sample plateaus": alt2,
        "staircase": stair,
        "sawtooth": saw,
        "nested peaks": nested,
        "equal peaks, equal minima": w_shape,
        "plateaus at β": plateau_beta,
        "odd plateau lengths": np.array([0, 1, 1, 1, 0, 2, 2, 0, 3, 3, 3, 3, 0, 1, 0], float) / 3,
        "ties below a higher peak": np.array([0.5, 0.2, 0.6, 0.2, 0.9, 0.2, 0.6, 0.2, 0.5]),
    }
    return cases


@pytest.mark.parametrize("name", list(adversarial_traces()))
def test_peak_widths_equal_scipy_on_adversarial_traces(name):
    trace = adversarial_traces()[name]
    assert_widths_equal_scipy(trace)
    assert_widths_equal_scipy(trace, beta=0.35)         # more clipping, more plateaus at β
    assert_widths_equal_scipy(-trace + trace.max())     # upside down: valleys become peaks
    assert_widths_equal_scipy(trace[::-1])


def test_adversarial_traces_score_like_scipy():
    cases = adversarial_traces()
    longest = max(len(x) for x in cases.values())
    traces = np.stack([np.resize(x, longest) for x in cases.values()], axis=1)
    rng = np.random.default_rng(0)
    pred = traces[:, rng.permutation(traces.shape[1])]
    np.testing.assert_allclose(sd_kl(pred, traces), sd_kl_reference(pred, traces), rtol=1e-6, atol=1e-9)


# traces from a small alphabet of levels: ties, plateaus, zeros and samples above β are common
levels = st.sampled_from([-0.2, 0.0, 0.0, 0.1, 0.25, 0.25, 0.5, 0.75, 1.0, 1.0, 1.4])
alphabet_traces = st.lists(levels, min_size=0, max_size=120)
float_traces = st.lists(st.floats(-0.5, 1.6, allow_nan=False, allow_subnormal=False), min_size=0, max_size=120)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trace=st.one_of(alphabet_traces, float_traces), beta=st.sampled_from([1.0, 0.5, 2.0]))
def test_peak_widths_equal_scipy_property(trace, beta):
    assert_widths_equal_scipy(np.array(trace, dtype=float).reshape(-1), beta)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(target=st.lists(levels, min_size=3, max_size=150), pred=st.lists(levels, min_size=3, max_size=150),
       alpha=st.sampled_from([0.3, 0.1, 1.0]))
def test_sdkl_equals_reference_property(target, pred, alpha):
    n = min(len(target), len(pred))
    t, p = np.array(target[:n], float), np.array(pred[:n], float)
    try:
        ref = sd_kl_reference(p, t, alpha=alpha)
    except np.linalg.LinAlgError:   # scipy's KDE of (nearly) equal durations: no reference
        assume(False)
    got = sd_kl(p, t, alpha=alpha)
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-9)


def _kernel_step_ratio(D, Dh, alpha=0.3):
    """Grid step / kernel bandwidth (the KDE's ``v``) of each side of one cell."""
    U = np.r_[D, Dh]
    s = alpha * np.var(U)
    step = (U.max() - U.min() + 6 * s) / (sdkl.N_GRID - 1)
    return [step / np.sqrt(2 * alpha ** 2 * np.var(X, ddof=1)) for X in (D, Dh)]


def test_kde_narrow_wide_and_banded_kernels_match_scipy():
    """One exponential per point (kernels narrower than the grid step), whole-grid kernels
    (wider than the grid / 16 bandwidths) and banded ones in between: scipy's scores."""
    T = 3000
    tt = np.arange(T)
    # target: events of nearly equal duration (narrow KDE); prediction: widely spread durations
    target = np.zeros((T, 3))
    pred = np.zeros((T, 3))
    rng = np.random.default_rng(0)
    start = 5
    for width in 10 + rng.normal(0, 0.05, 20):
        n = int(width)
        target[start:start + n + 1, 0] = np.sin(np.linspace(0, np.pi, n + 1)) + 0.01 * (width - n)
        start += n + 5
    start = 5
    for n in rng.integers(3, 120, 20):
        pred[start:start + n, 0] = np.sin(np.linspace(0, np.pi, n + 2)[1:-1])
        start += n + 3
    # cell 1: durations of 3-9 frames, alike on both sides (wide kernels on a short grid);
    # cell 2: noisy, banded
    for trace, sizes in ((target, rng.integers(3, 9, 200)), (pred, rng.integers(2, 8, 200))):
        start = 1
        for n in sizes:
            if start + n + 2 > T:
                break
            trace[start:start + n, 1] = np.sin(np.linspace(0, np.pi, n + 2)[1:-1]) * rng.uniform(0.5, 1)
            start += n + 2
    target[:, 2] = np.clip(0.3 + 0.2 * np.sin(tt / 17) + rng.normal(0, 0.05, T), 0, None)
    pred[:, 2] = np.clip(0.3 + 0.2 * np.sin(tt / 11) + rng.normal(0, 0.08, T), 0, None)
    w_t, c_t = peak_durations(target)
    w_p, c_p = peak_durations(pred)
    v = np.array([_kernel_step_ratio(w_t[c_t == c], w_p[c_p == c]) for c in range(3)])
    band = 2 * sdkl.BAND / v + 2
    assert v[0, 0] > sdkl.DIRECT_V                       # narrow: one exponential per point
    assert np.any(band >= sdkl.N_GRID)                   # wide: the whole grid per kernel
    assert np.any((v < sdkl.DIRECT_V) & (band < sdkl.N_GRID))   # banded
    np.testing.assert_allclose(sd_kl(pred, target), sd_kl_reference(pred, target), rtol=1e-6, atol=1e-9)


def test_benchmark_inputs_match_reference_threaded_and_not(monkeypatch):
    """Every SD-KL input of `python -m vist.bench kernels`, through both paths: within 1e-6 of
    the per-cell scipy reference (the issue's same-function check)."""
    from vist.bench.kernels import noisy_prediction, sdkl_inputs, stored_run_inputs

    p, t, _ = sdkl_inputs()
    sp, stt, _ = stored_run_inputs()
    for pred, target in ((p, t), (noisy_prediction(p), t), (sp, stt)):
        ref = sd_kl_reference(pred, target)
        assert np.sum(ref < sdkl.MAX_SCORE) > 80
        for threshold in (0, 10 ** 12):          # two threads, one pass
            monkeypatch.setattr(sdkl, "THREADED_SAMPLES", threshold)
            np.testing.assert_allclose(sd_kl(pred, target), ref, rtol=0, atol=1e-6)


def test_jit_falls_back_to_no_cache_where_numba_cannot_write(monkeypatch):
    """A read-only install without a writable cache folder: compiled per process, same results."""
    import numba

    real = numba.njit

    def njit(*args, cache=False, **kw):
        if cache:
            raise RuntimeError("cannot cache function 'f': no locator available for file 'x.py'")
        return real(*args, **kw)

    monkeypatch.setattr(numba, "njit", njit)

    def double(x):
        return 2 * x

    assert sdkl._jit(double)(21) == 42
