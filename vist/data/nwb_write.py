"""Writing a recording as a Neurodata Without Borders file: :func:`write_nwb`, the writer behind
:meth:`vist.data.Recording.to_nwb`. The layout, and the reader, are in :mod:`vist.data.nwb`, which
re-exports these names; this module sits below :mod:`vist.data.recording` (it imports nothing of
it), so that the recording can call the writer without an import cycle.
"""

from __future__ import annotations

import os
import uuid
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from vist.cache import atomic_path, dumps_strict

if TYPE_CHECKING:
    from vist.data.recording import Recording

INTER_TRIAL_S = 1.0
"""Seconds between the end of one presentation and the start of the next in written files."""

META_NAME = "vist_recording"
"""Name of the scratch entry holding the Recording's name, source, fps, metadata and spike dtype."""


def _spike_times(counts: np.ndarray, starts: np.ndarray, fps: float) -> np.ndarray:
    """Spike times of one unit from its counts ``[trials, T]``: ``c`` spikes evenly inside each
    bin, at ``start + (k + j / (c + 1)) / fps`` for ``j = 1..c``."""
    out = []
    for r, start in enumerate(starts):
        c = counts[r].astype(np.int64)
        k = np.repeat(np.arange(len(c)), c)
        j = np.arange(len(k)) - np.repeat(np.cumsum(c) - c, c) + 1  # 1..c within each bin
        out.append(start + (k + j / (c[k] + 1)) / fps)
    return np.concatenate(out) if out else np.zeros(0)


def write_nwb(rec: Recording, path: str | os.PathLike[str]) -> Path:
    """Write ``rec`` as an NWB file at ``path`` (atomically); the layout is in the module docstring."""
    from pynwb import NWBHDF5IO, NWBFile  # lazy: pynwb takes seconds to import, only for NWB files
    from pynwb.image import ImageSeries  # lazy: as above

    path = Path(path)
    T, fps = rec.n_frames, float(rec.fps)
    starts = np.arange(rec.n_trials) * (T / fps + INTER_TRIAL_S)
    nwb = NWBFile(session_description=rec.meta.get("description") or rec.name,
                  identifier=str(uuid.uuid4()), session_id=rec.name,
                  session_start_time=datetime(1970, 1, 1, tzinfo=timezone.utc),
                  source_script="vist.data.nwb.write_nwb", source_script_file_name="vist/data/nwb.py")
    nwb.add_stimulus(ImageSeries(name="movie", data=rec.frames, unit="grey level (0-255)", rate=fps,
                                 starting_time=0.0, format="raw",
                                 description="the movie, uint8 [T, H, W], row 0 at the top; shown "
                                             "once per trial from the trial's start_time"))
    for start in starts:
        nwb.add_trial(start_time=float(start), stop_time=float(start + T / fps))
    nwb.add_unit_column(name="rf_contour", index=True,
                        description="receptive-field contour, [K, 2] vertices (x = column, y = row) "
                                    "in frame pixels, the frame spanning [0, W] x [0, H]")
    if rec.true_rates is not None:
        nwb.add_unit_column(name="true_rate", description="noise-free expected spike count per frame "
                                                          "bin (simulated recording)")
    for c in range(rec.n_cells):
        extra = {} if rec.true_rates is None else {"true_rate": rec.true_rates[:, c]}
        nwb.add_unit(spike_times=_spike_times(rec.spikes[:, :, c], starts, fps),
                     rf_contour=np.asarray(rec.rf_contours[c], np.float64).T, **extra)
    stored = {"name": rec.name, "source": rec.source, "fps": rec.fps, "meta": rec.meta,
              "spikes_dtype": rec.spikes.dtype.str}
    nwb.add_scratch(dumps_strict(stored), name=META_NAME,
                    description="vist: the Recording's name, source, fps, metadata and spike dtype")
    with atomic_path(path) as tmp, warnings.catch_warnings():
        # the temporary file is named *.nwb.tmp until it is renamed into place
        warnings.filterwarnings("ignore", message=r"The file path provided: .* does not end in '\.nwb'")
        with NWBHDF5IO(str(tmp), "w") as io:
            io.write(nwb)
    return path


__all__ = ["INTER_TRIAL_S", "META_NAME", "write_nwb"]
