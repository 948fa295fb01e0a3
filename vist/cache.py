"""The on-disk cache: where it lives, atomic writes, and verified array files.

Every cached artefact (a simulated recording, a table of ViT features) is written to a temporary
file in the destination folder and renamed into place, so a crash never leaves a half-written
file under the final name. Array files carry a SHA-256 digest of each array; a file whose digest
does not match is reported as :class:`CacheError` so callers can warn and regenerate it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

ENV_VAR = "VIST_CACHE_DIR"
FORMAT_VERSION = 1


class CacheError(ValueError):
    """A cache file is missing an entry, truncated, or fails its digest check."""


def cache_dir() -> Path:
    """The cache folder: ``$VIST_CACHE_DIR``, else ``$XDG_CACHE_HOME/vist``, else ``~/.cache/vist``."""
    env = os.environ.get(ENV_VAR)
    if env:
        root = Path(env).expanduser()
    else:
        root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")).expanduser() / "vist"
    root.mkdir(parents=True, exist_ok=True)
    return root


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    The temporary file keeps ``path``'s suffix (so libraries that append one, like NumPy, do not)
    and is removed if the block raises.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix + ".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


def digest(array: np.ndarray) -> str:
    """SHA-256 of an array's bytes, dtype and shape (hex)."""
    h = hashlib.sha256()
    h.update(f"{array.dtype.str}{array.shape}".encode())
    h.update(np.ascontiguousarray(array).data)
    return h.hexdigest()


def key_digest(key: Mapping[str, Any]) -> str:
    """A short stable hash of a JSON-serialisable mapping, used to name cache entries."""
    text = json.dumps(key, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def save_arrays(path: str | os.PathLike[str], arrays: Mapping[str, np.ndarray],
                meta: Mapping[str, Any]) -> Path:
    """Write ``arrays`` and a JSON ``meta`` into one uncompressed ``.npz`` file, atomically.

    The file holds one entry per array plus ``__meta__``, a JSON string with ``meta``, the format
    version and the SHA-256 digest of every array (see :func:`load_arrays`).
    """
    path = Path(path)
    record = dict(meta)
    record["format_version"] = FORMAT_VERSION
    record["digests"] = {name: digest(np.asarray(a)) for name, a in arrays.items()}
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, __meta__=np.array(json.dumps(record)), **arrays)
    return path


def load_arrays(path: str | os.PathLike[str], verify: bool = True
                ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a file written by :func:`save_arrays`; with ``verify``, check every digest.

    Files without digests (written by hand, e.g. ``np.savez``) load unverified.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        CacheError: the file is not a readable ``.npz``, or an array fails its digest.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"expected an array file at {path}, found nothing there")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as err:
        raise CacheError(f"{path} is not a readable .npz file ({err})") from err
    meta: dict[str, Any] = {}
    if "__meta__" in arrays:
        meta = json.loads(str(arrays.pop("__meta__")))
    if verify:
        for name, expected in meta.get("digests", {}).items():
            if name not in arrays:
                raise CacheError(f"{path}: expected an array named {name!r}, found only {sorted(arrays)}")
            found = digest(arrays[name])
            if found != expected:
                raise CacheError(f"{path}: array {name!r} has digest {found[:12]}…, expected {expected[:12]}…")
    return arrays, meta
