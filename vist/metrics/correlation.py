"""Pearson correlation per cell, and the three ways of averaging it found around the paper (SPEC §5)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vist.metrics.noise import pearson_columns

__all__ = ["CCResult", "as_rates", "cc", "normalised_cc"]


def as_rates(a, name: str) -> np.ndarray:
    """``a`` (array or tensor, ``[T, cells]`` or ``[T]``) as float64 ``[T, cells]``; NaN/inf → error."""
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(f"{name}: expected rates [T, cells] (or [T]), found shape {a.shape}")
    if not np.all(np.isfinite(a)):
        bad = np.argwhere(~np.isfinite(a))[0]
        raise ValueError(f"{name}: expected finite rates, found {a[tuple(bad)]} at [t={bad[0]}, cell={bad[1]}] "
                         f"({int((~np.isfinite(a)).sum())} non-finite values)")
    return a


@dataclass(frozen=True)
class CCResult:
    """Per-cell Pearson r and its summaries.

    Attributes:
        r: ``[cells]`` Pearson correlation over the evaluated frames; NaN where either trace is
            constant (r undefined).

    Summaries (a cell with undefined r counts as r = 0 in all of them: a flat prediction explains
    nothing, and dropping it would flatter the model):

    * :attr:`mean` — signed mean over cells: **the headline** of this book;
    * :attr:`mean_abs` — mean of ``|r|``: what the authors' training logs averaged;
    * :attr:`mean_positive` — mean over cells with ``r > 0`` only: what the authors' prediction
      code averaged.
    """

    r: np.ndarray

    @property
    def mean(self) -> float:
        """Signed mean over cells (headline)."""
        return float(np.nan_to_num(self.r, nan=0.0).mean())

    @property
    def mean_abs(self) -> float:
        """Mean of |r| (the authors' logs)."""
        return float(np.abs(np.nan_to_num(self.r, nan=0.0)).mean())

    @property
    def mean_positive(self) -> float:
        """Mean of r over cells with r > 0 (the authors' prediction code); NaN if none."""
        pos = self.r[np.nan_to_num(self.r, nan=0.0) > 0]
        return float(pos.mean()) if pos.size else float("nan")

    @property
    def n_undefined(self) -> int:
        """Cells whose r is undefined (a constant trace)."""
        return int(np.isnan(self.r).sum())

    def summary(self) -> dict[str, float]:
        """The summaries keyed by their :class:`vist.metrics.Scores` field (``cc``, ``cc_abs``,
        ``cc_positive``, ``cells_undefined``); a chapter titles them (:data:`vist.report.TITLES`)."""
        return {"cc": self.mean, "cc_abs": self.mean_abs, "cc_positive": self.mean_positive,
                "cells_undefined": self.n_undefined}

    def __array__(self, dtype=None, copy=None):
        return self.r if dtype is None else self.r.astype(dtype)


def cc(pred, target) -> CCResult:
    """Pearson r per cell between predicted and recorded rates.

    Args:
        pred: ``[T, cells]`` (or ``[T]``) predicted rates, spikes per bin; array or tensor.
        target: the same shape: recorded (trial-mean) rates.

    Returns:
        :class:`CCResult` with ``r [cells]`` and the labelled means.
    """
    p, t = as_rates(pred, "cc: pred"), as_rates(target, "cc: target")
    if p.shape != t.shape:
        raise ValueError(f"cc: pred and target must have the same shape; found {p.shape} and {t.shape}")
    if p.shape[0] == 0:
        raise ValueError(f"cc: expected rates over at least one frame, found T=0 (shape {p.shape})")
    return CCResult(r=pearson_columns(p, t))  # NaN where a trace is constant


def normalised_cc(r, ceiling) -> tuple[np.ndarray, int]:
    """Per-cell ``r / ceiling`` and the number of cells without a usable ceiling.

    A ceiling is usable when it is finite and positive: a cell whose trial-to-trial reliability
    is zero or negative has no ceiling to normalise by, and dividing by 0 would give ±inf. Such
    cells get NaN (so a ``nanmean`` leaves them out) and are counted. A cell with undefined ``r``
    gets NaN too but is not counted here (:attr:`CCResult.n_undefined` counts it).

    Args:
        r: ``[cells]`` Pearson r (a :class:`CCResult` or an array).
        ceiling: ``[cells]`` noise ceilings (:func:`vist.metrics.cc_ceiling`).

    Returns:
        ``(float64 [cells], int)``.
    """
    r = np.asarray(r, dtype=np.float64)
    ceiling = np.asarray(ceiling, dtype=np.float64)
    if r.shape != ceiling.shape:
        raise ValueError(f"normalised_cc: r and ceiling must have the same shape; found {r.shape} and "
                         f"{ceiling.shape}")
    usable = np.isfinite(ceiling) & (ceiling > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(usable, r / np.where(usable, ceiling, 1.0), np.nan)
    return out, int((~usable).sum())
