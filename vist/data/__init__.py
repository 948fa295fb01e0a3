"""Recordings: the virtual retina (default), the authors' Dryad data, and saved files.

``load(data, movie=..., ...)`` is the single entry point:

* ``load("synthetic", movie="mov1", seed=0, trials=20)`` — the simulated salamander retina;
* ``load("dryad", movie="mov1", root=PATH, recording=1)`` — Onken et al. (2017);
* ``load("path/to/file.npz")`` — a recording saved with :meth:`Recording.save`;
* ``load("path/to/file.nwb", stimulus=None)`` — a Neurodata Without Borders file (e.g. from the
  DANDI archive, or written by :meth:`Recording.to_nwb`); what is read is documented in
  :mod:`vist.data.nwb`;
* ``load(PATH, movie=...)`` with ``PATH`` a folder in the Dryad layout — the same as ``"dryad"``.

May import: vist.cache, vist.metrics (for the reliability of a recording).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vist.data.dryad import DryadLayoutError, load_dryad
from vist.data.nwb import NWBLayoutError, load_nwb
from vist.data.recording import Recording
from vist.data.rf import polygon_area, rf_to_grid
from vist.data.splits import SCHEMES, Split, WindowSampler, split
from vist.data.synthetic import MOVIES, load_synthetic

__all__ = ["MOVIES", "SCHEMES", "DryadLayoutError", "NWBLayoutError", "Recording", "Split",
           "WindowSampler", "describe", "load", "polygon_area", "rf_to_grid", "split"]


def load(data: str | Path = "synthetic", movie: str = "mov1", *, seed: int = 0, trials: int = 20,
         root: str | Path | None = None, recording: int = 1, **kwargs: Any) -> Recording:
    """Load a recording.

    Args:
        data: ``"synthetic"``, ``"dryad"`` (with ``root``), a Dryad-layout folder, a saved
            ``.npz`` recording, or an NWB file (``.nwb``).
        movie: ``"mov1"`` or ``"mov2"`` (ignored for a saved or NWB file).
        seed, trials: the virtual retina and its number of repeats (synthetic only).
        root, recording: the Dryad folder and recording number (1 or 2).
        kwargs: passed to :func:`vist.data.synthetic.load_synthetic` (``n_frames``, ``cache``, …),
            or for an NWB file to :func:`vist.data.nwb.load_nwb` (``stimulus``: the name of the
            movie's image series when the file has several).
    """
    if movie not in MOVIES:
        raise ValueError(f"unknown movie {movie!r}; expected one of {list(MOVIES)}")
    if data == "synthetic":
        return load_synthetic(movie, seed=seed, trials=trials, **kwargs)
    if data == "dryad":
        if root is None:
            raise ValueError("data='dryad' needs root=<folder with Stimuli/ and NeuralData/>")
        return load_dryad(root, movie=movie, recording=recording)
    path = Path(data).expanduser()
    if path.is_dir():
        return load_dryad(path, movie=movie, recording=recording)
    if path.suffix.lower() == ".nwb":
        return load_nwb(path, **kwargs)
    if path.suffix == ".npz" or path.exists():
        return Recording.load(path)
    raise ValueError(f"data: expected 'synthetic', 'dryad', a Dryad-layout folder, a saved .npz "
                     f"recording or an .nwb file, found {str(data)!r} (no such file or folder)")


def describe(rec: Recording) -> str:
    """One line naming the data behind a figure or table, e.g. for captions."""
    return rec.meta.get("description") or f"{rec.name} ({rec.source})"
