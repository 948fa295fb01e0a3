"""The accelerated paths of vist, in one package: soft-DTW and the depthwise 3D conv op.

Public API:

* :func:`soft_dtw` — soft-DTW value (or divergence) of batches of sequences ``[B, N, d]`` and
  ``[B, M, d]`` with squared-Euclidean cost, differentiable in both;
* :func:`windowed_divergence` — the Vi-ST windowed soft-DTW divergence terms ``S_w`` of
  ``[B, T, cells]`` predictions and targets (SPEC §4), read in place by the GPU kernel;
* :class:`KernelSettings` — the Triton kernels' and the fast model's tuning knobs, one frozen
  object passed to the code that needs it (:data:`DEFAULT_SETTINGS` where none is passed).

Modules, and who uses them:

* :mod:`~vist.kernels.soft_dtw` — the PyTorch path (CPU training) and the dispatcher;
  :mod:`~vist.kernels.triton_sdtw` — its Triton kernels (CUDA);
* :mod:`~vist.kernels.time_conv` — the ``vist::dwconv3d`` op of :class:`vist.model.FastViST`
  (oneDNN on CPUs); :mod:`~vist.kernels.conv_triton` — its Triton kernels (CUDA);
* :mod:`~vist.kernels.backend` (``backend`` argument → implementation),
  :mod:`~vist.kernels.windows` (window geometry), :mod:`~vist.kernels.settings` (knobs);
* :mod:`~vist.kernels.reference` — slow, obviously-correct references (float64 brute force) and a
  faithful transcription of the defective backward of tslearn ≤ 0.9.0.

Triton is imported lazily (only by the two ``*triton*`` modules, on the Triton path): the
package works where it is missing (CPU path only). Measurements: ``benchmarks/README.md``.

May import: nothing else of vist (PyTorch, NumPy, numba, and Triton where installed).
"""

from vist.kernels.settings import DEFAULT_SETTINGS, KernelSettings
from vist.kernels.soft_dtw import soft_dtw, triton_available, vist_windows, windowed_divergence

__all__ = ["DEFAULT_SETTINGS", "KernelSettings", "soft_dtw", "triton_available", "vist_windows",
           "windowed_divergence"]
