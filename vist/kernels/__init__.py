"""Soft-DTW (Cuturi & Blondel 2017) for the Vi-ST loss: a PyTorch CPU path and Triton GPU kernels.

* :func:`soft_dtw` — soft-DTW value (or divergence) of batches of sequences ``[B, N, d]`` and
  ``[B, M, d]`` with squared-Euclidean cost, differentiable in both;
* :func:`windowed_divergence` — the Vi-ST windowed soft-DTW divergence terms ``S_w`` of
  ``[B, T, cells]`` predictions and targets (SPEC §4), read in place by the GPU kernel;
* :class:`KernelSettings` — the Triton kernels' and the fast model's tuning knobs, one frozen
  object passed to the code that needs it (:data:`DEFAULT_SETTINGS` where none is passed);
* :mod:`vist.kernels.reference` — slow, obviously-correct references (float64 brute force) and a
  faithful transcription of the defective backward of tslearn ≤ 0.9.0.

Triton is imported lazily: the package works where it is missing (CPU path only).
"""

from vist.kernels.settings import DEFAULT_SETTINGS, KernelSettings
from vist.kernels.soft_dtw import soft_dtw, triton_available, vist_windows, windowed_divergence

__all__ = ["DEFAULT_SETTINGS", "KernelSettings", "soft_dtw", "triton_available", "vist_windows",
           "windowed_divergence"]
