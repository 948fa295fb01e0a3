"""Reader for the authors' data: Onken et al. (2017), Dryad doi:10.5061/dryad.4ch10.

Expected layout under ``root`` (from the data set's README)::

    Stimuli/Movie1/         one raw uint8 file per frame, 360×360, column-major (MATLAB order);
    Stimuli/Movie2/         files are ordered by the (last) number in their name, which must run
                            1..T (or 0..T-1) without gaps or duplicates
    NeuralData/Spikes/      Movie1Exp1.mat, Movie2Exp1.mat, Movie1Exp2.mat, Movie2Exp2.mat:
                            a variable ``Spikes``, a cell array neurons × trials of spike times
                            in ms after stimulus onset
    NeuralData/ReceptiveFields/*.mat
                            a variable ``ReceptiveFields``, a cell array with one 2×K contour
                            (x row, y row; image pixels) per neuron

The spike files' names are crosswise: ``Movie1Exp1`` is recording 1 watching movie 1,
``Movie2Exp2`` recording 2 watching movie 1, ``Movie2Exp1`` recording 1 watching movie 2 and
``Movie1Exp2`` recording 2 watching movie 2. Both MATLAB v5 (read with scipy) and v7.3 (HDF5,
read with h5py) files are accepted.

Choices written down here:

* spikes are binned at the frame period (1000/30 ms) from stimulus onset: bin ``k`` counts spikes
  in ``[k, k + 1) · 33.33 ms``; spikes before onset or after the last frame are dropped;
* contour coordinates are MATLAB's 1-based pixel-centre coordinates; we subtract 0.5 so that the
  frame spans ``[0, 360] × [0, 360]`` as everywhere else in vist;
* with several receptive-field files, the one whose name contains ``Exp<recording>`` is used;
* a movie folder must hold exactly its frames: every file named alike (the same name around the
  frame number), numbered 1..T (or 0..T-1) with no number missing or repeated — a lost or an extra
  frame would shift every later frame against the spikes — and the spike trains must not run on
  past the movie's last frame by more than :data:`TIME_BASE_TOLERANCE_S` in most trials (which
  means frames are missing at the end). Anything else is a :class:`DryadLayoutError` naming the
  files.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
from scipy.io import loadmat, whosmat

from vist import FPS
from vist.data.recording import Recording

FRAME_SHAPE = (360, 360)
MOVIE_FOLDERS = {"mov1": "Movie1", "mov2": "Movie2"}
SPIKE_FILES = {(1, "mov1"): "Movie1Exp1", (2, "mov1"): "Movie2Exp2",
               (1, "mov2"): "Movie2Exp1", (2, "mov2"): "Movie1Exp2"}
TIME_BASE_TOLERANCE_S = 1.0
"""How far past the movie's last frame the spike trains of most trials may run (seconds) before
the movie folder counts as missing frames at its end."""


class DryadLayoutError(ValueError):
    """The folder does not match the Onken et al. (2017) layout; the message names what differs."""


def _require(path: Path, what: str) -> Path:
    if not path.exists():
        raise FileNotFoundError(f"expected {what} at {path}, found nothing there")
    return path


def _listing(items: list, limit: int = 10) -> str:
    shown = ", ".join(str(i) for i in items[:limit])
    return shown + (f", … ({len(items)} in all)" if len(items) > limit else "")


def frame_files(folder: Path) -> list[Path]:
    """The frame files of a movie folder in frame order, checked to be exactly the movie's frames.

    The frame number is the last number in a file's name. Every file must be named like the
    others around that number (the most common pattern, e.g. ``frame_#.raw``), and the numbers
    must run 1..T (or 0..T-1) with none missing or repeated. Hidden files are ignored.

    Raises:
        DryadLayoutError: naming the missing frames, the duplicated numbers and the extra files.
    """
    _require(folder, "a folder of raw frame files")
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        raise DryadLayoutError(f"expected raw frame files in {folder}, found none")
    parsed = []  # (number, digits, pattern, path)
    unnumbered = []
    for p in files:
        m = re.search(r"\d+(?=\D*$)", p.stem)  # the last number
        if m is None:
            unnumbered.append(p.name)
            continue
        parsed.append((int(m.group()), m.group(), p.stem[:m.start()] + "#" + p.stem[m.end():] + p.suffix, p))
    if not parsed:
        raise DryadLayoutError(f"expected a frame number in every file name in {folder}, found "
                               f"{_listing(unnumbered)}")
    counts = Counter(pattern for _, _, pattern, _ in parsed)
    pattern = min(counts, key=lambda k: (-counts[k], k))  # the most common (ties: the first)
    extra = unnumbered + [p.name for _, _, pat, p in parsed if pat != pattern]
    by_number: dict[int, list[Path]] = defaultdict(list)
    widths = set()
    for number, digits, pat, p in parsed:
        if pat == pattern:
            by_number[number].append(p)
            widths.add(len(digits))
    start = 0 if 0 in by_number else 1
    last = max(by_number)
    missing = [k for k in range(start, last + 1) if k not in by_number]
    duplicated = {k: sorted(p.name for p in ps) for k, ps in by_number.items() if len(ps) > 1}
    problems = []
    if missing:
        width = widths.pop() if len(widths) == 1 and any(d.startswith("0") for _, d, pat, _ in parsed
                                                          if pat == pattern) else 0
        names = [pattern.replace("#", f"{k:0{width}d}") for k in missing]
        problems.append(f"missing frame{'s' if len(missing) > 1 else ''} {_listing(names)}")
    if duplicated:
        problems.append("several files for frame " + "; ".join(
            f"{k}: {', '.join(v)}" for k, v in sorted(duplicated.items())))
    if extra:
        problems.append(f"extra file{'s' if len(extra) > 1 else ''} not named like {pattern!r}: "
                        f"{_listing(sorted(extra))}")
    if problems:
        raise DryadLayoutError(f"{folder}: expected one file per frame named like {pattern!r}, numbered "
                               f"{start}..{last} without gaps or duplicates; found " + "; ".join(problems))
    return [by_number[k][0] for k in range(start, last + 1)]


def read_frames(folder: Path, frame_shape: tuple[int, int] = FRAME_SHAPE) -> np.ndarray:
    """All raw frames of a movie folder, ``uint8 [T, H, W]`` (row 0 at the top).

    The files are checked to be exactly the movie's frames (:func:`frame_files`).
    """
    numbered = list(enumerate(frame_files(folder)))
    size = frame_shape[0] * frame_shape[1]
    frames = np.empty((len(numbered), *frame_shape), np.uint8)
    for i, (_, p) in enumerate(numbered):
        raw = p.read_bytes()
        if len(raw) != size:
            raise DryadLayoutError(f"{p}: expected a raw {frame_shape[0]}×{frame_shape[1]} uint8 frame "
                                   f"({size} bytes), found {len(raw)} bytes")
        # MATLAB writes column-major: read as [W, H] in C order, then transpose.
        frames[i] = np.frombuffer(raw, np.uint8).reshape(frame_shape[1], frame_shape[0]).T
    return frames


def _is_hdf5(path: Path) -> bool:
    import h5py  # lazy: h5py only for MATLAB v7.3 files

    return bool(h5py.is_hdf5(path))


def read_cell_array(path: Path, variable: str) -> list[list[np.ndarray]]:
    """A 2-D MATLAB cell array of numeric arrays as nested lists ``[row][column]`` (MATLAB order).

    A 1-D cell array of cell arrays (one per row) is accepted too. Each element is flattened to
    ``float64 [n]`` unless it is 2-D with a side of 2, which is kept as ``[2, K]`` or ``[K, 2]``.
    """
    _require(path, f"a MATLAB file with a variable {variable!r}")
    if _is_hdf5(path):
        try:
            return _read_cell_array_v73(path, variable)
        except DryadLayoutError:
            raise
        except (OSError, KeyError, ValueError, TypeError, RuntimeError) as err:  # h5py: truncated, damaged
            raise DryadLayoutError(f"{path}: expected a readable MATLAB v7.3 (HDF5) file, could not read "
                                   f"it ({type(err).__name__}: {err}); the file may be truncated") from err
    try:
        data = loadmat(path, variable_names=[variable])
    except Exception as err:  # scipy raises several types for bad files
        raise DryadLayoutError(f"{path}: expected a MATLAB v5 or v7.3 file, could not read it ({err})") from err
    if variable not in data:
        found = sorted(name for name, _, _ in whosmat(path))
        raise DryadLayoutError(f"{path}: expected a variable {variable!r}, found {found}")
    arr = data[variable]
    if arr.dtype != object:
        raise DryadLayoutError(f"{path}: expected {variable!r} to be a cell array, found a {arr.dtype} array")
    rows = []
    for r in range(arr.shape[0]):
        row = []
        for c in range(arr.shape[1]):
            el = arr[r, c]
            if el.dtype == object:  # nested cell array (per-row lists)
                row += [np.asarray(e, dtype=np.float64) for e in el.ravel()]
            else:
                row.append(np.asarray(el, dtype=np.float64))
        rows.append(row)
    return rows


def _read_cell_array_v73(path: Path, variable: str) -> list[list[np.ndarray]]:
    import h5py  # lazy: h5py only for MATLAB v7.3 files

    def deref(f: h5py.File, ds: h5py.Dataset):
        if ds.attrs.get("MATLAB_empty", 0):
            return np.zeros(0)
        if ds.dtype == h5py.ref_dtype:
            # A nested cell: HDF5 stores MATLAB arrays transposed.
            return [deref(f, f[ref]) for ref in np.asarray(ds).T.ravel()]
        return np.asarray(ds, dtype=np.float64).T

    with h5py.File(path, "r") as f:
        if variable not in f:
            raise DryadLayoutError(f"{path}: expected a variable {variable!r}, found {sorted(k for k in f if not k.startswith('#'))}")
        ds = f[variable]
        if ds.dtype != h5py.ref_dtype:
            raise DryadLayoutError(f"{path}: expected {variable!r} to be a cell array, found a {ds.dtype} array")
        refs = np.asarray(ds).T  # back to MATLAB's row × column order
        rows = []
        for r in range(refs.shape[0]):
            row = []
            for ref in refs[r]:
                el = deref(f, f[ref])
                row += el if isinstance(el, list) else [el]
            rows.append(row)
    return rows


def bin_spikes(times_ms: list[list[np.ndarray]], n_frames: int, fps: float = FPS) -> np.ndarray:
    """Spike times ``[neuron][trial]`` (ms after onset) → counts ``uint16 [trials, T, neurons]``.

    Bin ``k`` counts spikes in ``[k, k + 1)`` frame periods; spikes outside ``[0, T)`` periods
    are dropped.

    Raises:
        DryadLayoutError: neurons with different trial counts, or non-finite spike times.
    """
    n_trials = {len(row) for row in times_ms}
    if len(n_trials) != 1:
        counts = [len(row) for row in times_ms]
        first_bad = next(i for i, c in enumerate(counts) if c != counts[0])
        raise DryadLayoutError(f"expected the same number of trials for every neuron, found "
                               f"{counts[0]} for neuron 0 and {counts[first_bad]} for neuron {first_bad}")
    trials = n_trials.pop()
    period = 1000.0 / fps
    out = np.zeros((trials, n_frames, len(times_ms)), np.uint16)
    for n, row in enumerate(times_ms):
        for k, t in enumerate(row):
            t = np.ravel(t)
            if not np.all(np.isfinite(t)):
                raise DryadLayoutError(f"neuron {n}, trial {k}: expected finite spike times in ms, found NaN or inf")
            b = np.floor(t / period).astype(np.int64)
            b = b[(b >= 0) & (b < n_frames)]
            out[k, :, n] = np.bincount(b, minlength=n_frames)
    return out


def check_time_base(times_ms: list[list[np.ndarray]], n_frames: int, folder: Path, spike_path: Path,
                    fps: float = FPS, tolerance_s: float = TIME_BASE_TOLERANCE_S) -> None:
    """Check that the movie in ``folder`` lasts as long as the spike trains of ``spike_path``.

    Spike times count from stimulus onset; if in most trials spikes keep coming more than
    ``tolerance_s`` after the last frame of ``n_frames``, the folder lacks frames at its end.

    Raises:
        DryadLayoutError: naming both files, the movie's duration and the spikes'.
    """
    n_trials = len(times_ms[0]) if times_ms else 0
    last = []
    for k in range(n_trials):
        ends = [float(np.max(row[k])) for row in times_ms if np.size(row[k])]
        if ends:
            last.append(max(ends))
    end_ms = n_frames * 1000.0 / fps
    past = sorted(t for t in last if t > end_ms + 1000.0 * tolerance_s)
    if last and len(past) > len(last) / 2:
        typical = past[len(past) // 2]
        raise DryadLayoutError(
            f"{folder} holds {n_frames} frames ({end_ms / 1000:.2f} s at {fps:g} frames/s) but in "
            f"{len(past)} of {len(last)} trials of {spike_path.name} spikes go on to {typical / 1000:.2f} s "
            f"after onset: frames are missing at the end of the movie (the spikes span about "
            f"{int(np.ceil(typical * fps / 1000.0))} frames)")


def _contour(el: np.ndarray, i: int, path: Path) -> np.ndarray:
    el = np.asarray(el, dtype=np.float64)
    if el.ndim == 2 and el.shape[0] != 2 and el.shape[1] == 2:
        el = el.T
    if el.ndim != 2 or el.shape[0] != 2 or el.shape[1] < 3:
        raise DryadLayoutError(f"{path}: expected contour {i} to be a 2×K array (K >= 3), found shape {el.shape}")
    return el - 0.5  # MATLAB pixel centres 1..360 → frame spans [0, 360]


def load_dryad(root: str | Path, movie: str = "mov1", recording: int = 1) -> Recording:
    """Read one recording of Onken et al. (2017) watching ``movie``.

    Args:
        root: the folder holding ``Stimuli/`` and ``NeuralData/``.
        movie: ``"mov1"`` or ``"mov2"``.
        recording: 1 or 2 (the paper used recording 1, "20150423").
    """
    if movie not in MOVIE_FOLDERS:
        raise ValueError(f"unknown movie {movie!r}; expected one of {sorted(MOVIE_FOLDERS)}")
    if recording not in (1, 2):
        raise ValueError(f"recording: expected 1 or 2, found {recording!r}")
    root = _require(Path(root).expanduser(), "the Dryad data folder (with Stimuli/ and NeuralData/)")
    frames = read_frames(root / "Stimuli" / MOVIE_FOLDERS[movie])
    spike_name = SPIKE_FILES[(recording, movie)]
    spike_path = root / "NeuralData" / "Spikes" / f"{spike_name}.mat"
    times = read_cell_array(spike_path, "Spikes")
    spikes = bin_spikes(times, frames.shape[0])
    check_time_base(times, frames.shape[0], root / "Stimuli" / MOVIE_FOLDERS[movie], spike_path)

    rf_dir = _require(root / "NeuralData" / "ReceptiveFields", "a folder of receptive-field .mat files")
    rf_files = sorted(rf_dir.glob("*.mat"))
    if len(rf_files) > 1:
        rf_files = [p for p in rf_files if f"exp{recording}" in p.name.lower()] or rf_files
    if len(rf_files) != 1:
        raise DryadLayoutError(f"expected one receptive-field file for recording {recording} in {rf_dir} "
                               f"(named with 'Exp{recording}' if there are several), found "
                               f"{[p.name for p in sorted(rf_dir.glob('*.mat'))]}")
    cells = [el for row in read_cell_array(rf_files[0], "ReceptiveFields") for el in row]
    contours = [_contour(el, i, rf_files[0]) for i, el in enumerate(cells)]
    if len(contours) != spikes.shape[2]:
        raise DryadLayoutError(f"{rf_files[0].name} holds {len(contours)} receptive fields but "
                               f"{spike_path.name} holds {spikes.shape[2]} neurons")
    return Recording(
        frames=frames, spikes=spikes, rf_contours=contours,
        name=f"dryad-rec{recording}-{movie}", source="dryad",
        meta={"root": str(root), "spike_file": spike_path.name, "rf_file": rf_files[0].name,
              "recording": recording, "movie": movie,
              "description": f"Onken et al. 2017 recording {recording} ({spike_path.name}), {movie}, "
                             f"{spikes.shape[0]} trials"})
