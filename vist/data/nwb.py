"""Recordings in Neurodata Without Borders (NWB 2) files, the format of the DANDI archive.

``vist.data.load("path/file.nwb")`` reads one with :func:`load_nwb`; :meth:`Recording.to_nwb`
(:func:`write_nwb`) writes one. Read with ``pynwb``; what is read:

=========================  ===================================================================
NWB                        becomes
=========================  ===================================================================
``stimulus`` (or           the movie: one ``ImageSeries`` (an ``OpticalSeries`` is one),
``stimulus_template``)     ``data`` ``[T, H, W]`` grey levels (``uint8``, or integers in
                           0..255; ``[T, H, W, 1]`` is squeezed), row 0 at the top; frame
                           rate from ``rate`` or from evenly spaced ``timestamps`` (then one per
                           frame). With several image series, pass ``stimulus=NAME``.
``trials``                 the repeats: each row is one presentation of the whole movie, frame
                           ``k`` shown during ``start_time + [k, k + 1) / rate`` seconds; every
                           trial must last at least the movie (``stop_time − start_time ≥ T /
                           rate``). No trials table: one presentation starting at the image
                           series' ``starting_time`` (or first timestamp).
``units.spike_times``      the cells, in table order: spikes are counted per frame bin and trial
                           (bin ``k`` counts spikes in ``start_time + [k, k + 1) / rate``;
                           spikes outside every trial are dropped), giving ``spikes [trials, T,
                           cells]``.
``units.rf_contour``       optional ragged column, one ``[K, 2]`` polygon (x = column, y = row,
                           frame pixels, the frame spanning ``[0, W] × [0, H]``) per unit; the
                           receptive-field contours. Without it every cell gets the whole frame
                           as its contour (``meta["rf_contour"]`` says so).
``units.true_rate``        optional ``[T]`` per unit: noise-free expected counts per bin
                           (simulated recordings).
``scratch/vist_recording`` optional JSON written by :func:`write_nwb`: the Recording's name,
                           source, metadata and spike dtype, so a round trip is exact.
=========================  ===================================================================

:func:`write_nwb` stores exactly these: the movie as an ``ImageSeries`` named ``movie`` in
``stimulus`` (rate = the recording's fps), one trial per repeat separated by
:data:`INTER_TRIAL_S` seconds, and, since a :class:`Recording` holds spike counts per frame bin,
not spike times, each bin's ``c`` spikes at evenly spaced times inside the bin
(``(k + j / (c + 1)) / fps``, ``j = 1..c``), which bin back to the same counts.

A file that does not fit raises :class:`NWBLayoutError` (a ``ValueError``) naming what was
expected and what was found. The writer lives in :mod:`vist.data.nwb_write` (below
:class:`Recording`, whose :meth:`~Recording.to_nwb` calls it); it is re-exported here.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from vist.data.nwb_write import INTER_TRIAL_S, META_NAME, write_nwb
from vist.data.recording import Recording


class NWBLayoutError(ValueError):
    """An NWB file lacks what a recording needs, or its parts do not line up; the message says
    what was expected and what was found."""


def _image_series(nwb: Any, path: Path, stimulus: str | None) -> Any:
    from pynwb.image import ImageSeries  # lazy: pynwb takes seconds to import, only for NWB files

    found = {}
    for group in ("stimulus", "stimulus_template"):
        for name, obj in getattr(nwb, group, {}).items():
            found.setdefault(name, (group, obj))
    images = {n: o for n, (_, o) in found.items() if isinstance(o, ImageSeries)}
    listing = ", ".join(f"{g}/{n} ({type(o).__name__})" for n, (g, o) in found.items()) or "nothing"
    if stimulus is not None:
        if stimulus not in images:
            raise NWBLayoutError(f"{path}: expected an ImageSeries named {stimulus!r} in stimulus "
                                 f"or stimulus_template, found {listing}")
        return images[stimulus]
    if not images:
        raise NWBLayoutError(f"{path}: expected the movie as an ImageSeries in stimulus or "
                             f"stimulus_template, found {listing}")
    if len(images) > 1:
        raise NWBLayoutError(f"{path}: expected one ImageSeries, found {sorted(images)}; "
                             f"choose one with stimulus=NAME")
    return next(iter(images.values()))


def _frames(series: Any, path: Path) -> np.ndarray:
    where = f"{path}: stimulus {series.name!r}"
    if getattr(series, "external_file", None) is not None and len(series.external_file):
        raise NWBLayoutError(f"{where}: expected its frames stored in the file, found them in "
                             f"external files {list(series.external_file)[:3]}")
    frames = np.asarray(series.data[:])
    if frames.ndim == 4 and frames.shape[-1] == 1:
        frames = frames[..., 0]
    if frames.ndim != 3 or frames.shape[0] < 1:
        raise NWBLayoutError(f"{where}: expected grey-level frames [T, H, W], found shape {frames.shape}")
    if frames.dtype != np.uint8:
        if not np.issubdtype(frames.dtype, np.integer) or frames.min() < 0 or frames.max() > 255:
            raise NWBLayoutError(f"{where}: expected uint8 grey levels (or integers in 0..255), found "
                                 f"{frames.dtype} in [{frames.min()}, {frames.max()}]")
        frames = frames.astype(np.uint8)
    return frames


def _timing(series: Any, n_frames: int, path: Path) -> tuple[float, float]:
    """The frame rate and the time of the first frame."""
    where = f"{path}: stimulus {series.name!r}"
    if series.rate is not None:
        if not np.isfinite(series.rate) or series.rate <= 0:
            raise NWBLayoutError(f"{where}: expected a positive frame rate, found {series.rate}")
        return float(series.rate), float(series.starting_time or 0.0)
    stamps = series.timestamps
    if stamps is None:
        raise NWBLayoutError(f"{where}: expected a frame rate or timestamps, found neither")
    stamps = np.asarray((stamps.timestamps if hasattr(stamps, "timestamps") else stamps)[:], np.float64)
    if stamps.shape != (n_frames,):
        raise NWBLayoutError(f"{where}: frames and timestamps do not line up: expected one timestamp "
                             f"per frame ({n_frames}), found {stamps.shape[0]}")
    step = np.diff(stamps)
    if n_frames < 2 or np.any(step <= 0) or np.ptp(step) > 0.01 * np.median(step):
        raise NWBLayoutError(f"{where}: expected evenly spaced, increasing timestamps (or a rate), "
                             f"found steps between {step.min(initial=0):.6g} and "
                             f"{step.max(initial=0):.6g} s")
    return float(1.0 / np.median(step)), float(stamps[0])


def _count(times: np.ndarray, starts: np.ndarray, fps: float, n_frames: int) -> np.ndarray:
    """Spike counts ``[trials, T]`` of one unit: bin ``k`` of trial ``r`` counts the spikes in
    ``starts[r] + [k, k + 1) / fps``."""
    counts = np.zeros((len(starts), n_frames), np.int64)
    for r, start in enumerate(starts):
        k = np.floor((times - start) * fps)
        k = k[(k >= 0) & (k < n_frames)].astype(np.int64)
        counts[r] = np.bincount(k, minlength=n_frames)
    return counts


def load_nwb(path: str | os.PathLike[str], stimulus: str | None = None) -> Recording:
    """Read a recording from an NWB file (the layout is in this module's docstring).

    Args:
        path: the ``.nwb`` file.
        stimulus: the name of the movie's image series, when the file has several.

    Raises:
        FileNotFoundError: no file at ``path``.
        NWBLayoutError: not a readable NWB file; no units or no spike times; no image series;
            frames, trials and spike times that do not line up.
    """
    from pynwb import NWBHDF5IO  # lazy: pynwb takes seconds to import, only for NWB files

    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"expected an NWB file at {path}, found nothing there")
    try:
        io = NWBHDF5IO(str(path), "r")
    except Exception as err:  # h5py's OSError for a non-HDF5 or truncated file, and friends
        raise NWBLayoutError(f"{path}: expected an NWB (HDF5) file, could not open it ({err})") from err
    with io:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # namespace-version chatter of older files
                nwb = io.read()
        except Exception as err:
            raise NWBLayoutError(f"{path}: expected an NWB file, could not read it ({err})") from err
        series = _image_series(nwb, path, stimulus)
        frames = _frames(series, path)
        n_frames = frames.shape[0]
        fps, first = _timing(series, n_frames, path)

        units = nwb.units
        if units is None or len(units) == 0:
            raise NWBLayoutError(f"{path}: expected a units table with one row per cell, found "
                                 f"{'no units table' if units is None else 'an empty one'}")
        if "spike_times" not in units.colnames:
            raise NWBLayoutError(f"{path}: expected a spike_times column in the units table, found "
                                 f"{list(units.colnames)}")
        times = [np.asarray(units["spike_times"][i], np.float64) for i in range(len(units))]
        unit_ids = [int(i) for i in units.id[:]]

        trials = nwb.trials
        if trials is None or len(trials) == 0:
            starts = np.array([first])
            stops = starts + n_frames / fps
            trial_note = "no trials table: one presentation"
        else:
            starts = np.asarray(trials["start_time"][:], np.float64)
            stops = np.asarray(trials["stop_time"][:], np.float64)
            trial_note = f"{len(starts)} trials"
        movie_s = n_frames / fps
        short = np.flatnonzero(stops - starts < movie_s - 0.5 / fps)
        if short.size:
            i = int(short[0])
            raise NWBLayoutError(
                f"{path}: frames and trials do not line up: the movie has {n_frames} frames at "
                f"{fps:g} Hz ({movie_s:.6g} s), expected every trial to last that long, found "
                f"{short.size} shorter (trial {i}: {starts[i]:.6g}–{stops[i]:.6g} s)")

        spikes = np.stack([_count(t, starts, fps, n_frames) for t in times], axis=2)
        n_all = sum(len(t) for t in times)
        if n_all and not spikes.any():
            lo, hi = min(t.min() for t in times if len(t)), max(t.max() for t in times if len(t))
            raise NWBLayoutError(
                f"{path}: spike times and trials do not line up: expected spikes within the "
                f"trials ({starts.min():.6g}–{stops.max():.6g} s), found all {n_all} spike times "
                f"outside them ({lo:.6g}–{hi:.6g} s; spike times are in seconds)")

        height, width = frames.shape[1:]
        if "rf_contour" in units.colnames:
            contours = [np.asarray(units["rf_contour"][i], np.float64).reshape(-1, 2).T.copy()
                        for i in range(len(units))]
            rf_note = "units.rf_contour"
        else:
            whole = np.array([[0.0, width, width, 0.0], [0.0, 0.0, height, height]])
            contours = [whole.copy() for _ in unit_ids]
            rf_note = "none in the file: every cell's contour is the whole frame"
        true_rates = None
        if "true_rate" in units.colnames:
            true_rates = np.stack([np.asarray(units["true_rate"][i]) for i in range(len(units))],
                                  axis=1).astype(np.float32)
            if true_rates.shape != (n_frames, len(unit_ids)):
                raise NWBLayoutError(f"{path}: expected units.true_rate with {n_frames} values per "
                                     f"unit (one per frame), found shape {true_rates.shape[::-1]}")

        stored: dict[str, Any] = {}
        if META_NAME in nwb.scratch:
            try:
                stored = json.loads(_text(nwb.scratch[META_NAME].data))
            except (ValueError, TypeError) as err:
                raise NWBLayoutError(f"{path}: expected scratch/{META_NAME} to hold a JSON object, "
                                     f"could not parse it ({err})") from err
            if not isinstance(stored, dict):
                raise NWBLayoutError(f"{path}: expected scratch/{META_NAME} to hold a JSON object, "
                                     f"found {type(stored).__name__}")
        if stored:
            meta = stored.get("meta", {})
            name, source = stored.get("name", path.stem), stored.get("source", "nwb")
            fps = float(stored.get("fps", fps))
            spikes = spikes.astype(stored.get("spikes_dtype", spikes.dtype))
        else:
            name = nwb.session_id or path.stem
            source = "nwb"
            meta = {"description": f"{nwb.session_description} ({path.name}, NWB)",
                    "nwb": {"file": str(path), "identifier": nwb.identifier,
                            "stimulus": series.name, "trials": trial_note, "units": unit_ids},
                    "rf_contour": rf_note}
            spikes = spikes.astype(np.uint8 if spikes.max(initial=0) <= 255 else np.int32)
    return Recording(frames=frames, spikes=spikes, rf_contours=contours, name=name, source=source,
                     true_rates=true_rates, meta=meta, fps=fps)


def _text(data: Any) -> str:
    data = data[()] if hasattr(data, "shape") else data
    if isinstance(data, np.ndarray):
        data = data.item()
    return data.decode() if isinstance(data, bytes) else str(data)


__all__ = ["INTER_TRIAL_S", "NWBLayoutError", "load_nwb", "write_nwb"]
