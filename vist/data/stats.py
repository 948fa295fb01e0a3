"""Firing statistics of a recording, and the ranges the virtual retina is documented to produce."""

from __future__ import annotations

import numpy as np

from vist.data.recording import Recording
from vist.metrics.noise import split_half_reliability

ACTIVE_RATE = 0.05
"""A frame bin is *active* for a cell when its trial-mean count exceeds this (spikes per bin)."""

DOCUMENTED_RANGES: dict[str, tuple[float, float]] = {
    "mean rate (Hz)": (2.0, 15.0),
    "fraction of active bins": (0.05, 0.35),
    "peak rate (spikes/bin)": (1.5, 5.5),
    "split-half reliability (SB)": (0.8, 1.0),
    "Fano factor": (0.3, 1.0),
}
"""Population medians the virtual retina is built to land in (checked by the tests, shown in the
data chapter). Salamander ganglion cells under natural movies fire sparsely (a few Hz on average)
in brief, reliable events reaching 100–150 Hz (3–5 spikes per 33 ms bin), with sub-Poisson count
variability (Fano factor below 1)."""


def firing_statistics(rec: Recording) -> dict[str, np.ndarray]:
    """Per-cell statistics, each ``float64 [cells]``, keyed like :data:`DOCUMENTED_RANGES`.

    * mean rate (Hz): trial-mean count per bin × fps;
    * fraction of active bins: bins whose trial-mean count exceeds :data:`ACTIVE_RATE`;
    * peak rate: the 99th percentile of the trial-mean count per bin (robust to single bins);
    * split-half reliability, Spearman–Brown corrected (:func:`vist.metrics.split_half_reliability`);
    * Fano factor: variance / mean of counts across trials, averaged over active bins.
    """
    spikes = rec.spikes.astype(np.float64)
    mean = spikes.mean(axis=0)
    active = mean > ACTIVE_RATE
    var = spikes.var(axis=0, ddof=1) if rec.n_trials > 1 else np.full_like(mean, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        fano = np.where(active, var / np.where(active, mean, 1.0), np.nan)
        fano = np.nanmean(np.where(active.any(axis=0), fano, np.nan), axis=0) if active.any() else np.full(rec.n_cells, np.nan)
    return {
        "mean rate (Hz)": mean.mean(axis=0) * rec.fps,
        "fraction of active bins": active.mean(axis=0),
        "peak rate (spikes/bin)": np.percentile(mean, 99, axis=0),
        "split-half reliability (SB)": (split_half_reliability(rec.spikes) if rec.n_trials > 1
                                        else np.full(rec.n_cells, np.nan)),
        "Fano factor": fano,
    }


def summary_table(rec: Recording) -> list[dict[str, object]]:
    """One row per statistic: population median, 10th–90th percentiles, documented range."""
    rows = []
    for name, values in firing_statistics(rec).items():
        lo, hi = DOCUMENTED_RANGES[name]
        med = float(np.nanmedian(values))
        rows.append({"statistic": name, "median": round(med, 3),
                     "10th pct": round(float(np.nanpercentile(values, 10)), 3),
                     "90th pct": round(float(np.nanpercentile(values, 90)), 3),
                     "documented range of the median": f"{lo}–{hi}",
                     "inside": bool(lo <= med <= hi)})
    return rows
