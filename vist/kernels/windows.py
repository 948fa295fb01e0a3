"""The Vi-ST soft-DTW windows of a clip (SPEC §4): their geometry, and copies of them."""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["unfold_windows", "vist_windows"]


def vist_windows(T: int, divisors: Sequence[int] = (20, 10)) -> list[tuple[int, int, int]]:
    """The Vi-ST soft-DTW windows of a length-``T`` clip (SPEC §4).

    For each divisor ``k`` the window size is ``w = ⌊T/k⌋``, the hop ``⌊w/2⌋`` and the starts
    ``0, hop, 2·hop, …`` while ``start < T - w``: the authors' loop skips the last window (the one
    that would end exactly at ``T``); we keep that. At ``T = 128`` this gives ``(6, 3, 41)`` and
    ``(12, 6, 20)``.

    Returns:
        one ``(w, hop, n_windows)`` per divisor.

    Raises:
        ValueError: if a window would be shorter than 2 frames (``T`` too short for the divisor).
    """
    out = []
    for k in divisors:
        w = T // int(k)
        if w < 2:
            raise ValueError(f"vist_windows: T={T} gives window ⌊T/{k}⌋={w}; need at least 2 frames "
                             f"(T >= {2 * int(k)})")
        hop = w // 2
        n = len(range(0, T - w, hop))
        out.append((w, hop, n))
    return out


def unfold_windows(a: torch.Tensor, w: int, hop: int, n: int) -> torch.Tensor:
    """The first ``n`` windows of ``w`` frames every ``hop`` of ``a [B, T, cells]``, copied:
    ``[B·n, w, cells]`` (batch-major: item ``b·n + k`` is window ``k`` of clip ``b``)."""
    win = a.unfold(1, w, hop)[:, :n]            # [B, n, cells, w]
    return win.permute(0, 1, 3, 2).reshape(-1, w, a.shape[2])
