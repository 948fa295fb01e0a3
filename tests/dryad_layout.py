"""Write small data sets in exactly the layout of Onken et al. (2017) on Dryad, for the tests."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
from scipy.io import savemat


def frame_pattern(k: int, shape: tuple[int, int] = (360, 360)) -> np.ndarray:
    """Frame ``k``: a top-left-bright ramp (so orientation errors show) with ``k`` at pixel (5, 100)."""
    img = np.zeros(shape, np.uint8)
    img[:20, :] = 200          # a bright band at the top (rows 0–19)
    img[:, :10] = 100          # a grey band at the left (columns 0–9)
    img[5, 100] = k % 256      # frame number, at row 5, column 100
    return img


def write_frames(folder: Path, n: int, shape: tuple[int, int] = (360, 360)) -> None:
    """Raw column-major uint8 files, named so that lexical order differs from numeric order."""
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(n):
        # MATLAB's fwrite of a matrix writes it column by column.
        (folder / f"frame_{k + 1}.raw").write_bytes(frame_pattern(k, shape).T.tobytes())


def _cell(rows: list[list[np.ndarray]]) -> np.ndarray:
    arr = np.empty((len(rows), len(rows[0])), dtype=object)
    for i, row in enumerate(rows):
        for j, el in enumerate(row):
            arr[i, j] = el
    return arr


def write_mat_v5(path: Path, name: str, rows: list[list[np.ndarray]]) -> None:
    """A MATLAB v5 file with one cell array ``name`` of shape rows × columns."""
    path.parent.mkdir(parents=True, exist_ok=True)
    savemat(path, {name: _cell(rows)}, format="5")


def write_mat_v73(path: Path, name: str, rows: list[list[np.ndarray]]) -> None:
    """A MATLAB v7.3 (HDF5) file with one cell array, stored as MATLAB stores it (transposed,
    references into ``#refs#``, empty arrays marked ``MATLAB_empty``, a 512-byte header)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w", userblock_size=512) as f:
        refs = f.create_group("#refs#")
        n_rows, n_cols = len(rows), len(rows[0])
        table = np.empty((n_cols, n_rows), dtype=h5py.ref_dtype)  # HDF5 holds the transpose
        k = 0
        for i, row in enumerate(rows):
            for j, el in enumerate(row):
                el = np.asarray(el, dtype=np.float64)
                if el.size == 0:
                    ds = refs.create_dataset(f"r{k}", data=np.array([0, 0], dtype=np.uint64))
                    ds.attrs["MATLAB_empty"] = np.uint8(1)
                else:
                    ds = refs.create_dataset(f"r{k}", data=np.atleast_2d(el).T if el.ndim == 1 else el.T)
                ds.attrs["MATLAB_class"] = np.bytes_("double")
                table[j, i] = ds.ref
                k += 1
        d = f.create_dataset(name, data=table)
        d.attrs["MATLAB_class"] = np.bytes_("cell")
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created by: vist tests HDF5 schema 1.00 ."
    with open(path, "r+b") as fh:
        fh.write(header.ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02" + b"IM")


def write_layout(root: Path, n_frames: int = 12, neurons: int = 3, trials: int = 4,
                 version: str = "v5") -> dict:
    """Both movies, four crosswise-named spike files and two RF files under ``root``.

    Spike file ``F`` holds, for neuron ``n`` and trial ``k``, spikes at bins chosen so that every
    file is distinguishable: neuron ``n`` fires once in bin ``(n + FILE_ID[F]) % n_frames``
    (at 10 ms into the bin), plus trial-specific extra spikes at the bin edges. Returns the
    expected content for the tests.
    """
    write = write_mat_v5 if version == "v5" else write_mat_v73
    write_frames(root / "Stimuli" / "Movie1", n_frames)
    write_frames(root / "Stimuli" / "Movie2", n_frames + 2)
    period = 1000.0 / 30.0
    file_ids = {"Movie1Exp1": 0, "Movie2Exp1": 1, "Movie1Exp2": 2, "Movie2Exp2": 3}
    expected = {}
    for fname, fid in file_ids.items():
        rows = []
        counts = np.zeros((trials, n_frames + 2, neurons), np.int64)
        for n in range(neurons):
            row = []
            for k in range(trials):
                b = (n + fid) % n_frames
                times = [b * period + 10.0]
                if k == 1:
                    times += [2 * period - 1e-6, 2 * period + 1e-6]  # straddle the edge of bin 2
                if k == 2:
                    times += [-5.0, 1e6]  # before onset, after the end: dropped
                row.append(np.array(times))
                for t in times:
                    i = int(np.floor(t / period))
                    if 0 <= i < counts.shape[1]:
                        counts[k, i, n] += 1
            if n == 0:
                row[-1] = np.zeros(0)  # one trial without spikes
                counts[-1, :, 0] = 0
            rows.append(row)
        write(root / "NeuralData" / "Spikes" / f"{fname}.mat", "Spikes", rows)
        expected[fname] = counts
    for rec in (1, 2):
        contours = [[np.array([[10.5, 30.5, 30.5, 10.5], [20.5, 20.5, 40.5, 40.5]]) + 100 * rec + n]
                    for n in range(neurons)]
        write(root / "NeuralData" / "ReceptiveFields" / f"RF_Exp{rec}.mat", "ReceptiveFields", contours)
    return expected
