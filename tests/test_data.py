"""vist.data: the virtual retina, the Dryad reader, saved recordings, RF coverage, splits."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from tests.dryad_layout import frame_pattern, write_layout, write_mat_v5
from vist.cache import CacheError
from vist.data import (
    DryadLayoutError,
    Recording,
    WindowSampler,
    load,
    polygon_area,
    rf_to_grid,
    split,
)
from vist.data.stats import DOCUMENTED_RANGES, firing_statistics
from vist.data.synthetic import simulate

SHORT = 150  # frames: enough for every stage of the simulator, fast enough for unit tests


@pytest.fixture(scope="module")
def short_rec() -> Recording:
    return simulate("mov1", seed=0, trials=6, n_frames=SHORT)


# --- virtual retina -------------------------------------------------------------------------

def test_same_seed_gives_identical_arrays(short_rec):
    again = simulate("mov1", seed=0, trials=6, n_frames=SHORT)
    np.testing.assert_array_equal(short_rec.frames, again.frames)
    np.testing.assert_array_equal(short_rec.spikes, again.spikes)
    np.testing.assert_array_equal(short_rec.true_rates, again.true_rates)
    for a, b in zip(short_rec.rf_contours, again.rf_contours, strict=True):
        np.testing.assert_array_equal(a, b)


def test_other_seed_gives_another_retina_but_the_same_movie(short_rec):
    other = simulate("mov1", seed=1, trials=6, n_frames=SHORT)
    np.testing.assert_array_equal(short_rec.frames, other.frames)  # the stimulus is fixed
    assert not np.array_equal(short_rec.spikes, other.spikes)
    assert not np.allclose(short_rec.rf_contours[0], other.rf_contours[0])


def test_shapes_and_types(short_rec):
    r = short_rec
    assert r.frames.shape == (SHORT, 360, 360) and r.frames.dtype == np.uint8
    assert r.spikes.shape == (6, SHORT, 90)
    assert r.rates.shape == (SHORT, 90) and r.rates.dtype == np.float32
    np.testing.assert_allclose(r.rates, r.spikes.mean(axis=0), rtol=1e-6)
    assert len(r.rf_contours) == 90 and all(c.shape[0] == 2 for c in r.rf_contours)
    assert r.spikes.max() <= 6  # the refractory cap
    counts = {t: r.meta["cell_type"].count(t) for t in set(r.meta["cell_type"])}
    assert counts == {"OFF fast": 36, "OFF slow": 24, "ON": 18, "ON-OFF": 12}


def test_movies_use_disjoint_photographs():
    from vist.data.movies import MOVIE_IMAGES

    assert not set(MOVIE_IMAGES["mov1"]) & set(MOVIE_IMAGES["mov2"])
    assert not set(MOVIE_IMAGES["calibration"]) & (set(MOVIE_IMAGES["mov1"]) | set(MOVIE_IMAGES["mov2"]))


def test_spike_counts_have_the_true_rate_as_mean():
    from vist.data.retina import RetinaParams, spike_trials

    lam = np.linspace(0.0, 2.5, 50, dtype=np.float32)[:, None].repeat(3, axis=1)
    counts = spike_trials(lam, 4000, RetinaParams(), np.random.default_rng(0))
    np.testing.assert_allclose(counts.mean(axis=0), lam, atol=0.06)
    active = lam[:, 0] > 0.5
    fano = counts.var(axis=0)[active] / counts.mean(axis=0)[active]
    assert np.median(fano) < 1.0  # sub-Poisson


@pytest.fixture(scope="module")
def full_recordings() -> dict[str, Recording]:
    return {m: load("synthetic", m) for m in ("mov1", "mov2")}


@pytest.mark.parametrize("movie", ["mov1", "mov2"])
def test_full_movie_statistics_inside_documented_ranges(full_recordings, movie):
    rec = full_recordings[movie]
    assert rec.n_frames == {"mov1": 1800, "mov2": 1600}[movie]
    assert rec.n_trials == 20 and rec.n_cells == 90
    stats = firing_statistics(rec)
    for name, (lo, hi) in DOCUMENTED_RANGES.items():
        med = float(np.nanmedian(stats[name]))
        assert lo <= med <= hi, f"{movie}: median {name} = {med:.3f}, documented range {lo}–{hi}"
    # every cell fires at some point, and the trial mean tracks the noise-free rate
    assert np.all(rec.rates.max(axis=0) > 0)
    r = [np.corrcoef(rec.rates[:, c], rec.true_rates[:, c])[0, 1] for c in range(rec.n_cells)]
    assert np.median(r) > 0.9


def test_cached_load_returns_the_same_recording(full_recordings):
    again = load("synthetic", "mov1")
    np.testing.assert_array_equal(again.spikes, full_recordings["mov1"].spikes)
    np.testing.assert_array_equal(again.frames, full_recordings["mov1"].frames)


def test_corrupted_cache_is_detected_regenerated_and_warned(tmp_path, monkeypatch):
    monkeypatch.setenv("VIST_CACHE_DIR", str(tmp_path))
    first = load("synthetic", "mov2", trials=3, n_frames=60)
    (path,) = (tmp_path / "recordings").glob("*.npz")
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # flip one byte inside the frames
    path.write_bytes(bytes(raw))
    with pytest.warns(UserWarning, match="corrupted"):
        again = load("synthetic", "mov2", trials=3, n_frames=60)
    np.testing.assert_array_equal(again.frames, first.frames)
    Recording.load(path)  # the regenerated file verifies


def test_truncated_cache_is_detected(tmp_path, monkeypatch):
    monkeypatch.setenv("VIST_CACHE_DIR", str(tmp_path))
    load("synthetic", "mov1", trials=2, n_frames=40)
    (path,) = (tmp_path / "recordings").glob("*.npz")
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(CacheError):
        Recording.load(path)
    with pytest.warns(UserWarning, match="corrupted"):
        load("synthetic", "mov1", trials=2, n_frames=40)


def test_unknown_movie_and_bad_arguments_name_the_choices():
    with pytest.raises(ValueError, match=r"unknown movie 'mov3'.*mov1.*mov2"):
        load("synthetic", "mov3")
    with pytest.raises(ValueError, match="trials"):
        simulate("mov1", trials=0, n_frames=10)
    with pytest.raises(ValueError, match="expected 'synthetic', 'dryad'"):
        load("/no/such/thing.txt")


# --- saved recordings -----------------------------------------------------------------------

def test_save_load_roundtrip(short_rec, tmp_path):
    path = short_rec.save(tmp_path / "rec.npz")
    back = load(path)
    np.testing.assert_array_equal(back.frames, short_rec.frames)
    np.testing.assert_array_equal(back.spikes, short_rec.spikes)
    np.testing.assert_array_equal(back.true_rates, short_rec.true_rates)
    assert back.name == short_rec.name and back.meta["cell_type"] == short_rec.meta["cell_type"]
    for a, b in zip(back.rf_contours, short_rec.rf_contours, strict=True):
        np.testing.assert_array_equal(a, b)


def test_hand_written_file_loads(tmp_path):
    frames = np.zeros((5, 8, 8), np.uint8)
    spikes = np.ones((2, 5, 1), np.int32)
    square = np.array([[0, 4, 4, 0], [0, 0, 4, 4]], float)
    np.savez(tmp_path / "mine.npz", frames=frames, spikes=spikes, rf_xy=square, rf_offsets=[0, 4])
    rec = load(tmp_path / "mine.npz")
    assert rec.n_cells == 1 and rec.source == "file"


def test_failed_save_leaves_nothing_behind(short_rec, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        Path(args[0].name).write_bytes(b"half")  # the file is being written …
        raise OSError("disk full")                # … when the disk fills up

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(OSError, match="disk full"):
        short_rec.save(tmp_path / "rec.npz")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("bad, message", [
    (dict(spikes=np.full((2, 5, 1), np.nan)), "NaN"),
    (dict(spikes=-np.ones((2, 5, 1), np.int32)), "non-negative"),
    (dict(spikes=np.ones((2, 4, 1), np.int32)), "4 frame bins but frames has 5"),
    (dict(frames=np.zeros((5, 8, 8), np.float32)), "uint8"),
    (dict(rf_contours=[]), "one polygon per cell"),
    (dict(true_rates=np.full((5, 1), -1.0, np.float32)), "negative"),
    (dict(true_rates=np.full((5, 1), np.nan, np.float32)), "NaN"),
])
def test_recording_rejects_bad_arrays(bad, message):
    args = dict(frames=np.zeros((5, 8, 8), np.uint8), spikes=np.ones((2, 5, 1), np.int32),
                rf_contours=[np.array([[0, 4, 4, 0], [0, 0, 4, 4]], float)], name="x", source="file")
    args.update(bad)
    with pytest.raises(ValueError, match=message):
        Recording(**args)


def test_cell_subset_keeps_metadata(short_rec):
    sub = short_rec.cells([3, 1])
    assert sub.n_cells == 2
    np.testing.assert_array_equal(sub.spikes, short_rec.spikes[:, :, [3, 1]])
    assert sub.meta["cell_type"] == [short_rec.meta["cell_type"][3], short_rec.meta["cell_type"][1]]
    assert sub.meta["cell_index"] == [3, 1]


# --- Dryad layout ---------------------------------------------------------------------------

@pytest.mark.parametrize("version", ["v5", "v73"])
def test_dryad_layout_loads(tmp_path, version):
    expected = write_layout(tmp_path, n_frames=12, neurons=3, trials=4, version=version)
    cases = {(1, "mov1"): "Movie1Exp1", (2, "mov1"): "Movie2Exp2",
             (1, "mov2"): "Movie2Exp1", (2, "mov2"): "Movie1Exp2"}
    for (recording, movie), fname in cases.items():
        rec = load("dryad", movie, root=tmp_path, recording=recording)
        n = 12 if movie == "mov1" else 14
        assert rec.frames.shape == (n, 360, 360)
        for k in (0, 3, n - 1):  # frames in numeric (not lexical) order, upright
            np.testing.assert_array_equal(rec.frames[k], frame_pattern(k))
        np.testing.assert_array_equal(rec.spikes, expected[fname][:, :n])
        assert rec.meta["spike_file"] == f"{fname}.mat"
        square = rec.rf_contours[2]
        np.testing.assert_allclose(square[:, 0], [10 + 100 * recording + 2, 20 + 100 * recording + 2])
        assert polygon_area(square) == pytest.approx(400.0)


def test_dryad_binning_at_the_frame_period(tmp_path):
    write_layout(tmp_path, n_frames=12, neurons=3, trials=4)
    rec = load(tmp_path, "mov1", recording=1)  # a Dryad folder given directly
    # trial 1 has spikes at 2·33.33 ms ∓ 1 ns: one in bin 1, one in bin 2
    assert rec.spikes[1, 1, 0] == 1 and rec.spikes[1, 2, 0] == 1  # neuron 0 fires in bin 0 anyway
    # trial 2's spikes before onset and after the end are dropped
    assert rec.spikes[2].sum() == rec.spikes[0].sum()


def test_dryad_missing_pieces_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="Dryad data folder"):
        load("dryad", "mov1", root=tmp_path / "nothing")
    write_layout(tmp_path, n_frames=5, neurons=2, trials=2)
    os.remove(tmp_path / "NeuralData" / "Spikes" / "Movie2Exp1.mat")
    with pytest.raises(FileNotFoundError, match=r"Movie2Exp1\.mat"):
        load("dryad", "mov2", root=tmp_path, recording=1)
    with pytest.raises(ValueError, match="recording: expected 1 or 2"):
        load("dryad", "mov1", root=tmp_path, recording=3)
    with pytest.raises(ValueError, match="needs root"):
        load("dryad", "mov1")


def test_dryad_wrong_frame_size_is_named(tmp_path):
    write_layout(tmp_path, n_frames=5, neurons=2, trials=2)
    (tmp_path / "Stimuli" / "Movie1" / "frame_3.raw").write_bytes(b"\x00" * 1000)
    with pytest.raises(DryadLayoutError, match=r"frame_3\.raw.*129600 bytes\), found 1000 bytes"):
        load("dryad", "mov1", root=tmp_path)


def test_dryad_trial_counts_that_disagree(tmp_path):
    write_layout(tmp_path, n_frames=5, neurons=2, trials=3)
    # a cell array of per-neuron cell arrays with 3 and 2 trials
    spikes = np.empty((2, 1), dtype=object)
    spikes[0, 0] = np.array([np.array([1.0]), np.array([2.0]), np.array([3.0])], dtype=object).reshape(1, 3)
    spikes[1, 0] = np.array([np.array([1.0]), np.array([2.0])], dtype=object).reshape(1, 2)
    from scipy.io import savemat

    savemat(tmp_path / "NeuralData" / "Spikes" / "Movie1Exp1.mat", {"Spikes": spikes})
    with pytest.raises(DryadLayoutError, match="3 for neuron 0 and 2 for neuron 1"):
        load("dryad", "mov1", root=tmp_path)


def test_dryad_nan_spike_times_and_wrong_variable(tmp_path):
    write_layout(tmp_path, n_frames=5, neurons=2, trials=2)
    path = tmp_path / "NeuralData" / "Spikes" / "Movie1Exp1.mat"
    write_mat_v5(path, "Spikes", [[np.array([np.nan]), np.array([1.0])], [np.array([1.0]), np.array([2.0])]])
    with pytest.raises(DryadLayoutError, match="NaN"):
        load("dryad", "mov1", root=tmp_path)
    write_mat_v5(path, "spikes_wrong", [[np.array([1.0])]])
    with pytest.raises(DryadLayoutError, match=r"expected a variable 'Spikes', found \['spikes_wrong'\]"):
        load("dryad", "mov1", root=tmp_path)


def test_dryad_rf_count_must_match_neurons(tmp_path):
    write_layout(tmp_path, n_frames=5, neurons=2, trials=2)
    write_mat_v5(tmp_path / "NeuralData" / "ReceptiveFields" / "RF_Exp1.mat", "ReceptiveFields",
                 [[np.array([[0, 1, 1], [0, 0, 1.0]])]])
    with pytest.raises(DryadLayoutError, match="1 receptive fields but Movie1Exp1.mat holds 2 neurons"):
        load("dryad", "mov1", root=tmp_path)


# --- RF coverage on the patch grid ----------------------------------------------------------

def _rect(x0, y0, x1, y1):
    return np.array([[x0, x1, x1, x0], [y0, y0, y1, y1]], float)


def test_rf_square_on_one_patch():
    cov = rf_to_grid([_rect(45, 22.5, 67.5, 45)], (360, 360), grid=16)  # patch row 1, column 2
    expected = np.zeros((16, 16))
    expected[1, 2] = 1.0
    np.testing.assert_allclose(cov[0], expected, atol=1e-6)


def test_rf_square_straddling_patches():
    cov = rf_to_grid([_rect(11.25, 0, 33.75, 22.5)], (360, 360), grid=16)  # half of patches 0 and 1
    np.testing.assert_allclose(cov[0, 0, :3], [0.5, 0.5, 0.0], atol=1e-6)
    assert cov[0].sum() == pytest.approx(1.0)


def test_rf_triangle_and_clockwise_order():
    tri = np.array([[0, 22.5, 0], [0, 0, 22.5]], float)
    cov = rf_to_grid([tri, tri[:, ::-1]], (360, 360), grid=16)
    np.testing.assert_allclose(cov[:, 0, 0], [0.5, 0.5], atol=1e-6)


def test_rf_coverage_adds_up_to_the_polygon_area():
    rng = np.random.default_rng(0)
    for _ in range(20):
        cx, cy, r = rng.uniform(40, 320), rng.uniform(40, 320), rng.uniform(5, 35)
        phi = np.sort(rng.uniform(0, 2 * np.pi, 12))
        poly = np.stack([cx + r * np.cos(phi), cy + r * np.sin(phi)])
        cov = rf_to_grid([poly], (360, 360), grid=16)
        assert cov.sum() * 22.5 ** 2 == pytest.approx(polygon_area(poly), rel=1e-5)  # float32 output


def test_rf_outside_the_frame_and_non_square_frames():
    cov = rf_to_grid([_rect(-50, -50, -10, -10), _rect(-10, -10, 10, 10)], (360, 360), grid=16)
    assert cov[0].sum() == 0
    assert cov[1, 0, 0] == pytest.approx(100 / 22.5 ** 2)
    cov = rf_to_grid([_rect(0, 0, 20, 10)], (160, 320), grid=16)  # patches of 20 × 10 px
    assert cov[0, 0, 0] == pytest.approx(1.0)


def test_rf_bad_polygon_is_named():
    with pytest.raises(ValueError, match=r"rf_contours\[0\]: expected a \[2, K\] polygon"):
        rf_to_grid([np.zeros((3, 5))], (360, 360))


# --- splits and windows ---------------------------------------------------------------------

def test_halves_and_blocks_are_contiguous_and_disjoint():
    s = split(1800)
    assert s.train == ((0, 900),) and s.test == ((900, 1800),)
    b = split(1600, "blocks", block=300)
    tr, te = set(b.indices("train")), set(b.indices("test"))
    assert not tr & te and len(tr | te) == 1600
    assert all(bb - a == 300 or bb == 1600 for a, bb in b.train + b.test)
    g = split(1800, "halves", gap=30)
    assert g.train == ((0, 870),)
    with pytest.raises(ValueError, match="unknown split scheme 'frames'"):
        split(100, "frames")


def test_window_sampler_stays_inside_segments():
    segs = ((0, 200), (400, 530))
    sampler = WindowSampler(segs, window=128, batch=16, batches_per_epoch=20, seed=1)
    assert len(sampler) == 20
    for starts in sampler:
        assert starts.shape == (16,)
        for s0 in starts:
            assert any(a <= s0 and s0 + 128 <= b for a, b in segs)
    with pytest.raises(ValueError, match="at most the longest segment"):
        WindowSampler(((0, 100),), window=128)
