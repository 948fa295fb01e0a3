"""Train/test splits of a recording's frames and the random-window sampler used in training.

Splits are made of contiguous *segments* of frames — never interleaved single frames, whose
neighbours would leak the test set through the models' temporal filters. Within a movie the
default is the authors': first half to train, second half to test. Across movies, train on all of
one movie and test on all of the other (``"all"``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

SCHEMES = ("halves", "blocks", "all")


@dataclass(frozen=True)
class Split:
    """Frame segments of a train and a test set, each a list of ``(start, stop)`` ranges."""

    train: tuple[tuple[int, int], ...]
    test: tuple[tuple[int, int], ...]
    n_frames: int
    scheme: str

    def indices(self, part: str) -> np.ndarray:
        """All frame indices of ``part`` (``"train"`` or ``"test"``), ``int64 [n]``."""
        if part not in ("train", "test"):
            raise ValueError(f"part: expected 'train' or 'test', found {part!r}")
        segs = self.train if part == "train" else self.test
        return np.concatenate([np.arange(a, b) for a, b in segs]) if segs else np.zeros(0, np.int64)


def split(n_frames: int, scheme: str = "halves", block: int = 300, gap: int = 0) -> Split:
    """Split ``n_frames`` frames into train and test segments.

    Args:
        n_frames: length of the recording.
        scheme: ``"halves"`` (first half train, second half test), ``"blocks"`` (alternating
            blocks of ``block`` frames, train first), or ``"all"`` (every frame in both; for
            training on one movie and testing on another).
        block: block length for ``"blocks"`` (frames; default 10 s).
        gap: frames dropped at every train/test boundary (e.g. the model's temporal reach).
    """
    if scheme not in SCHEMES:
        raise ValueError(f"unknown split scheme {scheme!r}; expected one of {list(SCHEMES)}")
    n = int(n_frames)
    if n < 2:
        raise ValueError(f"n_frames: expected at least 2 frames to split, found {n}")
    if scheme == "all":
        return Split(((0, n),), ((0, n),), n, scheme)
    if scheme == "halves":
        h = n // 2
        return Split(((0, h - gap),), ((h, n),), n, scheme)
    if block < 1:
        raise ValueError(f"block: expected a positive block length, found {block}")
    train, test = [], []
    for k, a in enumerate(range(0, n, block)):
        b = min(a + block, n)
        (train if k % 2 == 0 else test).append((a, b))
    if gap:  # trim the end of every segment followed by one of the other part
        train = [(a, b - gap if b < n else b) for a, b in train]
        test = [(a, b - gap if b < n else b) for a, b in test]
    return Split(tuple(s for s in train if s[1] > s[0]), tuple(s for s in test if s[1] > s[0]), n, scheme)


class WindowSampler:
    """Random windows of ``window`` consecutive frames lying inside one segment of a split part.

    Every start whose window fits inside a segment is equally likely. Iterating yields batches of
    window start indices, ``int64 [batch]``; ``len()`` is the number of batches per epoch.
    """

    def __init__(self, segments: tuple[tuple[int, int], ...], window: int = 128, batch: int = 16,
                 batches_per_epoch: int = 48, seed: int = 0) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise ValueError(f"seed: expected a non-negative integer, found {seed!r}")
        starts = [np.arange(a, b - window + 1) for a, b in segments if b - a >= window]
        if not starts:
            longest = max((b - a for a, b in segments), default=0)
            raise ValueError(f"window: expected at most the longest segment ({longest} frames), found {window}")
        self.starts = np.concatenate(starts)
        self.window, self.batch, self.batches_per_epoch = int(window), int(batch), int(batches_per_epoch)
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return self.batches_per_epoch

    def __iter__(self) -> Iterator[np.ndarray]:
        for _ in range(self.batches_per_epoch):
            yield self.rng.choice(self.starts, size=self.batch, replace=True)
