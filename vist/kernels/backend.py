"""Which implementation runs: the ``backend`` argument of the kernels, resolved against the device.

``"torch"`` (PyTorch, any device), ``"triton"`` (CUDA tensors, or CPU tensors when Triton's
interpreter is on: ``TRITON_INTERPRET=1`` set before the kernels are imported) or ``"auto"``
(Triton on CUDA when it is installed, else PyTorch).
"""

from __future__ import annotations

import functools
import os

import torch

__all__ = ["BACKENDS", "resolve_backend", "triton_available"]

BACKENDS = ("auto", "torch", "triton")


@functools.lru_cache(maxsize=1)
def triton_available() -> bool:
    """Whether Triton can be imported (the GPU kernels need it; the CPU path does not)."""
    try:
        import triton  # noqa: F401  # lazy: optional dependency, only probed
    except Exception:  # pragma: no cover - depends on the installation
        return False
    return True


def triton_interpreting() -> bool:
    """Whether Triton's interpreter is on (``TRITON_INTERPRET=1``: kernels run on CPU tensors)."""
    return os.environ.get("TRITON_INTERPRET", "0") == "1"


def resolve_backend(backend: str, device: torch.device) -> str:
    """``"torch"`` or ``"triton"``: the implementation that ``backend`` selects for tensors on ``device``.

    Raises:
        ValueError: ``backend`` is not one of :data:`BACKENDS`.
        RuntimeError: ``"triton"`` requested where Triton is missing, or for CPU tensors
            without the interpreter.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be 'auto', 'torch' or 'triton', found {backend!r}")
    if backend == "auto":
        return "triton" if device.type == "cuda" and triton_available() else "torch"
    if backend == "triton":
        if not triton_available():
            raise RuntimeError("backend='triton' requested but triton is not installed")
        if device.type != "cuda" and not triton_interpreting():
            raise RuntimeError(
                f"backend='triton' needs CUDA tensors (found {device}) or TRITON_INTERPRET=1 "
                "set before triton is imported")
    return backend
