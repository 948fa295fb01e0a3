"""The :class:`Recording`: one movie shown repeatedly to one retina, and its on-disk format.

On-disk format (``.npz``, uncompressed; written by :meth:`Recording.save`, read by
:meth:`Recording.load` or ``vist.data.load(path)``):

=================  ==========================  ============================================
entry              dtype / shape               meaning
=================  ==========================  ============================================
``frames``         ``uint8 [T, H, W]``         the movie, grey levels, row 0 at the top
``spikes``         integer ``[trials, T, N]``  spike counts per frame bin and trial
``rf_xy``          ``float64 [2, K_total]``    all RF polygons' vertices, concatenated
                                               (row 0: x = column, row 1: y = row, in frame
                                               pixels; the frame spans ``[0, W] x [0, H]``)
``rf_offsets``     ``int64 [N + 1]``           cell ``c`` owns vertices
                                               ``rf_offsets[c]:rf_offsets[c+1]``
``true_rates``     ``float32 [T, N]``          optional: noise-free expected counts
                                               (simulated recordings only)
``__meta__``       JSON string                 ``name``, ``source``, ``fps``, free metadata,
                                               and SHA-256 digests of every array
=================  ==========================  ============================================

``rates`` (the trial mean of ``spikes``, float32 ``[T, N]``) is not stored: it is recomputed on
load. A file written by hand with :func:`numpy.savez` and these entries loads too (unverified).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from vist import FPS
from vist.cache import load_arrays, save_arrays
from vist.data.nwb_write import write_nwb


@dataclass(frozen=True, eq=False)
class Recording:
    """One movie shown repeatedly to one retina.

    Attributes:
        frames: ``uint8 [T, H, W]`` movie frames.
        spikes: integer ``[trials, T, cells]`` spike counts per frame bin.
        rf_contours: one ``float [2, K]`` polygon per cell (x row, y row), frame pixels.
        name: short identifier, e.g. ``"synthetic-mov1-seed0"``.
        source: where it comes from: ``"synthetic"``, ``"dryad"`` or ``"file"``.
        true_rates: ``float32 [T, cells]`` noise-free expected counts per bin (simulated data
            only), else ``None``.
        meta: free metadata (cell types, simulator parameters, file paths, …); JSON-serialisable.
        fps: frames per second.

    The target of every model, ``rates``, is the trial mean of ``spikes`` (``float32 [T, cells]``,
    spikes per frame bin; the authors' ``spike_avg``).
    """

    frames: np.ndarray
    spikes: np.ndarray
    rf_contours: list[np.ndarray]
    name: str
    source: str
    true_rates: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    fps: float = FPS

    def __post_init__(self) -> None:
        _validate(self)
        object.__setattr__(self, "rates", self.spikes.mean(axis=0, dtype=np.float64).astype(np.float32))

    rates: np.ndarray = field(init=False, repr=False)

    @property
    def n_frames(self) -> int:
        """Number of frames ``T``."""
        return int(self.frames.shape[0])

    @property
    def n_cells(self) -> int:
        """Number of cells."""
        return int(self.spikes.shape[2])

    @property
    def n_trials(self) -> int:
        """Number of repeated trials."""
        return int(self.spikes.shape[0])

    @property
    def frame_shape(self) -> tuple[int, int]:
        """``(H, W)`` in pixels."""
        return int(self.frames.shape[1]), int(self.frames.shape[2])

    def cells(self, index: Any) -> Recording:
        """A recording restricted to the cells ``index`` (an index array, list or slice)."""
        idx = np.arange(self.n_cells)[index]
        idx = np.atleast_1d(idx)
        meta = dict(self.meta)
        for key, value in self.meta.items():  # per-cell metadata lists follow the selection
            if isinstance(value, list) and len(value) == self.n_cells:
                meta[key] = [value[i] for i in idx]
        meta["cell_index"] = [int(self.meta.get("cell_index", range(self.n_cells))[i]) for i in idx]
        return replace(self, spikes=self.spikes[:, :, idx], rf_contours=[self.rf_contours[i] for i in idx],
                       true_rates=None if self.true_rates is None else self.true_rates[:, idx], meta=meta)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the recording in the documented ``.npz`` format (atomically, with digests)."""
        lengths = [c.shape[1] for c in self.rf_contours]
        arrays = {
            "frames": self.frames,
            "spikes": self.spikes,
            "rf_xy": np.concatenate(self.rf_contours, axis=1) if self.rf_contours else np.zeros((2, 0)),
            "rf_offsets": np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        }
        if self.true_rates is not None:
            arrays["true_rates"] = self.true_rates
        meta = {"name": self.name, "source": self.source, "fps": self.fps, "meta": self.meta}
        return save_arrays(path, arrays, meta)

    def to_nwb(self, path: str | os.PathLike[str]) -> Path:
        """Write the recording as a Neurodata Without Borders file (atomically); read it back with
        ``vist.data.load(path)``. The layout is documented in :mod:`vist.data.nwb`."""
        return write_nwb(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str], verify: bool = True) -> Recording:
        """Read a recording written by :meth:`save` (or by hand in the same format).

        Raises:
            FileNotFoundError: no file at ``path``.
            vist.cache.CacheError: unreadable file or digest mismatch.
            ValueError: a required entry is missing or arrays disagree in shape.
        """
        arrays, meta = load_arrays(path, verify=verify)
        missing = [k for k in ("frames", "spikes", "rf_xy", "rf_offsets") if k not in arrays]
        if missing:
            raise ValueError(f"{path}: expected entries frames, spikes, rf_xy, rf_offsets; "
                             f"missing {missing} (found {sorted(arrays)})")
        off = arrays["rf_offsets"]
        contours = [arrays["rf_xy"][:, off[i]:off[i + 1]] for i in range(len(off) - 1)]
        return cls(frames=arrays["frames"], spikes=arrays["spikes"], rf_contours=contours,
                   name=meta.get("name", Path(path).stem), source=meta.get("source", "file"),
                   true_rates=arrays.get("true_rates"), meta=meta.get("meta", {}),
                   fps=float(meta.get("fps", FPS)))


def _validate(rec: Recording) -> None:
    """Check shapes, dtypes and values; raise ``ValueError`` naming expected and found."""
    f, s = rec.frames, rec.spikes
    if not isinstance(f, np.ndarray) or f.dtype != np.uint8 or f.ndim != 3:
        raise ValueError(f"frames: expected a uint8 array [T, H, W], found "
                         f"{getattr(f, 'dtype', type(f).__name__)} with shape {getattr(f, 'shape', None)}")
    if not isinstance(s, np.ndarray) or s.ndim != 3:
        raise ValueError(f"spikes: expected an array [trials, T, cells], found shape {getattr(s, 'shape', None)}")
    if not np.issubdtype(s.dtype, np.integer):
        if not np.all(np.isfinite(s)):
            raise ValueError("spikes: expected finite spike counts, found NaN or inf")
        if np.any(s != np.round(s)):
            raise ValueError(f"spikes: expected integer spike counts, found non-integer {s.dtype} values")
    if np.any(s < 0):
        raise ValueError(f"spikes: expected non-negative counts, found minimum {s.min()}")
    if s.shape[1] != f.shape[0]:
        raise ValueError(f"spikes cover {s.shape[1]} frame bins but frames has {f.shape[0]} frames")
    if s.shape[0] < 1:
        raise ValueError("spikes: expected at least one trial, found 0")
    if len(rec.rf_contours) != s.shape[2]:
        raise ValueError(f"rf_contours: expected one polygon per cell ({s.shape[2]}), found {len(rec.rf_contours)}")
    for i, c in enumerate(rec.rf_contours):
        c = np.asarray(c)
        if c.ndim != 2 or c.shape[0] != 2 or c.shape[1] < 3:
            raise ValueError(f"rf_contours[{i}]: expected a [2, K] polygon with K >= 3, found shape {c.shape}")
        if not np.all(np.isfinite(c)):
            raise ValueError(f"rf_contours[{i}]: expected finite coordinates, found NaN or inf")
    t = rec.true_rates
    if t is not None:
        if t.shape != s.shape[1:]:
            raise ValueError(f"true_rates: expected shape {s.shape[1:]} [T, cells], found {t.shape}")
        if not np.all(np.isfinite(t)) or np.any(t < 0):
            raise ValueError("true_rates: expected finite non-negative rates, found NaN, inf or negative values")
