"""The learning-rate schedule: linear warm-up, then cosine decay (the authors' OneCycleCos)."""

from __future__ import annotations

import math


def one_cycle_lr(step: int, total: int, warmup: int, lr: float, lr_start: float, lr_end: float) -> float:
    """Learning rate at optimiser ``step`` (0-based) of ``total``.

    Linear from ``lr_start`` to ``lr`` over ``warmup`` steps, then half a cosine from ``lr`` down to
    ``lr_end`` at the last step.
    """
    if warmup > 0 and step < warmup:
        return lr_start + (lr - lr_start) * step / warmup
    span = max(total - 1 - warmup, 1)
    progress = min(max((step - warmup) / span, 0.0), 1.0)
    return lr_end + 0.5 * (lr - lr_end) * (1 + math.cos(math.pi * progress))
