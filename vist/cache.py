"""The on-disk cache: where it lives, atomic writes, strict JSON, and verified array files.

Every cached artefact (a simulated recording, a table of ViT features) is written to a temporary
file in the destination folder and renamed into place, so a crash never leaves a half-written
file under the final name; the temporary files a killed writer left behind are removed by the
next write of the same file. Array files carry a SHA-256 digest of each array; a file whose digest
does not match is reported as :class:`CacheError` so callers can warn and regenerate it.

Every JSON file the project writes is strict JSON (:func:`dumps_strict`,
:func:`write_json_atomic`): ``NaN`` and ``±inf``, which :mod:`json` would write as the non-JSON
tokens ``NaN``/``Infinity``, are written as ``null``.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import math
import os
import platform
import re
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping
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


_HOST = hashlib.sha256(platform.node().encode()).hexdigest()[:8]
_LIVE: set[str] = set()          # temporary files this process is writing now
_LIVE_LOCK = threading.Lock()
LEGACY_TMP_AGE_S = 3600.0
"""A temporary file whose writer cannot be identified (older naming, or another host) counts as
orphaned once it is this old."""


def _pid_alive(pid: int) -> bool:
    if os.name != "posix":  # no harmless liveness probe elsewhere: assume it is alive
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def _clean_orphans(path: Path) -> list[Path]:
    """Remove temporary files of earlier writers of ``path`` that were killed before renaming.

    A temporary file is named ``.<stem>.<host>-<pid>-<random><suffix>.tmp``. It is an orphan
    when its writer ran on this host and that process is gone (or it is this process, which is
    not writing it now); a temporary file of another host or of the older naming
    (``.<stem>.<random><suffix>.tmp``) when it is older than :data:`LEGACY_TMP_AGE_S`.
    Returns the files removed.
    """
    pattern = glob.escape(str(path.parent / f".{path.stem}.")) + "*" + glob.escape(f"{path.suffix}.tmp")
    named = re.compile(re.escape(f".{path.stem}.") + r"([0-9a-f]{8})-(\d+)-[a-z0-9_]+"
                       + re.escape(f"{path.suffix}.tmp") + "$")
    legacy = re.compile(re.escape(f".{path.stem}.") + r"[a-z0-9_]{8}" + re.escape(f"{path.suffix}.tmp") + "$")
    removed = []
    now = time.time()
    for name in glob.glob(pattern):
        tmp = Path(name)
        m = named.match(tmp.name)
        with _LIVE_LOCK:  # this process's writers register their file under the same lock
            if name in _LIVE:
                continue
            try:
                if m and m.group(1) == _HOST:
                    pid = int(m.group(2))
                    orphan = pid == os.getpid() or not _pid_alive(pid)
                elif m or legacy.match(tmp.name):
                    orphan = now - tmp.stat().st_mtime > LEGACY_TMP_AGE_S
                else:
                    continue
                if orphan:
                    tmp.unlink()
                    removed.append(tmp)
            except OSError:  # vanished meanwhile, or not ours to remove
                continue
    return removed


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    The temporary file keeps ``path``'s suffix (so libraries that append one, like NumPy, do not)
    and is removed if the block raises. Temporary files of earlier writers of ``path`` that were
    killed before they finished are removed first (:func:`_clean_orphans`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _clean_orphans(path)
    with _LIVE_LOCK:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.{_HOST}-{os.getpid()}-",
                                   suffix=path.suffix + ".tmp", dir=path.parent)
        _LIVE.add(tmp)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)
        with _LIVE_LOCK:
            _LIVE.discard(tmp)


def json_safe(obj: Any, default: Callable[[Any], Any] | None = None) -> Any:
    """``obj`` with every non-finite float replaced by ``None``, ready for strict JSON.

    Mappings, lists and tuples are converted recursively (tuples become lists, keys are kept);
    NumPy scalars and arrays become Python numbers and lists. Anything else is passed through
    ``default`` (if given) and converted again; without ``default`` it is left for
    :func:`json.dumps` to refuse.
    """
    if obj is None or isinstance(obj, (str, bool)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, int):
        return obj
    if isinstance(obj, Mapping):
        return {k: json_safe(v, default) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v, default) for v in obj]
    if isinstance(obj, np.ndarray):
        return json_safe(obj.tolist(), default)
    if isinstance(obj, np.generic):
        return json_safe(obj.item(), default)
    if default is not None:
        return json_safe(default(obj))
    return obj


def dumps_strict(obj: Any, default: Callable[[Any], Any] | None = None, **kwargs: Any) -> str:
    """:func:`json.dumps` that writes strict JSON: NaN and ±inf become ``null`` (:func:`json_safe`).

    Raises:
        TypeError: an object that is not JSON-serialisable (and ``default`` does not convert).
    """
    return json.dumps(json_safe(obj, default), allow_nan=False, **kwargs)


def write_json_atomic(path: str | os.PathLike[str], obj: Any, indent: int | None = 1,
                      default: Callable[[Any], Any] | None = None) -> Path:
    """Write ``obj`` to ``path`` as strict JSON (:func:`dumps_strict`), atomically."""
    path = Path(path)
    text = dumps_strict(obj, default=default, indent=indent)
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return path


def read_json_object(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A JSON file that must hold an object.

    Raises:
        FileNotFoundError: no file at ``path``.
        CacheError: the file is empty, truncated, not JSON, or holds something else than an object.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError) as err:
        raise CacheError(f"{path}: unreadable ({err})") from err
    if not text.strip():
        raise CacheError(f"{path}: expected a JSON object, found an empty file")
    try:
        obj = json.loads(text)
    except ValueError as err:
        raise CacheError(f"{path}: expected a JSON object, found text that is not JSON ({err})") from err
    if not isinstance(obj, dict):
        raise CacheError(f"{path}: expected a JSON object, found a JSON {type(obj).__name__}")
    return obj


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
            np.savez(fh, __meta__=np.array(dumps_strict(record)), **arrays)
    return path


def load_arrays(path: str | os.PathLike[str], verify: bool = True
                ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a file written by :func:`save_arrays`; with ``verify``, check every digest.

    Files without digests (written by hand, e.g. ``np.savez``) load unverified.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        CacheError: the file is not a readable ``.npz``, its ``__meta__`` is not a JSON object, or
            an array fails its digest.
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
        text = arrays.pop("__meta__")
        try:
            meta = json.loads(str(text)) if text.ndim == 0 and text.dtype.kind == "U" else None
        except ValueError as err:
            raise CacheError(f"{path}: expected '__meta__' to hold a JSON object, found text that is not "
                             f"JSON ({err})") from err
        if not isinstance(meta, dict):
            found = (f"a JSON {type(meta).__name__}" if text.ndim == 0 and text.dtype.kind == "U"
                     else f"a {text.dtype} array of shape {text.shape}")
            raise CacheError(f"{path}: expected '__meta__' to hold a JSON object (a string), found {found}")
    digests = meta.get("digests", {})
    if not isinstance(digests, dict):
        raise CacheError(f"{path}: expected '__meta__' digests to be a JSON object (name → digest), "
                         f"found a JSON {type(digests).__name__}")
    if verify:
        for name, expected in digests.items():
            if name not in arrays:
                raise CacheError(f"{path}: expected an array named {name!r}, found only {sorted(arrays)}")
            found = digest(arrays[name])
            if found != expected:
                raise CacheError(f"{path}: array {name!r} has digest {found[:12]}…, expected {expected[:12]}…")
    return arrays, meta
