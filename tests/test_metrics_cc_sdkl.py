"""CC and SD-KL (SPEC §5): against scipy, on random traces and on the edge cases."""

import os
import select

import numpy as np
import pytest
import torch
from scipy.signal import find_peaks, peak_widths
from scipy.stats import gaussian_kde, pearsonr

from vist.metrics import cc, sd_kl, sd_kl_details, sd_kl_reference
from vist.metrics.sdkl import peak_durations


def spec_sdkl_one_cell(pred, target, alpha=0.3, beta=1.0):
    """SPEC §5 written out for one cell with scipy, independently of vist."""
    def durations(trace):
        trace = np.clip(trace, 0, beta)
        peaks, _ = find_peaks(trace, height=0)
        return peak_widths(trace, peaks, rel_height=1)[0]

    D, Dh = durations(target), durations(pred)
    if len(D) < 2 or len(Dh) < 2 or np.var(D) == 0 or np.var(Dh) == 0:
        return 1000.0
    U = np.concatenate([D, Dh])
    s = alpha * np.var(U)
    grid = np.linspace(U.min() - 3 * s, U.max() + 3 * s, 200)
    P = gaussian_kde(D, bw_method=alpha)(grid) + 1e-10
    Ph = gaussian_kde(Dh, bw_method=alpha)(grid) + 1e-10
    P, Ph = P / P.sum(), Ph / Ph.sum()
    return float(np.clip(np.sum(Ph * np.log(Ph / P)), 0, 1000))


def random_traces(rng, T, cells):
    """Sparse, bursty, smooth and noisy rate traces, some above β, some negative."""
    kind = rng.integers(4)
    counts = rng.poisson(rng.uniform(0.05, 0.8), (T, cells)).astype(float)
    if kind == 0:
        return counts / rng.integers(1, 20)                       # trial means: many ties/zeros
    k = np.exp(-0.5 * (np.arange(-6, 7) / rng.uniform(0.5, 3)) ** 2)
    smooth = np.apply_along_axis(lambda c: np.convolve(c, k / k.sum(), "same"), 0, counts)
    if kind == 1:
        return smooth * rng.uniform(0.3, 3)                        # exceeds β = 1 at times
    if kind == 2:
        return smooth + rng.normal(0, 0.05, (T, cells))            # negative values too
    return np.round(smooth, 1)                                     # plateaus


def test_cc_matches_scipy_and_summaries():
    rng = np.random.default_rng(0)
    t = rng.random((200, 6))
    p = t * np.array([1, -1, 0.5, 2, -0.2, 1]) + rng.normal(0, 0.3, (200, 6))
    res = cc(p, t)
    ref = np.array([pearsonr(p[:, c], t[:, c])[0] for c in range(6)])
    assert np.allclose(res.r, ref, atol=1e-12)
    assert res.mean == pytest.approx(ref.mean())
    assert res.mean_abs == pytest.approx(np.abs(ref).mean())
    assert res.mean_positive == pytest.approx(ref[ref > 0].mean())
    assert res.mean_abs > res.mean and res.mean_positive > res.mean
    assert res.summary() == {"cc": res.mean, "cc_abs": res.mean_abs, "cc_positive": res.mean_positive,
                             "cells_undefined": 0}
    assert np.allclose(cc(torch.tensor(p), torch.tensor(t)).r, ref)


def test_cc_constant_trace_counts_as_zero():
    t = np.random.default_rng(1).random((50, 3))
    p = t.copy()
    p[:, 2] = 0.7
    res = cc(p, t)
    assert np.isnan(res.r[2]) and res.n_undefined == 1
    assert res.mean == pytest.approx(2 / 3)


@pytest.mark.parametrize("fn", [cc, sd_kl])
def test_nan_and_shape_errors_are_named(fn):
    t = np.random.default_rng(2).random((40, 3))
    p = t.copy()
    p[7, 1] = np.nan
    with pytest.raises(ValueError, match=r"found nan at \[t=7, cell=1\]"):
        fn(p, t)
    with pytest.raises(ValueError, match="same shape"):
        fn(t[:, :2], t)


def test_sdkl_matches_scipy_on_many_random_traces():
    rng = np.random.default_rng(3)
    n_cells = 0
    for _ in range(40):
        T, cells = int(rng.integers(20, 400)), int(rng.integers(1, 12))
        t, p = random_traces(rng, T, cells), random_traces(rng, T, cells)
        got = sd_kl(p, t)
        ref = np.array([spec_sdkl_one_cell(p[:, c], t[:, c]) for c in range(cells)])
        assert np.allclose(got, ref, rtol=1e-6, atol=1e-9), (got, ref)
        n_cells += cells
    assert n_cells > 150
    # α, β other than the defaults
    t, p = random_traces(rng, 300, 5), random_traces(rng, 300, 5)
    ref = [spec_sdkl_one_cell(p[:, c], t[:, c], alpha=0.5, beta=2.0) for c in range(5)]
    assert np.allclose(sd_kl(p, t, alpha=0.5, beta=2.0), ref, rtol=1e-6, atol=1e-9)
    assert np.allclose(sd_kl_reference(p, t, 0.5, 2.0), ref, rtol=1e-12, atol=1e-12)


def _edge_cases(T=120):
    tt = np.arange(T)
    bumps = np.maximum(0, np.sin(tt / 3.0)) * (1 + 0.5 * np.sin(tt / 17.0))     # varied widths
    tri = np.zeros(T)                                                          # equal widths
    tri[:T - 10] = np.tile(np.r_[np.arange(5), np.arange(5, 0, -1)], T // 10 - 1) / 5.0
    one = np.exp(-0.5 * ((tt - 60) / 4) ** 2)                                   # one peak
    return {"no peak (ramp)": tt / T, "constant": np.full(T, 0.3), "one peak": one,
            "equal widths": tri, "zeros": np.zeros(T), "bumps": bumps,
            "above beta": 3 * bumps, "peak at the edges": np.r_[1.0, bumps[1:-1], 1.0]}


@pytest.mark.parametrize("name", list(_edge_cases()))
def test_sdkl_edge_cases(name):
    cases = _edge_cases()
    bumps = cases["bumps"]
    for t, p in [(cases[name], bumps), (bumps, cases[name]), (cases[name], cases[name])]:
        got = sd_kl(p, t)
        assert got.shape == (1,)
        assert got[0] == pytest.approx(spec_sdkl_one_cell(p, t), rel=1e-6, abs=1e-9)
    if name in ("no peak (ramp)", "constant", "one peak", "equal widths", "zeros"):
        assert sd_kl(bumps, cases[name])[0] == 1000.0
    assert sd_kl(bumps, bumps)[0] == 0.0


def test_sdkl_cells_are_independent_and_details_agree():
    """A cell's score does not depend on its neighbours (the separators work)."""
    rng = np.random.default_rng(4)
    t, p = random_traces(rng, 250, 6), random_traces(rng, 250, 6)
    t[-1, :] = 1.0   # high last samples next to the next cell's first samples
    p[0, :] = 1.0
    together = sd_kl(p, t)
    alone = np.array([sd_kl(p[:, c], t[:, c])[0] for c in range(6)])
    assert np.allclose(together, alone, rtol=1e-12, atol=1e-14)
    d = sd_kl_details(p[:, 0], t[:, 0])
    assert d.score == pytest.approx(together[0], rel=1e-9, abs=1e-12)
    if d.grid is not None:
        assert d.P.sum() == pytest.approx(1) and d.P_hat.sum() == pytest.approx(1)


def test_sdkl_calibration_zero_for_clean_positive_for_noisy():
    """The poster's supplementary calibration: clean sines score 0, added noise scores > 0."""
    rng = np.random.default_rng(5)
    tt = np.arange(1600)
    clean = 0.5 + 0.5 * np.sin(2 * np.pi * tt[:, None] / np.linspace(20, 60, 10)[None, :])
    assert np.all(sd_kl(clean, clean) == 0)
    for level in (0.1, 0.9):
        noisy = clean + level * rng.normal(0, 0.5, clean.shape)
        assert np.all(sd_kl(noisy, clean) > 0.1)


def test_peak_durations_equal_per_cell_scipy():
    """The compiled peaks, bases and crossings give scipy's widths, bit for bit, cell by cell."""
    rng = np.random.default_rng(11)
    T = 300
    tt = np.arange(T)
    special = np.stack([
        np.r_[1.0, 1.0, np.zeros(T - 4), 1.0, 1.0],                # plateaus at β on both edges
        0.3 + 0.2 * np.sin(tt / 5.0),                                # never zero: one long island
        np.maximum(0, np.sin(tt / 9.0)) * (1 + 0.6 * np.sin(tt)),    # several peaks per island
        np.minimum(3 * np.maximum(0, np.sin(tt / 7.0)), 1.0),        # clipped tops, single peaks
        np.zeros(T),                                                 # no peak
        np.r_[np.ones(T // 2), np.zeros(T - T // 2)],                # a plateau touching the start
    ], axis=1)
    cases = [special] + [random_traces(rng, int(rng.integers(20, 400)), 7) for _ in range(30)]
    for x in cases:
        w, cell = peak_durations(x)
        for c in range(x.shape[1]):
            xc = np.clip(x[:, c], 0, 1)
            ref = peak_widths(xc, find_peaks(xc, height=0)[0], rel_height=1)[0]
            np.testing.assert_array_equal(w[cell == c], ref)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_sdkl_works_in_a_forked_child(monkeypatch):
    """The second thread's pool, made in the parent, is remade in a forked child (no hang)."""
    from vist.metrics import sdkl

    monkeypatch.setattr(sdkl, "THREADED_SAMPLES", 0)   # the two-thread path, whatever the size
    rng = np.random.default_rng(12)
    t, p = random_traces(rng, 200, 4), random_traces(rng, 200, 4)
    want = sd_kl(p, t)                     # the parent's pool exists now
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:                           # child: score, report, exit without cleanup
        ok = np.allclose(sd_kl(p, t), want, rtol=1e-12)
        os.write(write, b"1" if ok else b"0")
        os._exit(0)
    os.close(write)
    got = b""
    for _ in range(100):                   # up to 10 s
        ready, _, _ = select.select([read], [], [], 0.1)
        if ready:
            got = os.read(read, 1)
            break
    os.waitpid(pid, 0) if got else os.kill(pid, 9)
    assert got == b"1"


def test_sdkl_long_peaks_few_cells_match_scipy():
    """Events tens of thousands of frames long (whole-frame widths counted per value up to the
    trace's length, wide kernels): same scores as scipy."""
    from vist.metrics import sdkl

    T = 80_000
    target, pred = np.zeros((T, 1)), np.zeros((T, 1))
    for trace, islands in ((target, [(10, 66_000), (70_000, 3_000), (75_000, 40)]),
                           (pred, [(5, 65_000), (69_000, 3_500), (76_000, 90)])):
        for start, width in islands:
            trace[start:start + width, 0] = np.sin(np.linspace(0, np.pi, width + 2)[1:-1])
    w, _ = peak_durations(target)
    assert w.max() > 60_000
    assert sdkl.sd_kl(pred, target)[0] < sdkl.MAX_SCORE
    np.testing.assert_allclose(sd_kl(pred, target), sd_kl_reference(pred, target), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("cells", [1, 2, 7])
def test_sdkl_threaded_halves_equal_one_pass(monkeypatch, cells):
    """From THREADED_SAMPLES samples on, sd_kl scores each half of the cells on its own thread
    (forced here by a zero threshold): the scores are those of the single pass and of scipy."""
    from vist.metrics import sdkl

    rng = np.random.default_rng(13)
    t, p = random_traces(rng, 300, cells), random_traces(rng, 300, cells)
    t[-1, :], p[0, :] = 1.0, 1.0   # high samples at the cells' edges, next to the split
    one_pass = sd_kl(p, t)
    monkeypatch.setattr(sdkl, "THREADED_SAMPLES", 0)
    halves = sd_kl(p, t)
    np.testing.assert_array_equal(halves, one_pass)   # each cell computed alone either way
    ref = [spec_sdkl_one_cell(p[:, c], t[:, c]) for c in range(cells)]
    np.testing.assert_allclose(halves, ref, rtol=1e-6, atol=1e-9)
    assert sd_kl(p, p)[0] == 0.0
