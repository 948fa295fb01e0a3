"""The ablation study (SPEC §6, poster Discussion (a)): ten variants of Vi-ST, Mov1 → Mov2.

Each row is a :class:`vist.model.Ablation` (its model switches, prior and loss, and the CC the
poster's figure shows). The baseline row is exactly the Vi-ST run of the generalisation chapter
(same :class:`~vist.train.RunSpec`), so a book build trains it once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from vist.experiments.common import RunLike, beyond_spread, check_choices, labels, mean_sd
from vist.experiments.paper import PAPER_SOURCE  # noqa: F401  (the chapter cites ablation.PAPER_SOURCE)
from vist.model import ABLATIONS, Ablation
from vist.train import RunSpec

ROWS: dict[str, Ablation] = {a.key: a for a in ABLATIONS}
"""Ablation key → row, in the poster's order."""

SMALL_ROWS: tuple[str, ...] = ("baseline", "rmse_loss", "no_video_extractor")
"""The rows the small preset trains (2 CPU cores, about a minute per run): the baseline (shared with
chapter 7), the video extractor, and the RMSE-only loss, whose run chapter 10 shares. "Remove
spikes alignment" is left out there: the paper does not define the operation, so its row tests our
reading of it rather than the paper's model. "Remove the DINOv2 prior" is left out too: with the
untrained prior of the small preset it compares random ViT features with pixels. The paper preset
trains all ten."""

LOSS_KEYS = {"vist": "full", "rmse": "rmse"}
""":attr:`Ablation.loss` → the :data:`vist.losses.ABLATIONS` key of the run."""


def row_keys(rows: Sequence[str] | None, preset: str) -> tuple[str, ...]:
    """The rows to train: ``rows`` as given (checked), else all ten on ``"paper"`` and
    :data:`SMALL_ROWS` otherwise. The baseline is always included (every Δ is taken from it).

    Raises:
        ValueError: an unknown key (the message lists the keys).
    """
    if rows is None:
        return tuple(ROWS) if preset == "paper" else SMALL_ROWS
    keys = check_choices("rows", rows, list(ROWS))
    return keys if "baseline" in keys else ("baseline", *keys)


def spec(key: str, **common: Any) -> RunSpec:
    """The run of ablation row ``key``; ``common`` fills the other :class:`RunSpec` fields
    (data, movies, seed, preset, backbone, layer, weights, epochs).

    Raises:
        ValueError: unknown key.
    """
    if key not in ROWS:
        raise ValueError(f"ablation: expected one of {list(ROWS)}, found {key!r}")
    a = ROWS[key]
    return RunSpec(model="vist", prior=a.prior, model_options=dict(a.model), loss=LOSS_KEYS[a.loss], **common)


def specs(rows: Sequence[str], seeds: Sequence[int], **common: Any) -> dict[tuple[str, int], RunSpec]:
    """One run per (row key, seed), rows in the order given."""
    return {(key, s): spec(key, seed=s, **common) for key in rows for s in seeds}


def table(runs: Mapping[tuple[str, int], RunLike]) -> pd.DataFrame:
    """One row per ablation (all ten, in the poster's order; rows without runs have
    ``status`` "not run with this preset" and NaN scores). Columns: ``ablation`` (its label),
    ``key``, ``seeds``, our CC and SD-KL over seeds (``cc_mean``, ``cc_sd``, ``sd_kl_mean``,
    ``sd_kl_sd``), their change from our baseline (``cc_delta``, ``sd_kl_delta``), the poster's CC
    and its change (``poster_cc``, ``poster_cc_delta``), the labels of our runs (``data``,
    ``prior``, ``preset``) and ``status``. CC: signed mean over cells; SD-KL: mean over cells."""
    by_row: dict[str, list[RunLike]] = {}
    for (key, _), run in runs.items():
        by_row.setdefault(key, []).append(run)
    base_cc = mean_sd(r.scores.cc for r in by_row.get("baseline", []))[0]
    base_kl = mean_sd(r.scores.sd_kl for r in by_row.get("baseline", []))[0]
    paper_base = ROWS["baseline"].paper_cc
    out = []
    for key, a in ROWS.items():
        rs = by_row.get(key, [])
        cc_m, cc_s, n = mean_sd(r.scores.cc for r in rs)
        kl_m, kl_s, _ = mean_sd(r.scores.sd_kl for r in rs)
        lab = labels(rs) if rs else {"data": "–", "prior": "–", "preset": "–"}
        out.append({
            "ablation": a.label, "key": key, "seeds": n,
            "cc_mean": cc_m, "cc_sd": cc_s, "cc_delta": cc_m - base_cc,
            "sd_kl_mean": kl_m, "sd_kl_sd": kl_s, "sd_kl_delta": kl_m - base_kl,
            "poster_cc": a.paper_cc, "poster_cc_delta": round(a.paper_cc - paper_base, 3),
            **lab, "status": "run" if rs else "not run with this preset",
        })
    return pd.DataFrame(out)


def findings(rows: pd.DataFrame) -> list[str]:
    """Sentences about the ablation table (:func:`table`), each computed from it: per row that
    was run, our change in CC from the baseline, whether it is beyond the seed spread
    (:func:`vist.experiments.common.beyond_spread`) and whether its sign agrees with the poster's."""
    records = rows.to_dict("records")
    base = next((r for r in records if r["key"] == "baseline" and r["status"] == "run"), None)
    if base is None:
        return ["The baseline was not run, so no change can be measured."]
    out = [f"Our baseline reaches CC {base['cc_mean']:.3f}"
           + (f" ± {base['cc_sd']:.3f}" if base["cc_sd"] == base["cc_sd"] else "")
           + f" over {base['seeds']} seed(s)."]
    for r in records:
        if r["key"] == "baseline" or r["status"] != "run":
            continue
        d, poster = r["cc_delta"], r["poster_cc_delta"]
        real = beyond_spread(r["cc_mean"], r["cc_sd"], base["cc_mean"], base["cc_sd"])
        sign = "agrees with" if (d < 0) == (poster < 0) else "is opposite to"
        out.append(f"*{r['ablation']}*: CC changes by {d:+.3f} — "
                   + ("beyond the seed spread" if real else "within the seed spread")
                   + f"; its sign {sign} the poster's ({poster:+.3f}).")
    return out
