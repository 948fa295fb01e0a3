"""Euclidean vs non-Euclidean loss (SPEC §6, poster Discussion (c)).

Five arms, each a key of :data:`vist.losses.ABLATIONS`: RMSE alone; + the −ReLU penalty; + the
soft-DTW term on the short windows ``⌊T/20⌋``; on the long windows ``⌊T/10⌋``; on both (the
paper's loss, the baseline run every other chapter trains). Besides CC and SD-KL, the chapter
compares the distributions of response durations (peak widths at the base, the quantity SD-KL
scores) of the predictions with the recorded ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from vist.experiments.ablation import ROWS
from vist.experiments.common import RunLike, beyond_spread, check_choices, labels, mean_sd
from vist.experiments.paper import PAPER_SOURCE  # noqa: F401  (the chapter cites losses.PAPER_SOURCE)
from vist.losses import ABLATIONS as LOSSES
from vist.metrics.sdkl import peak_durations
from vist.presets import get_preset
from vist.train import RunSpec

ARMS: tuple[str, ...] = ("rmse", "rmse+relu", "rmse+relu+sdtw_short", "rmse+relu+sdtw_long", "full")
"""The arms in order of what they add."""

PAPER_CC: dict[str, float] = {"rmse": ROWS["rmse_loss"].paper_cc, "full": ROWS["baseline"].paper_cc}
"""The two arms whose CC the poster's ablation figure gives (Mov1 → Mov2); the loss figure
itself shows no values we can read."""


def windows(arm: str, preset: str) -> tuple[int, ...]:
    """Soft-DTW window lengths (frames) of ``arm`` at the preset's training window length."""
    divisors = LOSSES[arm].get("window_divisors", (20, 10))
    t = get_preset(preset).train.window
    return tuple(t // k for k in divisors)


def label(arm: str, preset: str) -> str:
    """Readable name of an arm, with its soft-DTW windows in frames, e.g. ``"RMSE + −ReLU + soft-DTW (6, 12)"``."""
    if arm not in LOSSES:
        raise ValueError(f"loss arm: expected one of {list(ARMS)}, found {arm!r}")
    parts = ["RMSE"]
    if LOSSES[arm].get("relu_weight", 0.5):
        parts.append("−ReLU")
    w = windows(arm, preset)
    if w:
        parts.append(f"soft-DTW ({', '.join(str(x) for x in w)})")
    return " + ".join(parts)


SMALL_ARMS: tuple[str, ...] = ("rmse", "rmse+relu", "full")
"""The arms the small preset trains (2 CPU cores): its 48-frame training windows make the soft-DTW
windows 2 and 4 frames long, too short for one window size to differ from the other, so the two
single-window arms are left out (the paper preset trains all five)."""


def arm_list(arms: Sequence[str] | None, preset: str = "paper") -> tuple[str, ...]:
    """The arms to run: ``arms`` as given, else all five on ``"paper"`` and :data:`SMALL_ARMS`
    otherwise; ``"full"`` is always included as the reference.

    Raises:
        ValueError: an unknown arm (the message lists them).
    """
    if arms is None:
        return ARMS if preset == "paper" else SMALL_ARMS
    out = check_choices("arms", arms, ARMS)
    return out if "full" in out else (*out, "full")


def specs(arms: Sequence[str], seeds: Sequence[int], **common: Any) -> dict[tuple[str, int], RunSpec]:
    """One Vi-ST run per (arm, seed); ``common`` fills the other :class:`RunSpec` fields."""
    return {(a, s): RunSpec(model="vist", loss=a, seed=s, **common) for a in arms for s in seeds}


def table(runs: Mapping[tuple[str, int], RunLike], preset: str) -> pd.DataFrame:
    """One row per arm, in :data:`ARMS` order: ``loss`` (what it contains), ``key``, ``seeds``, our
    CC and SD-KL over seeds (``cc_mean``, ``cc_sd``, ``sd_kl_mean``, ``sd_kl_sd``), the poster's CC
    (``poster_cc``; NaN where it gives none) and the labels of our runs (``data``, ``prior``,
    ``preset``)."""
    by_arm: dict[str, list[RunLike]] = {}
    for (a, _), run in runs.items():
        by_arm.setdefault(a, []).append(run)
    out = []
    for a in (x for x in ARMS if x in by_arm):
        rs = by_arm[a]
        cc_m, cc_s, n = mean_sd(r.scores.cc for r in rs)
        kl_m, kl_s, _ = mean_sd(r.scores.sd_kl for r in rs)
        out.append({"loss": label(a, preset), "key": a, "seeds": n,
                    "cc_mean": cc_m, "cc_sd": cc_s, "sd_kl_mean": kl_m, "sd_kl_sd": kl_s,
                    "poster_cc": float(PAPER_CC.get(a, np.nan)), **labels(rs)})
    return pd.DataFrame(out)


def durations(pred: np.ndarray, beta: float = 1.0) -> np.ndarray:
    """Every response duration (frames) in a ``[T, cells]`` trace set, all cells pooled: the peak
    widths at the base of the clipped traces that SD-KL compares (:func:`vist.metrics.sdkl.peak_durations`)."""
    return peak_durations(pred, beta)[0]


def duration_summary(widths: np.ndarray) -> dict[str, float]:
    """``events`` (how many durations), their ``median`` and 90th percentile (``p90``), in frames
    (NaN for no events); ``widths`` is ``[events]`` durations in frames (:func:`durations`)."""
    w = np.asarray(widths, dtype=np.float64)
    if w.size == 0:
        return {"events": 0, "median": float("nan"), "p90": float("nan")}
    return {"events": int(w.size), "median": float(np.median(w)), "p90": float(np.percentile(w, 90))}


def findings(rows: pd.DataFrame) -> list[str]:
    """Sentences about the loss table (:func:`table`), computed from it: the arm with the highest
    CC and the one with the lowest SD-KL, and whether the full loss differs from RMSE alone beyond
    the seed spread (:func:`vist.experiments.common.beyond_spread`), in CC and in SD-KL."""
    records = [r for r in rows.to_dict("records") if np.isfinite(r["cc_mean"])]
    if not records:
        return ["No arm was run."]
    best_cc = max(records, key=lambda r: r["cc_mean"])
    best_kl = min(records, key=lambda r: r["sd_kl_mean"] if np.isfinite(r["sd_kl_mean"]) else np.inf)
    out = [f"The highest CC: {best_cc['loss']} ({best_cc['cc_mean']:.3f}); the lowest SD-KL: "
           f"{best_kl['loss']} ({best_kl['sd_kl_mean']:.2f})."]
    by_key = {r["key"]: r for r in records}
    if "full" in by_key and "rmse" in by_key:
        f, r = by_key["full"], by_key["rmse"]
        for name, key, digits in (("CC", "cc", 3), ("SD-KL", "sd_kl", 2)):
            d = f[f"{key}_mean"] - r[f"{key}_mean"]
            real = beyond_spread(f[f"{key}_mean"], f[f"{key}_sd"], r[f"{key}_mean"], r[f"{key}_sd"])
            out.append(f"The full loss against RMSE alone: {name} {d:+.{digits}f}, "
                       + ("beyond the seed spread." if real else "within the seed spread."))
    return out
