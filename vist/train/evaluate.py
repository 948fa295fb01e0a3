"""Predictions on the test split and every metric of SPEC §5, per cell."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from vist.metrics import Scores, cc, cc_ceiling, feve, oracle_correlation, sd_kl
from vist.metrics.correlation import normalised_cc
from vist.train.inputs import Prepared


def head_segments(segments: tuple[tuple[int, int], ...], frames: int | None) -> tuple[tuple[int, int], ...]:
    """The first ``frames`` frames of ``segments`` (frame ranges ``(start, stop)``), in order.

    ``None`` returns ``segments`` unchanged.
    """
    if frames is None:
        return segments
    if frames <= 0:
        raise ValueError(f"frames: expected a positive number of frames or None, found {frames}")
    out, left = [], int(frames)
    for a, b in segments:
        if left <= 0:
            break
        out.append((a, min(b, a + left)))
        left -= out[-1][1] - a
    return tuple(out)


@torch.no_grad()
def predict(model: nn.Module, data: Prepared, device: torch.device, bf16: bool = True,
            chunk: int | None = None, frames: int | None = None) -> np.ndarray:
    """Rates ``float32 [T_test, cells]`` predicted over the test segments (concatenated).

    Each segment is run as one sequence from its first frame (the causal models see zeros before
    it), as the authors evaluate; ``chunk`` splits long segments to bound memory (then the model
    restarts at each chunk start). ``frames`` keeps only the first that many test frames
    (:func:`head_segments`; the per-epoch log of the small preset).
    """
    model.eval()
    rf = data.rf.to(device)
    out = []
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda" and bf16)
    for a, b in head_segments(data.test_segments, frames):
        step = (b - a) if chunk is None else chunk
        for s in range(a, b, step):
            x = data.test_x[s:min(s + step, b)][None].to(device)
            if x.device.type == "cpu":
                x = x.float()
            with autocast:
                out.append(model(x, rf)[0].float().cpu().numpy())
    return np.concatenate(out, axis=0)


def test_targets(data: Prepared, frames: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Target rates ``[T_test, cells]`` and spike trials ``[trials, T_test, cells]`` of the test split.

    ``frames`` keeps only its first that many frames, as :func:`predict` does.
    """
    idx = np.concatenate([np.arange(a, b) for a, b in head_segments(data.test_segments, frames)])
    return data.test_y.cpu().numpy()[idx], data.test_spikes[:, idx]


def quick_scores(pred: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """Headline scores for the per-epoch log: signed mean CC and mean SD-KL."""
    return {"cc": cc(pred, target).mean, "sd_kl": float(np.mean(sd_kl(pred, target)))}


def evaluate(pred: np.ndarray, data: Prepared) -> dict[str, Any]:
    """All metrics per cell and their summaries, as ``run.json`` stores them.

    Args:
        pred: ``[T_test, cells]`` predicted rates (spikes per frame bin) over the test segments.
        data: the prepared run inputs (test targets and trials).

    Returns:
        ``{"per_cell": {name: [cells] list, None where undefined}, "summary": Scores.to_dict()}``.
        Per cell: ``cc`` is Pearson r against the trial-mean rate, ``cc_ceiling`` = sqrt(split-half
        reliability, Spearman–Brown) of the test trials, ``cc_normalised`` = cc / cc_ceiling where
        the ceiling is usable (positive), ``feve`` follows Cadena et al. (2019). The summary is
        a :class:`vist.metrics.Scores` of them (the headline is the signed mean of
        ``cc``). Every summary is finite or NaN (never ±inf).
    """
    target, spikes = test_targets(data)
    r = cc(pred, target)
    kl = sd_kl(pred, target)
    ceiling = cc_ceiling(spikes)
    normalised, no_ceiling = normalised_cc(r, ceiling)
    fe = feve(pred, spikes) if spikes.shape[0] > 1 else np.full(pred.shape[1], np.nan)
    oracle = oracle_correlation(spikes) if spikes.shape[0] > 1 else np.full(pred.shape[1], np.nan)

    def clean(a: np.ndarray) -> list[float | None]:
        return [None if not np.isfinite(v) else float(v) for v in np.asarray(a, dtype=np.float64)]

    def nanmean(a: np.ndarray) -> float:
        a = np.asarray(a, dtype=np.float64)
        return float(np.nanmean(a)) if np.isfinite(a).any() else float("nan")

    return {
        "per_cell": {"cc": clean(r), "sd_kl": clean(kl), "cc_ceiling": clean(ceiling),
                     "cc_normalised": clean(normalised), "feve": clean(fe), "oracle": clean(oracle)},
        "summary": Scores(cc=r.mean, cc_abs=r.mean_abs, cc_positive=r.mean_positive, sd_kl=float(np.mean(kl)),
                          cc_ceiling=nanmean(ceiling), cc_normalised=nanmean(normalised), feve=nanmean(fe),
                          cells_undefined=r.n_undefined, cells_without_ceiling=no_ceiling).to_dict(),
    }
