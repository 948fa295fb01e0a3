"""The Vi-ST training loss (SPEC §4) and its ablations.

``L = 0.1 · RMSE(ŷ, y) + 0.5 · mean(ReLU(-ŷ)) + 5e-6 · (S_6 + S_12)``

* ``RMSE`` over every element of the ``[B, T, cells]`` clip, in spikes per bin;
* ``mean(ReLU(-ŷ))`` penalises negative predicted rates (a rate cannot be negative);
* ``S_w`` (:func:`vist.kernels.windowed_divergence`): the soft-DTW divergence
  ``D(a,b) - ½(D(a,a) + D(b,b))`` (γ = 0.1, squared-Euclidean cost between the ``cells``-vectors
  of two frames) between matching length-``w`` windows of ŷ and y, averaged over batch items and
  windows. ``w ∈ {⌊T/20⌋, ⌊T/10⌋}`` (6 and 12 at T = 128), starts ``0, ⌊w/2⌋, 2⌊w/2⌋, …`` while
  ``start < T - w`` — the authors' loop never takes the window that ends exactly at ``T``; we keep
  that.

The soft-DTW terms are small (weight 5e-6: a sum of squared rate differences over a whole path
of ``cells``-dimensional frames is large); they reward getting the *shape and timing* of
responses right even where a frame-by-frame error would punish a one-frame lag twice.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from vist.kernels import vist_windows, windowed_divergence

__all__ = ["ABLATIONS", "ViSTLoss"]

ABLATIONS: dict[str, dict] = {
    "rmse": dict(relu_weight=0.0, window_divisors=()),
    "rmse+relu": dict(window_divisors=()),
    "rmse+relu+sdtw_short": dict(window_divisors=(20,)),
    "rmse+relu+sdtw_long": dict(window_divisors=(10,)),
    "full": dict(),
}
"""The loss ablation of the paper (SPEC §6, Euclidean vs non-Euclidean): name → ViSTLoss kwargs.
``sdtw_short`` is the ⌊T/20⌋ window (6 frames at T = 128), ``sdtw_long`` the ⌊T/10⌋ one (12)."""


class ViSTLoss(torch.nn.Module):
    """The Vi-ST loss on ``[B, T, cells]`` predictions and targets (rates, spikes per bin).

    Args:
        rmse_weight: weight of the RMSE (paper 0.1).
        relu_weight: weight of ``mean(ReLU(-ŷ))`` (paper 0.5; 0 switches it off).
        sdtw_weight: weight of the sum of soft-DTW terms (paper 5e-6).
        window_divisors: windows ``⌊T/k⌋`` for each ``k`` (paper ``(20, 10)``; ``()`` switches
            soft-DTW off).
        gamma: soft-DTW temperature (paper 0.1).
        backend: soft-DTW backend, as in :func:`vist.kernels.soft_dtw` (``"auto"``: Triton on CUDA).
    """

    def __init__(self, rmse_weight: float = 0.1, relu_weight: float = 0.5,
                 sdtw_weight: float = 5e-6, window_divisors: Sequence[int] = (20, 10),
                 gamma: float = 0.1, backend: str = "auto") -> None:
        super().__init__()
        self.rmse_weight = float(rmse_weight)
        self.relu_weight = float(relu_weight)
        self.sdtw_weight = float(sdtw_weight)
        self.window_divisors = tuple(int(k) for k in window_divisors)
        self.gamma = float(gamma)
        self.backend = backend

    @classmethod
    def ablation(cls, name: str, **kwargs) -> ViSTLoss:
        """The loss of one ablation arm (a key of :data:`ABLATIONS`)."""
        if name not in ABLATIONS:
            raise ValueError(f"unknown loss ablation {name!r}; expected one of {sorted(ABLATIONS)}")
        return cls(**{**ABLATIONS[name], **kwargs})

    def terms(self, pred: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        """The unweighted terms: ``rmse``, ``relu`` and ``sdtw_<w>`` for each window size ``w``."""
        if pred.dim() != 3 or pred.shape != target.shape:
            raise ValueError(f"ViSTLoss: pred and target must both be [B, T, cells]; found "
                             f"{tuple(pred.shape)} and {tuple(target.shape)}")
        if 0 in pred.shape:
            what = ("batch size B", "clip length T", "number of cells")[list(pred.shape).index(0)]
            raise ValueError(f"ViSTLoss: expected a non-empty [B, T, cells] batch (B, T, cells >= 1); found "
                             f"{what} 0 in shape {tuple(pred.shape)}")
        target = target.to(pred.dtype)
        # clamp keeps the gradient finite when ŷ == y exactly (changes the value only below 1e-20)
        out = {"rmse": torch.mean((pred - target) ** 2).clamp_min(1e-20).sqrt(),
               "relu": torch.relu(-pred).mean()}
        if self.window_divisors:
            sizes = [w for w, _, _ in vist_windows(pred.shape[1], self.window_divisors)]
            s = windowed_divergence(pred, target, self.window_divisors, self.gamma, self.backend)
            for w, v in zip(sizes, s, strict=True):
                out[f"sdtw_{w}"] = v
        return out

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The scalar loss of ``pred`` and ``target``, both ``[B, T, cells]``."""
        t = self.terms(pred, target)
        loss = self.rmse_weight * t["rmse"]
        if self.relu_weight:
            loss = loss + self.relu_weight * t["relu"]
        sdtw = [v for k, v in t.items() if k.startswith("sdtw_")]
        if sdtw:
            loss = loss + self.sdtw_weight * sum(sdtw)
        return loss
