"""The feature cache: one ``.npy`` (float16, memory-mappable) plus a JSON sidecar per entry.

An entry is named by a hash of its key (movie content digest, feature source, weights, layer,
resolution, precision, format version). The sidecar records the full key, the array's shape,
dtype and SHA-256 digest (:func:`vist.cache.digest`) and the feature source's label. Both files
are written atomically (array first, sidecar last, so an array without a sidecar is never
trusted). On load the sidecar's key, shape and dtype must match and the array's digest is
recomputed: a corrupted, truncated or stale entry is reported with a warning and recomputed.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from vist.cache import (
    CacheError,
    atomic_path,
    cache_dir,
    digest,
    dumps_strict,
    key_digest,
    read_json_object,
    write_json_atomic,
)

STORE_VERSION = 1
"""Bumped whenever the layout or the meaning of cached features changes."""

FEATURE_DTYPE = np.float16


def entry_paths(kind: str, key: Mapping[str, Any]) -> tuple[Path, Path]:
    """``(array_path, sidecar_path)`` of the cache entry for ``key`` under ``cache_dir()/features``."""
    name = f"{kind}-{key_digest({**key, 'store_version': STORE_VERSION})}"
    folder = cache_dir() / "features"
    return folder / f"{name}.npy", folder / f"{name}.json"


def load_entry(kind: str, key: Mapping[str, Any]) -> np.ndarray:
    """The verified, read-only memory map of the entry for ``key``.

    Raises:
        FileNotFoundError: no complete entry (array and sidecar) exists.
        CacheError: the entry is unreadable, stale (its key differs) or fails its digest.
    """
    arr_path, meta_path = entry_paths(kind, key)
    if not arr_path.exists() or not meta_path.exists():
        raise FileNotFoundError(f"no cached features at {arr_path}")
    try:
        meta = read_json_object(meta_path)
    except (OSError, ValueError) as err:  # CacheError is a ValueError
        raise CacheError(f"{meta_path}: unreadable sidecar ({err})") from err
    want = json.loads(dumps_strict({**key, "store_version": STORE_VERSION}, default=str))
    if meta.get("key") != want:
        raise CacheError(f"{meta_path}: stale entry, its key {meta.get('key')} differs from the "
                         f"requested {want}")
    try:
        arr = np.load(arr_path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:
        raise CacheError(f"{arr_path}: unreadable array ({err})") from err
    if list(arr.shape) != meta.get("shape") or str(arr.dtype) != meta.get("dtype"):
        raise CacheError(f"{arr_path}: expected {meta.get('dtype')} {meta.get('shape')}, "
                         f"found {arr.dtype} {list(arr.shape)}")
    found = digest(arr)
    if found != meta.get("digest"):
        raise CacheError(f"{arr_path}: digest {found[:12]}… does not match the recorded "
                         f"{str(meta.get('digest'))[:12]}…")
    return arr


def write_entry(kind: str, key: Mapping[str, Any], shape: tuple[int, ...],
                chunks: Iterator[tuple[slice, np.ndarray]], label: str) -> np.ndarray:
    """Fill a new float16 entry of ``shape`` from ``(slice, block)`` pairs; return its memory map.

    The array is written to a temporary ``.npy`` beside its final name and renamed into place when
    complete; the sidecar follows. If ``chunks`` raises, nothing is left under the final names.
    """
    arr_path, meta_path = entry_paths(kind, key)
    with atomic_path(arr_path) as tmp:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=FEATURE_DTYPE, shape=shape)
        for where, block in chunks:
            out[where] = block
        out.flush()
        record = {"key": {**key, "store_version": STORE_VERSION}, "shape": list(shape),
                  "dtype": np.dtype(FEATURE_DTYPE).name, "digest": digest(out), "label": label}
        del out
    write_json_atomic(meta_path, record, indent=1, default=str)
    return np.load(arr_path, mmap_mode="r", allow_pickle=False)


def cached(kind: str, key: Callable[[], Mapping[str, Any]], shape: tuple[int, ...],
           compute: Callable[[], Iterator[tuple[slice, np.ndarray]]], label: str,
           use_cache: bool = True) -> np.ndarray:
    """Features for ``key()`` from the cache, or computed by ``compute()`` and stored.

    A corrupted or stale entry is reported with a :class:`UserWarning` and recomputed. With
    ``use_cache=False`` the features are computed into memory and nothing is read or written —
    nor is ``key()`` called (it hashes the whole movie: about 0.5 s for 2,000 frames).

    Returns:
        ``float16`` array of ``shape`` (a read-only memory map when cached).
    """
    if not use_cache:
        out = np.empty(shape, dtype=FEATURE_DTYPE)
        for where, block in compute():
            out[where] = block
        return out
    entry = key()
    try:
        return load_entry(kind, entry)
    except FileNotFoundError:
        pass
    except CacheError as err:
        warnings.warn(f"cached features unusable, recomputing: {err}", stacklevel=3)
    return write_entry(kind, entry, shape, compute(), label)


def has_entry(kind: str, key: Mapping[str, Any]) -> bool:
    """Whether an entry (array and sidecar) exists for ``key``; it is verified only when loaded."""
    arr_path, meta_path = entry_paths(kind, key)
    return arr_path.exists() and meta_path.exists()
