"""A linear–nonlinear reference told where each cell looks, on the CRNN's own frames.

Vi-ST is given each cell's receptive-field (RF) contour; the CRNN must find, from the training
frames alone, where each of its cells looks. This reference separates the two: a
linear–nonlinear (LN) model per cell, fitted by ridge regression to the same downsampled grey
frames the CRNN reads (``[T, S, S]``, :meth:`vist.model.CRNN.prepare`) over the same history of
frames, with

* **located**: only the pixels the cell's RF contour touches (:func:`vist.data.rf.rf_to_grid` at
  the frames' ``S × S`` resolution) — the model is told where the cell looks, as Vi-ST is;
* **whole frame**: every pixel — it must find the cell from the data, as the CRNN must.

Features are the ON and OFF halves of each pixel's contrast (its grey level minus the training
frames' mean, split into its positive and negative parts, as bipolar cells split a signal), for
each of the last ``history`` frames (zeros before a segment starts, as the CRNN sees them). The
ridge penalty of each cell is chosen on the last fifth of the training frames (a contiguous
block: neighbouring frames are alike), the weights refitted on all training frames, and the
prediction half-wave rectified (the model's output nonlinearity).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from vist.data.rf import rf_to_grid
from vist.experiments.common import beyond_spread, pm
from vist.metrics import CCResult, cc
from vist.model.crnn import CRNNConfig
from vist.presets import get_preset
from vist.train.inputs import Prepared, prepare, recording
from vist.train.spec import RunSpec

LOCATED = "LN, told each RF"
WHOLE = "LN, whole frame"
"""Row names of the two references in a chapter's table."""

RIDGES: tuple[float, ...] = (1e-3, 1e-2, 1e-1, 1.0, 10.0)
"""Candidate penalties, in units of the mean eigenvalue of the features' Gram matrix."""


@dataclass(frozen=True)
class LNReference:
    """Test CC per cell of the two LN references for one train → test direction.

    Attributes:
        located, whole_frame: each reference's Pearson r per cell with the test split's
            trial-mean rates (``.mean``: the signed mean over cells, as for the models).
        pixels: ``int [cells]`` pixels of the ``S × S`` frame inside each cell's RF contour.
        size, history: the frames' side (px) and the frames of history per prediction.
    """

    located: CCResult
    whole_frame: CCResult
    pixels: np.ndarray
    size: int
    history: int


def lagged(frames: np.ndarray, segments: Sequence[tuple[int, int]], history: int) -> np.ndarray:
    """``float32 [T', history, P]`` from frames ``[T, P]``: for every frame of ``segments``
    (concatenated, ``T'`` frames), itself and the ``history − 1`` frames before it, newest last;
    zeros before each segment's start."""
    if history < 1:
        raise ValueError(f"history: expected at least 1 frame, found {history}")
    out = []
    for a, b in segments:
        x = np.concatenate([np.zeros((history - 1, frames.shape[1]), np.float32), frames[a:b]])
        out.append(np.lib.stride_tricks.sliding_window_view(x, history, axis=0).transpose(0, 2, 1))
    return np.concatenate(out).astype(np.float32)


def on_off(x: np.ndarray, mean: float) -> np.ndarray:
    """``[..., 2·F]``: the positive and the negative part of ``x − mean`` (features ``[..., F]``)."""
    c = x - mean
    return np.concatenate([np.maximum(c, 0), np.maximum(-c, 0)], axis=-1)


def ridge_predictions(fit_x: np.ndarray, fit_y: np.ndarray, eval_x: np.ndarray,
                      ridges: Sequence[float] = RIDGES) -> np.ndarray:
    """Ridge predictions ``[len(ridges), N_eval, targets]`` of ``fit_y [N, targets]`` from
    ``fit_x [N, F]``, one per penalty, each penalty scaled by the mean eigenvalue of the
    standardised features' Gram matrix. Primal form when ``F ≤ N``, dual (kernel) form otherwise;
    one eigendecomposition serves every penalty."""
    mu, sd = fit_x.mean(0), fit_x.std(0)
    sd = np.where(sd > 0, sd, 1.0)
    a, e = ((fit_x - mu) / sd).astype(np.float64), ((eval_x - mu) / sd).astype(np.float64)
    y_mu = fit_y.mean(0)
    y = fit_y - y_mu
    primal = a.shape[1] <= a.shape[0]
    s, v = np.linalg.eigh(a.T @ a if primal else a @ a.T)
    s = np.clip(s, 0, None)
    proj = v.T @ (a.T @ y if primal else y)          # [k, targets]
    cross = e @ v if primal else (e @ a.T) @ v      # [N_eval, k]
    scale = max(float(s.mean()), 1e-12)
    return np.stack([cross @ (proj / (s + r * scale)[:, None]) + y_mu for r in ridges])


def fit_ln(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray,
           ridges: Sequence[float] = RIDGES, holdout: float = 0.2) -> np.ndarray:
    """Rectified LN prediction ``[N_test, targets]``: the penalty of each target chosen on the last
    ``holdout`` of the training rows (Pearson r), then refitted on all of them.

    Args:
        train_x, test_x: features ``[N, F]`` and ``[N_test, F]``.
        train_y: rates ``[N, targets]``.
    """
    n_fit = int(round(len(train_x) * (1 - holdout)))
    if not 2 <= n_fit < len(train_x) - 1:
        raise ValueError(f"fit_ln: expected enough training rows to hold out {holdout:.0%}, found {len(train_x)}")
    val = ridge_predictions(train_x[:n_fit], train_y[:n_fit], train_x[n_fit:], ridges)
    r_val = np.stack([np.nan_to_num(cc(p, train_y[n_fit:]).r, nan=-1.0) for p in val])  # [ridges, targets]
    best = r_val.argmax(0)
    full = ridge_predictions(train_x, train_y, test_x, ridges)
    return np.maximum(full[best, :, np.arange(train_y.shape[1])].T, 0)


def references(data: Prepared, contours: Sequence[np.ndarray], frame_shape: tuple[int, int],
               history: int) -> LNReference:
    """Both LN references for ``data`` (CRNN frames ``[T, S, S]``): the cells' RF ``contours``
    (frame pixels of ``frame_shape``) give the located model its pixels."""
    if data.train_x.ndim != 3:
        raise ValueError(f"data: expected CRNN frames [T, S, S], found inputs of shape {tuple(data.train_x.shape)}")
    size = int(data.train_x.shape[-1])
    masks = rf_to_grid(contours, frame_shape, size).reshape(len(contours), -1) > 0   # [cells, S·S]
    if len(masks) != data.train_y.shape[1]:
        raise ValueError(f"contours: expected one per cell ({data.train_y.shape[1]}), found {len(masks)}")
    frames_tr = data.train_x.numpy().reshape(len(data.train_x), -1)
    frames_te = data.test_x.numpy().reshape(len(data.test_x), -1)
    mean = float(np.concatenate([frames_tr[a:b] for a, b in data.train_segments]).mean())
    x_tr = lagged(frames_tr, data.train_segments, history)     # [N, history, S·S]
    x_te = lagged(frames_te, data.test_segments, history)
    y_tr = np.concatenate([data.train_y.numpy()[a:b] for a, b in data.train_segments])
    y_te = np.concatenate([data.test_y.numpy()[a:b] for a, b in data.test_segments])
    whole = fit_ln(on_off(x_tr, mean).reshape(len(x_tr), -1), y_tr, on_off(x_te, mean).reshape(len(x_te), -1))
    located = np.zeros_like(whole)
    for c, m in enumerate(masks):
        if not m.any():  # a contour outside the frame: nothing to be told
            continue
        located[:, c] = fit_ln(on_off(x_tr[:, :, m], mean).reshape(len(x_tr), -1), y_tr[:, c:c + 1],
                               on_off(x_te[:, :, m], mean).reshape(len(x_te), -1))[:, 0]
    return LNReference(located=cc(located, y_te), whole_frame=cc(whole, y_te),
                       pixels=masks.sum(1), size=size, history=history)


def reference_for(spec: RunSpec) -> LNReference:
    """Both LN references on the frames and split of CRNN run ``spec`` (its preset's frame size
    and history)."""
    if spec.model != "crnn":
        raise ValueError(f"spec: expected a CRNN run (model='crnn'), found model={spec.model!r}")
    data = prepare(spec)
    rec = recording(spec, spec.train_movie)
    history = CRNNConfig(**get_preset(spec.preset).crnn.sizes.changes()).history
    return references(data, rec.rf_contours, rec.frame_shape, history)


def scores(specs: Mapping[tuple[str, int], RunSpec]) -> pd.DataFrame:
    """One row per reference and CRNN run spec keyed ``(direction, seed)``: ``reference``
    (:data:`LOCATED` or :data:`WHOLE`), ``direction``, ``seed``, ``cc`` (signed mean over cells)."""
    rows = []
    for (direction, seed), spec in specs.items():
        ref = reference_for(spec)
        for name, r in ((LOCATED, ref.located), (WHOLE, ref.whole_frame)):
            rows.append({"reference": name, "direction": direction, "seed": seed, "cc": r.mean,
                         "size": ref.size, "history": ref.history})
    return pd.DataFrame(rows)


def summary(scores_: pd.DataFrame) -> pd.DataFrame:
    """Mean and sample sd of ``cc`` over seeds per reference and direction (``cc_mean``,
    ``cc_sd``, ``seeds``), in order of appearance."""
    g = scores_.groupby(["reference", "direction"], sort=False)["cc"]
    return pd.DataFrame({"cc_mean": g.mean(), "cc_sd": g.std(), "seeds": g.size()}).reset_index()


def findings(refs: pd.DataFrame, models: pd.DataFrame, model: str = "CRNN", told: str = "Vi-ST") -> list[str]:
    """Sentences about the references (:func:`summary`) beside the models' summary
    (:func:`vist.experiments.generalization.summary`), one per direction both hold: what each
    scored, what being told the RF is worth to the LN model, and how ``model`` compares with the
    LN model that is not told (beyond the seed spread or not:
    :func:`vist.experiments.common.beyond_spread`)."""
    out = []
    r = refs.set_index(["reference", "direction"])
    m = models.set_index(["model", "direction"])
    for d in refs["direction"].unique():
        if (model, d) not in m.index or (LOCATED, d) not in r.index or (WHOLE, d) not in r.index:
            continue
        loc, whole, pix = r.loc[(LOCATED, d)], r.loc[(WHOLE, d)], m.loc[(model, d)]
        gain = loc["cc_mean"] - whole["cc_mean"]
        if not np.isfinite(loc["cc_sd"]) or not np.isfinite(pix["cc_sd"]):
            spread, versus = "one seed: no spread to judge it by", ("above" if pix["cc_mean"] > whole["cc_mean"]
                                                                    else "below")
        else:
            spread = ("beyond" if beyond_spread(loc["cc_mean"], loc["cc_sd"], whole["cc_mean"], whole["cc_sd"])
                      else "within") + " the seed spread"
            if beyond_spread(pix["cc_mean"], pix["cc_sd"], whole["cc_mean"], whole["cc_sd"]):
                versus = "above" if pix["cc_mean"] > whole["cc_mean"] else "below"
            else:
                versus = "level with"
        told_part = (f", {told} (told each RF) {pm(m.loc[(told, d), 'cc_mean'], m.loc[(told, d), 'cc_sd'], 2)}"
                     if (told, d) in m.index else "")
        out.append(f"**{d}**: told where each cell looks, the LN model scores CC "
                   f"{pm(loc['cc_mean'], loc['cc_sd'], 2)}; on the whole frame "
                   f"{pm(whole['cc_mean'], whole['cc_sd'], 2)}; the {model} "
                   f"{pm(pix['cc_mean'], pix['cc_sd'], 2)}{told_part}. Being told is worth {gain:.2f} CC "
                   f"to the LN model ({spread}), and the {model}, which is not told either, scores "
                   f"{versus} the LN model on the whole frame.")
    return out
