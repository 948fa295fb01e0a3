"""The ablation rows of SPEC §6 (Mov1 → Mov2): what each changes, and the paper's CC.

Each row names the model switches (:class:`~vist.model.vi_st.ViSTConfig` fields), the prior
(``"dinov2"`` or ``"pixels"``) and the loss (``"vist"`` or ``"rmse"``) it uses; the experiment
code reads them. ``paper_cc`` is read off the poster's figure (real data, pretrained weights).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from vist.model.vi_st import ViSTConfig


@dataclass(frozen=True)
class Ablation:
    """One ablation row: ``key``, ``label`` (the paper's wording), ``paper_cc`` and what changes."""

    key: str
    label: str
    paper_cc: float
    model: dict[str, Any] = field(default_factory=dict)
    prior: str = "dinov2"
    loss: str = "vist"


ABLATIONS: tuple[Ablation, ...] = (
    Ablation("baseline", "Vi-ST (baseline)", 0.334),
    Ablation("noncausal_tcn", "replace the causal dilated 3D CNN", 0.326, {"video_extractor": "noncausal"}),
    Ablation("no_rf_mask", "remove the RF mask", 0.328, {"condition": "none"}),
    Ablation("video_condition", "condition on video instead of RF", 0.326, {"condition": "video"}),
    Ablation("noncausal_multiscale", "replace the causal multiscale block", 0.332, {"multiscale": "noncausal"}),
    Ablation("single_kernel", "remove multiscale kernels", 0.322, {"multiscale": "single"}),
    Ablation("rmse_loss", "loss → RMSE only", 0.313, loss="rmse"),
    Ablation("no_prior", "remove the DINOv2 prior", 0.281, prior="pixels"),
    Ablation("no_video_extractor", "remove the video extractor", 0.283, {"video_extractor": "none"}),
    Ablation("no_spike_alignment", "remove spikes alignment", 0.170, {"readout": "mean"}),
)


def ablation_config(key: str, base: ViSTConfig | None = None) -> ViSTConfig:
    """``base`` (default :class:`ViSTConfig`) with the model switches of ablation ``key``.

    Raises:
        ValueError: unknown key.
    """
    rows = {a.key: a for a in ABLATIONS}
    if key not in rows:
        raise ValueError(f"ablation: expected one of {list(rows)}, found {key!r}")
    return replace(base or ViSTConfig(), **rows[key].model)
