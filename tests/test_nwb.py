"""NWB recordings: vist.data.load("file.nwb") and Recording.to_nwb, and clear errors for bad files."""

import json
from datetime import datetime, timezone

import numpy as np
import pytest

pynwb = pytest.importorskip("pynwb")

from pynwb import NWBHDF5IO, NWBFile  # noqa: E402
from pynwb.image import ImageSeries, OpticalSeries  # noqa: E402

from vist.data import NWBLayoutError, Recording, load  # noqa: E402

FPS = 30.0


def _same(a: Recording, b: Recording) -> None:
    assert a.name == b.name and a.source == b.source and a.fps == b.fps
    for field in ("frames", "spikes", "true_rates"):
        x, y = getattr(a, field), getattr(b, field)
        assert x.dtype == y.dtype and np.array_equal(x, y), field
    assert len(a.rf_contours) == len(b.rf_contours)
    for x, y in zip(a.rf_contours, b.rf_contours, strict=True):
        assert x.dtype == y.dtype and np.array_equal(x, y)
    assert a.meta == json.loads(json.dumps(b.meta))  # as after a .npz round trip: tuples → lists


def test_virtual_retina_round_trips_through_nwb(tmp_path):
    rec = load("synthetic", "mov1", trials=3, n_frames=40, cache=False)
    path = rec.to_nwb(tmp_path / "retina.nwb")
    assert path == tmp_path / "retina.nwb" and not list(tmp_path.glob("*.tmp"))
    back = load(str(path))
    _same(back, rec)
    assert back.n_trials == 3 and back.spikes.sum() == rec.spikes.sum() > 0
    with NWBHDF5IO(str(path), "r") as io:  # what another NWB reader sees
        nwb = io.read()
        assert len(nwb.trials) == 3 and len(nwb.units) == rec.n_cells
        assert nwb.stimulus["movie"].rate == FPS
        assert sum(len(nwb.units["spike_times"][i]) for i in range(rec.n_cells)) == rec.spikes.sum()


def _nwb(tmp_path, *, frames=True, units=True, trials=((0.0, 1.0), (2.0, 3.0)), series=ImageSeries,
         spike_scale=1.0, rf=False, timestamps=None, name="bad.nwb"):
    """A small NWB file written with pynwb alone: a 30-frame 8×8 movie, two cells, two trials."""
    nwb = NWBFile(session_description="a test", identifier="test", session_id="t1",
                  session_start_time=datetime(2024, 1, 1, tzinfo=timezone.utc))
    if frames:
        data = np.arange(30 * 8 * 8, dtype=np.uint8).reshape(30, 8, 8)
        extra = ({"distance": 0.1, "field_of_view": [0.1, 0.1], "orientation": "row 0 at the top"}
                 if series is OpticalSeries else {})
        timing = {"rate": FPS} if timestamps is None else {"timestamps": timestamps}
        nwb.add_stimulus(series(name="natural_movie", data=data, unit="n.a.", **timing, **extra))
    else:
        nwb.add_stimulus(pynwb.TimeSeries(name="flash", data=np.zeros(5), unit="n.a.", rate=FPS))
    for start, stop in trials or ():
        nwb.add_trial(start_time=start, stop_time=stop)
    if units:
        if rf:
            nwb.add_unit_column(name="rf_contour", description="[K, 2] polygons", index=True)
        spikes = [np.array([0.01, 0.5, 2.01, 2.02]), np.array([0.99, 2.5])]
        for i, t in enumerate(spikes):
            kw = {"rf_contour": np.array([[1.0, 1.0], [5.0, 1.0], [3.0, 4.0 + i]])} if rf else {}
            nwb.add_unit(spike_times=t * spike_scale, **kw)
    path = tmp_path / name
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path


@pytest.mark.parametrize("series", [ImageSeries, OpticalSeries])
def test_a_file_written_by_other_tools_loads(tmp_path, series):
    rec = load(_nwb(tmp_path, series=series, rf=True))
    assert rec.frames.shape == (30, 8, 8) and rec.spikes.shape == (2, 30, 2) and rec.source == "nwb"
    assert rec.spikes[0, :, 0].sum() == 2 and rec.spikes[0, 0, 0] == 1 and rec.spikes[0, 15, 0] == 1
    assert rec.spikes[1, 0, 0] == 2 and rec.spikes[0, 29, 1] == 1 and rec.spikes[1, 15, 1] == 1
    assert np.array_equal(rec.rf_contours[1], [[1.0, 5.0, 3.0], [1.0, 1.0, 5.0]])
    assert rec.name == "t1" and rec.meta["nwb"]["stimulus"] == "natural_movie"


def test_frame_times_from_timestamps(tmp_path):
    rec = load(_nwb(tmp_path, timestamps=np.arange(30) / FPS))
    assert rec.fps == pytest.approx(FPS) and rec.spikes[0, 15, 0] == 1 and rec.spikes[1, 0, 0] == 2


def test_without_contours_or_trials_the_defaults_are_said(tmp_path):
    rec = load(_nwb(tmp_path, trials=None))
    assert rec.n_trials == 1 and rec.spikes[0, :, 0].sum() == 2  # one presentation from t = 0
    assert np.array_equal(rec.rf_contours[0], [[0, 8, 8, 0], [0, 0, 8, 8]])
    assert "whole frame" in rec.meta["rf_contour"] and "no trials table" in rec.meta["nwb"]["trials"]


@pytest.mark.parametrize("kwargs, message", [
    ({"units": False}, "expected a units table with one row per cell, found no units table"),
    ({"frames": False}, r"expected the movie as an ImageSeries in stimulus or stimulus_template, "
                        r"found stimulus/flash \(TimeSeries\)"),
    ({"trials": ((0.0, 0.5), (2.0, 3.0))}, r"frames and trials do not line up: the movie has 30 "
                                           r"frames at 30 Hz \(1 s\).*trial 0: 0–0.5 s"),
    ({"spike_scale": 1000.0}, r"spike times and trials do not line up.*found all 6 spike times "
                              r"outside them \(10–2500 s"),
])
def test_bad_files_get_a_clear_error(tmp_path, kwargs, message):
    with pytest.raises(NWBLayoutError, match=message):
        load(_nwb(tmp_path, **kwargs))


def test_not_an_nwb_file(tmp_path):
    (tmp_path / "x.nwb").write_bytes(b"not HDF5")
    with pytest.raises(NWBLayoutError, match="expected an NWB .HDF5. file"):
        load(tmp_path / "x.nwb")
    with pytest.raises(FileNotFoundError, match="expected an NWB file"):
        load(tmp_path / "missing.nwb")
    with pytest.raises(NWBLayoutError, match=r"expected an ImageSeries named 'other'.*natural_movie"):
        load(_nwb(tmp_path), stimulus="other")
