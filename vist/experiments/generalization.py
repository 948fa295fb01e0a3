"""The generalisation table: CRNN, I3D+MS-TCN, DINOv2+MS-TCN and Vi-ST, within and across movies.

A run is keyed ``(model name, direction, seed)``; :func:`scores` turns the runs into a tidy frame
(one row per run), :func:`summary` into mean ± sd over seeds per model and direction, and
:func:`findings` into the sentences a chapter prints about them — computed, never typed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from vist.experiments.common import RunLike, beyond_spread, pm, summarise, tidy
from vist.experiments.paper import GENERALIZATION_CC
from vist.train import RunSpec

MODELS: dict[str, dict[str, str]] = {
    "CRNN": {"model": "crnn", "prior": "frames"},
    "I3D+MS-TCN": {"model": "mstcn", "prior": "i3d"},
    "DINOv2+MS-TCN": {"model": "mstcn", "prior": "dinov2"},
    "Vi-ST": {"model": "vist", "prior": "dinov2"},
}
"""Row name → the model and prior of its runs."""

DIRECTIONS: tuple[tuple[str, str], ...] = (("mov1", "mov1"), ("mov2", "mov2"), ("mov1", "mov2"), ("mov2", "mov1"))
"""All four train → test directions of the poster's table."""


def direction(train: str, test: str) -> str:
    return f"{train}→{test}"


def directions_for(train_movie: str | None, test_movie: str | None) -> tuple[tuple[str, str], ...]:
    """The directions a chapter runs: ``train_movie`` alone → within it and across to the other
    movie; both → that one direction; neither → all four.

    Raises:
        ValueError: ``test_movie`` without ``train_movie``.
    """
    if train_movie is None:
        if test_movie is not None:
            raise ValueError(f"test_movie: expected None when train_movie is None, found {test_movie!r}")
        return DIRECTIONS
    if test_movie is not None:
        return ((train_movie, test_movie),)
    other = next(te for tr, te in DIRECTIONS if tr == train_movie and te != train_movie)
    return ((train_movie, train_movie), (train_movie, other))


def specs(directions: Sequence[tuple[str, str]] = DIRECTIONS, seeds: Sequence[int] = (0,),
          **common: Any) -> dict[tuple[str, str, int], RunSpec]:
    """One run per (row name, direction, seed); ``common`` fills the other :class:`RunSpec` fields."""
    return {(name, direction(tr, te), s): RunSpec(train_movie=tr, test_movie=te, seed=s, **m, **common)
            for name, m in MODELS.items() for tr, te in directions for s in seeds}


def scores(runs: Mapping[tuple[str, str, int], RunLike]) -> pd.DataFrame:
    """Tidy scores: one row per run (``model``, ``direction``, ``seed``, cc, feve, sd_kl, …)."""
    return tidy(runs, ("model", "direction"))


def summary(scores_: pd.DataFrame) -> pd.DataFrame:
    """Mean and sd over seeds per model and direction, with the poster's CC (``poster_cc``, real
    data and pretrained weights; NaN where the poster has no value)."""
    out = summarise(scores_, ("model", "direction"))
    order = {d: i for i, d in enumerate(dict.fromkeys(scores_["direction"]))}
    out = out.iloc[np.argsort([order[d] for d in out["direction"]], kind="stable")].reset_index(drop=True)
    out["poster_cc"] = [GENERALIZATION_CC.get(m, {}).get(d) for m, d in zip(out["model"], out["direction"],
                                                                           strict=True)]
    out["poster_cc"] = out["poster_cc"].astype(float)
    return out


_DROP_COLUMNS = ("model", "within", "across", "cc_within", "cc_within_sd", "cc_across", "cc_across_sd",
                 "drop", "drop_sd")


def drops(summary_: pd.DataFrame) -> pd.DataFrame:
    """Per model and training movie with both a within- and an across-movie direction: the CC
    within, across, and the drop (within − across) with its sd (the two sds added in quadrature)."""
    rows = []
    for model in summary_["model"].unique():
        s = summary_[summary_["model"] == model].set_index("direction")
        for d in s.index:
            tr, te = d.split("→")
            if tr != te:
                continue
            across = [x for x in s.index if x.startswith(f"{tr}→") and x != d]
            for a in across:
                rows.append({"model": model, "within": d, "across": a,
                             "cc_within": s.loc[d, "cc_mean"], "cc_within_sd": s.loc[d, "cc_sd"],
                             "cc_across": s.loc[a, "cc_mean"], "cc_across_sd": s.loc[a, "cc_sd"],
                             "drop": s.loc[d, "cc_mean"] - s.loc[a, "cc_mean"],
                             "drop_sd": float(np.hypot(s.loc[d, "cc_sd"], s.loc[a, "cc_sd"]))})
    return pd.DataFrame(rows, columns=_DROP_COLUMNS)


def _ranking(summary_: pd.DataFrame, d: str) -> str:
    s = summary_[summary_["direction"] == d].sort_values("cc_mean", ascending=False)
    return ", ".join(f"{m} ({pm(c, sd, 2)})" for m, c, sd in zip(s["model"], s["cc_mean"], s["cc_sd"],
                                                                 strict=True))


def findings(summary_: pd.DataFrame, reference: str = "Vi-ST") -> list[str]:
    """Sentences about the table, each computed from ``summary_``: the ranking per direction
    (CC mean ± sd over seeds), and per training movie whether each model's cross-movie drop is
    larger than ``reference``'s beyond the seed spread (:func:`vist.experiments.common.beyond_spread`)."""
    out = []
    seeds = int(summary_["seeds"].min()) if len(summary_) else 0
    for d in summary_["direction"].unique():
        over = f"mean ± sd over {seeds} seeds" if seeds > 1 else "one seed"
        out.append(f"**{d}** (CC, {over}), best first: {_ranking(summary_, d)}.")
    dr = drops(summary_)
    for (within, across), g in dr.groupby(["within", "across"], sort=False):
        g = g.set_index("model")
        if reference not in g.index:
            continue
        ref = g.loc[reference]
        parts = []
        for model, r in g.drop(index=reference).iterrows():
            if beyond_spread(r["drop"], r["drop_sd"], ref["drop"], ref["drop_sd"]):
                verdict = "larger than" if r["drop"] > ref["drop"] else "smaller than"
            else:
                verdict = "not distinguishable from"
            if r["drop"] >= 0:
                parts.append(f"{model} loses {r['drop']:.2f} ± {r['drop_sd']:.2f}, {verdict} {reference}'s")
            else:  # a model that scores higher across than within
                parts.append(f"{model} rises by {-r['drop']:.2f} ± {r['drop_sd']:.2f} (its drop is {verdict} "
                             f"{reference}'s)")
        moves = "drops" if ref["drop"] >= 0 else "rises"
        out.append(f"From {within} to {across}, {reference}'s CC {moves} by {abs(ref['drop']):.2f} ± "
                   f"{ref['drop_sd']:.2f}; " + "; ".join(parts) + ".")
        best = g["cc_across"].idxmax()
        out.append(f"Across movies ({across}) the best model is {best} "
                   f"(CC {g.loc[best, 'cc_across']:.2f} ± {g.loc[best, 'cc_across_sd']:.2f}).")
    return out


def stalled(scores_: pd.DataFrame, floor: float = 0.05) -> list[str]:
    """A sentence per model with runs that stayed at chance within their own movie (signed mean
    CC below ``floor``), naming the seeds and their CC: such a run did not learn, and its seed
    pulls the model's mean down and its sd up. Across movies a CC near 0 can be a finding (the
    model does not transfer), so only within-movie runs are read."""
    out = []
    within = scores_[[a == b for a, b in (d.split("→") for d in scores_["direction"])]]
    low = within[within["cc"] < floor]
    for (model, d), g in low.groupby(["model", "direction"], sort=False):
        runs = ", ".join(f"seed {int(s)} (CC {c:.2f})" for s, c in zip(g["seed"], g["cc"], strict=True))
        n = int(((within["model"] == model) & (within["direction"] == d)).sum())
        out.append(f"{model} on {d}: {len(g)} of {n} runs stayed at chance — {runs} — and did not "
                   f"learn; the mean ± sd above includes {'it' if len(g) == 1 else 'them'}.")
    return out
