"""The scores of a run on its test split, as one typed record (SPEC §5).

:class:`Scores` holds the summaries over cells that :func:`vist.train.evaluate.evaluate` computes
and a run stores in ``run.json`` (``metrics.summary``, keyed by the field names). Its field names
are data keys, never display text: the titles a chapter shows in a table are applied there
(:data:`vist.report.TITLES`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

__all__ = ["LEGACY_KEYS", "Scores"]

LEGACY_KEYS: dict[str, str] = {
    "CC (signed mean, headline)": "cc",
    "CC (mean |r|, authors' logs)": "cc_abs",
    "CC (mean of r>0, authors' prediction code)": "cc_positive",
    "cells with undefined r": "cells_undefined",
    "cells without a usable ceiling": "cells_without_ceiling",
}
"""Summary key of run format 1 (display labels) → :class:`Scores` field; the other keys were
already the field names."""


@dataclass(frozen=True)
class Scores:
    """Summaries over the cells of one prediction ``[T_test, cells]`` against its test split.

    Every CC is a Pearson r (dimensionless), computed per cell against the trial-mean rate and
    then averaged over cells; a cell with undefined r (a constant trace) counts as r = 0.

    Attributes:
        cc: signed mean of r over cells — the headline of this book.
        cc_abs: mean of ``|r|`` over cells (what the authors' training logs averaged).
        cc_positive: mean of r over the cells with ``r > 0`` (the authors' prediction code);
            NaN if there are none.
        sd_kl: mean over cells of the spike-duration KL divergence (nats; lower is better).
        cc_ceiling: mean over cells of the noise ceiling sqrt(split-half reliability,
            Spearman–Brown) of the test trials; NaN if no cell has one.
        cc_normalised: mean of ``r / ceiling`` over the cells with a usable (positive) ceiling.
        feve: mean fraction of explainable variance explained (Cadena et al. 2019); NaN with a
            single test trial.
        cells_undefined: cells whose r is undefined; ``None`` when the run did not record it.
        cells_without_ceiling: cells without a usable ceiling (left out of ``cc_normalised``);
            ``None`` when the run did not record it (runs stored before it was counted).

    Float summaries are finite or NaN, never ±inf.
    """

    cc: float
    cc_abs: float
    cc_positive: float
    sd_kl: float
    cc_ceiling: float
    cc_normalised: float
    feve: float
    cells_undefined: int | None = None
    cells_without_ceiling: int | None = None

    def to_dict(self) -> dict[str, float | int]:
        """The summaries keyed by field name, in the order ``run.json`` stores them; counts that
        were not recorded (``None``) are left out."""
        d = asdict(self)
        order = ("cc", "cc_abs", "cc_positive", "cells_undefined", "sd_kl", "cc_ceiling", "cc_normalised",
                 "cells_without_ceiling", "feve")
        return {k: d[k] for k in order if d[k] is not None}

    @classmethod
    def from_dict(cls, summary: Mapping[str, Any]) -> Scores:
        """The scores of a stored summary (keys of either run format); ``None`` (``null`` in
        ``run.json``) in a float summary is NaN.

        Raises:
            ValueError: a float summary is missing or an unknown key is present.
        """
        data = {LEGACY_KEYS.get(k, k): v for k, v in summary.items()}
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"scores: unknown summary keys {unknown}; expected some of {sorted(names)}")
        counts = ("cells_undefined", "cells_without_ceiling")
        missing = sorted(names - set(data) - set(counts))
        if missing:
            raise ValueError(f"scores: the summary lacks {missing}")
        return cls(**{k: (None if v is None else int(v)) if k in counts else
                      (math.nan if v is None else float(v)) for k, v in data.items()})
