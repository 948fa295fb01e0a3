"""The generalisation table (SPEC §6): CRNN, I3D+MS-TCN, DINOv2+MS-TCN and Vi-ST, within and
across movies."""

from __future__ import annotations

from typing import Any

from vist.experiments.paper import GENERALIZATION_CC, PAPER_SOURCE
from vist.train import Run, RunSpec

MODELS: dict[str, dict[str, str]] = {
    "CRNN": {"model": "crnn", "prior": "frames"},
    "I3D+MS-TCN": {"model": "mstcn", "prior": "i3d"},
    "DINOv2+MS-TCN": {"model": "mstcn", "prior": "dinov2"},
    "Vi-ST": {"model": "vist", "prior": "dinov2"},
}
"""Row name → the model and prior of its runs."""

DIRECTIONS: tuple[tuple[str, str], ...] = (("mov1", "mov1"), ("mov2", "mov2"), ("mov1", "mov2"), ("mov2", "mov1"))


def direction(train: str, test: str) -> str:
    return f"{train}→{test}"


def specs(directions: tuple[tuple[str, str], ...] = DIRECTIONS, **common: Any) -> dict[tuple[str, str], RunSpec]:
    """One run per (row name, direction); ``common`` fills the other :class:`RunSpec` fields."""
    return {(name, direction(tr, te)): RunSpec(train_movie=tr, test_movie=te, **m, **common)
            for name, m in MODELS.items() for tr, te in directions}


def table(runs: dict[tuple[str, str], Run]) -> list[dict[str, Any]]:
    """Rows: model, direction, our CC (signed mean) and SD-KL, the poster's CC, and labels."""
    rows = []
    for (name, d), run in runs.items():
        paper = GENERALIZATION_CC[name].get(d)
        rows.append({"model": name, "train→test": d,
                     "CC (ours)": round(run.summary["CC (signed mean, headline)"], 3),
                     "SD-KL (ours)": round(run.summary["sd_kl"], 3),
                     "CC / noise ceiling (ours)": round(run.summary["cc_normalised"], 3),
                     f"CC ({PAPER_SOURCE})": "–" if paper is None else paper,
                     "our data": run.labels["data"], "our prior": run.labels["prior"],
                     "preset": run.labels["preset"]})
    return rows
