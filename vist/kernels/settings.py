"""The tuning knobs of the accelerated paths, in one frozen settings object.

:class:`KernelSettings` holds every choice that changes *how* (never *what*) the fast code
computes: the soft-DTW Triton kernels' tile limits, launch shapes and variants, and
:class:`vist.model.FastViST`'s depthwise-conv backend, fused residual path and recomputation of
activations in the backward pass. Code that needs a knob takes a
``settings`` argument (``None``: :data:`DEFAULT_SETTINGS`); nothing reads an environment
variable or a module global to choose a kernel. A sweep passes its own instances, e.g.
``dataclasses.replace(DEFAULT_SETTINGS, tile_temp_values=16)``.
"""

from __future__ import annotations

from dataclasses import dataclass

from vist.kernels.backend import BACKENDS

__all__ = ["DEFAULT_SETTINGS", "KernelSettings"]


@dataclass(frozen=True)
class KernelSettings:
    """Knobs of the Triton kernels and of :class:`vist.model.FastViST` (results do not depend on them).

    Attributes:
        tile_max: longest sequence (steps) handled by the soft-DTW register-tile kernel; longer
            ones go to the long kernel (and the Vi-ST windows are then copied).
        long_max_lanes: most lanes of the long soft-DTW kernel; longer anti-diagonals are
            processed in chunks of this many cells.
        tile_temp_values: values per thread of the tile kernel's ``[BL, BL, BD]`` feature
            temporaries; sets the feature chunk ``BD`` (64: ``BD = 8`` at ``BL = 16``).
        tile_warps: warps per tile-kernel program (``None``: 1 for ``BL <= 16``, 4 above).
        tile_stages: software-pipelining stages of the tile kernel's feature loops
            (``tl.range``; ``None``: Triton's default).
        tile_prefetch: load each diagonal's costs (and ``Q``) one step ahead in the tile
            kernel's sweeps.
        gather: shift diagonals with ``tl.gather`` in the tile kernel (else a masked sum). If
            the gather variant fails to compile, the masked sum is used with a warning.
        fuse_residual: compute each CMST block's residual path inside its full (1, 3, 3) conv
            in :class:`vist.model.FastViST` (``None``: on CUDA only).
        conv_backend: backend of :class:`vist.model.FastViST`'s depthwise convs, one of
            :data:`vist.kernels.backend.BACKENDS`: ``"auto"`` (Triton on CUDA, PyTorch on CPUs),
            ``"torch"`` or ``"triton"`` (see :func:`vist.kernels.depthwise_conv3d`). The soft-DTW
            functions take their own ``backend`` argument.
        recompute: in :class:`vist.model.FastViST`, recompute each extractor layer's conv →
            BatchNorm → ReLU → projection in the backward pass rather than keep its two
            intermediate activations (less memory for an extra conv and GEMM per layer).
    """

    tile_max: int = 32
    long_max_lanes: int = 1024
    tile_temp_values: int = 64
    tile_warps: int | None = None
    tile_stages: int | None = None
    tile_prefetch: bool = False
    gather: bool = True
    fuse_residual: bool | None = None
    conv_backend: str = "auto"
    recompute: bool = False

    def __post_init__(self) -> None:
        if self.conv_backend not in BACKENDS:
            raise ValueError(f"KernelSettings: conv_backend must be one of {', '.join(map(repr, BACKENDS))}, "
                             f"found {self.conv_backend!r}")
        if not isinstance(self.recompute, bool):
            raise TypeError(f"KernelSettings: recompute must be a bool, found {type(self.recompute).__name__} "
                            f"{self.recompute!r}")
        if self.tile_max < 1 or self.long_max_lanes < 1 or self.tile_temp_values < 1:
            raise ValueError(f"KernelSettings: tile_max, long_max_lanes and tile_temp_values must be >= 1, "
                             f"found {self.tile_max}, {self.long_max_lanes}, {self.tile_temp_values}")


DEFAULT_SETTINGS = KernelSettings()
"""The settings used wherever none are passed."""
