"""Soft-DTW: the vectorised PyTorch path, the dispatcher, and the Vi-ST windowed divergence.

Definitions (Cuturi & Blondel 2017). For sequences ``a [N, d]`` and ``b [M, d]`` with cost
``C[i, j] = ||a_i - b_j||²`` the soft-DTW value is ``R[N, M]`` of the recursion

    R[0, 0] = 0,  R[i, 0] = R[0, j] = +inf,
    R[i, j] = C[i-1, j-1] + softmin_γ(R[i-1, j], R[i, j-1], R[i-1, j-1]),
    softmin_γ(v) = -γ log Σ exp(-v/γ)        (computed as min(v) - γ log Σ exp(-(v - min v)/γ)),

i.e. the unnormalised sum of costs along a soft alignment path. Its gradient with respect to
``C`` is the expected alignment matrix ``E`` (the soft alignment), obtained by the reverse
recursion ``E[i, j] = Σ_{successors s} E[s] · exp((R[s] - C[s] - R[i, j]) / γ)``; the
gradients with respect to the sequences follow without forming any ``[B, N, M, d]`` tensor:
``∂/∂a_i = 2 (a_i Σ_j E[i, j] - Σ_j E[i, j] b_j)`` and symmetrically for ``b``.

The divergence is ``D(a, b) - ½ (D(a, a) + D(b, b))`` (Blondel, Mensch & Vert 2021): zero for
identical inputs.

The CPU path walks the anti-diagonals of ``R`` (all cells on one anti-diagonal are independent),
vectorised over the batch and the diagonal; the diagonals of the row-major ``R`` buffer are plain
strided slices, so no index tensors are needed.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence

import torch

__all__ = ["soft_dtw", "triton_available", "vist_windows", "windowed_divergence"]

_PAIR_SIGN = (1.0, -0.5, -0.5)  # D(a,b) - ½ D(a,a) - ½ D(b,b)


# ---------------------------------------------------------------------------------------------
# input checks and dispatch
# ---------------------------------------------------------------------------------------------

def _check_pair(x: torch.Tensor, y: torch.Tensor, gamma: float) -> None:
    for name, t in (("x", x), ("y", y)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"soft_dtw: {name} must be a torch.Tensor, found {type(t).__name__}")
        if t.dim() != 3:
            raise ValueError(f"soft_dtw: {name} must be [B, length, d], found shape {tuple(t.shape)}")
        if not t.is_floating_point():
            raise TypeError(f"soft_dtw: {name} must be floating point, found {t.dtype}")
        if t.shape[1] < 1 or t.shape[2] < 1:
            raise ValueError(f"soft_dtw: {name} needs length >= 1 and d >= 1, found {tuple(t.shape)}")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"soft_dtw: batch sizes differ: x has {x.shape[0]}, y has {y.shape[0]}")
    if x.shape[2] != y.shape[2]:
        raise ValueError(f"soft_dtw: feature dims differ: x has d={x.shape[2]}, y has d={y.shape[2]}")
    if x.device != y.device:
        raise ValueError(f"soft_dtw: x is on {x.device}, y on {y.device}; expected the same device")
    if not gamma > 0:
        raise ValueError(f"soft_dtw: gamma must be > 0, found {gamma}")


@functools.lru_cache(maxsize=1)
def triton_available() -> bool:
    """Whether Triton can be imported (the GPU kernels need it; the CPU path does not)."""
    try:
        import triton  # noqa: F401
    except Exception:  # pragma: no cover - depends on the installation
        return False
    return True


def _interpreting() -> bool:
    return os.environ.get("TRITON_INTERPRET", "0") == "1"


def _resolve_backend(backend: str, device: torch.device) -> str:
    if backend not in ("auto", "torch", "triton"):
        raise ValueError(f"backend must be 'auto', 'torch' or 'triton', found {backend!r}")
    if backend == "auto":
        return "triton" if device.type == "cuda" and triton_available() else "torch"
    if backend == "triton":
        if not triton_available():
            raise RuntimeError("backend='triton' requested but triton is not installed")
        if device.type != "cuda" and not _interpreting():
            raise RuntimeError(
                f"backend='triton' needs CUDA tensors (found {device}) or TRITON_INTERPRET=1 "
                "set before triton is imported")
    return backend


# ---------------------------------------------------------------------------------------------
# the CPU path
# ---------------------------------------------------------------------------------------------

def sq_euclidean_cost(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Pairwise squared Euclidean cost ``[B, N, M]`` of ``x [B, N, d]`` and ``y [B, M, d]``."""
    xx = (x * x).sum(-1)
    yy = (y * y).sum(-1)
    return (xx[:, :, None] + yy[:, None, :] - 2.0 * torch.bmm(x, y.transpose(1, 2))).clamp_min_(0.0)


def _forward_R(C: torch.Tensor, gamma: float) -> torch.Tensor:
    """The padded accumulated cost ``R [B, N+1, M+1]`` of costs ``C [B, N, M]``."""
    B, N, M = C.shape
    R = C.new_full((B, N + 1, M + 1), float("inf"))
    R[:, 0, 0] = 0.0
    R[:, 1:, 1:] = C
    Rf = R.view(B, -1)
    # cell (i, j) (1-based, padded) lives at flat offset i*(M+1) + j = i*M + s on diagonal s = i + j
    for s in range(2, N + M + 1):
        i0, i1 = max(1, s - M), min(N, s - 1)
        lo, hi = i0 * M + s, i1 * M + s + 1
        cur = Rf[:, lo:hi:M]
        up = Rf[:, lo - M - 1:hi - M - 1:M]      # (i-1, j)
        left = Rf[:, lo - 1:hi - 1:M]            # (i, j-1)
        diag = Rf[:, lo - M - 2:hi - M - 2:M]    # (i-1, j-1)
        v = torch.stack((up, left, diag))
        cur.add_(torch.logsumexp(v.mul_(-1.0 / gamma), dim=0), alpha=-gamma)
    return R


def _backward_E(C: torch.Tensor, R: torch.Tensor, gamma: float) -> torch.Tensor:
    """The soft alignment ``E = ∂R[N, M]/∂C``, ``[B, N, M]``, from costs and the padded ``R``."""
    B, N, M = C.shape
    W = M + 2
    # Q = R - C is the softmin each cell took from its predecessors; -inf beyond the grid
    Q = C.new_full((B, N + 2, W), float("-inf"))
    Q[:, 1:N + 1, 1:M + 1] = R[:, 1:, 1:] - C
    Rx = C.new_zeros((B, N + 2, W))
    Rx[:, 1:N + 1, 1:M + 1] = R[:, 1:, 1:]
    E = C.new_zeros((B, N + 2, W))
    E[:, N, M] = 1.0
    Qf, Rf, Ef = Q.view(B, -1), Rx.view(B, -1), E.view(B, -1)
    step = M + 1  # cell (i, j) sits at flat offset i*(M+1) + s on diagonal s = i + j
    for s in range(N + M - 1, 1, -1):
        i0, i1 = max(1, s - M), min(N, s - 1)
        lo, hi = i0 * step + s, i1 * step + s + 1
        r = Rf[:, lo:hi:step]
        offsets = (W, 1, W + 1)                   # down (i+1, j), right (i, j+1), diagonal
        q = torch.stack([Qf[:, lo + o:hi + o:step] for o in offsets])
        e = torch.stack([Ef[:, lo + o:hi + o:step] for o in offsets])
        w = q.sub_(r).mul_(1.0 / gamma).exp_()
        Ef[:, lo:hi:step] = (w * e).sum(0)
    return E[:, 1:N + 1, 1:M + 1]


class _SoftDTWTorch(torch.autograd.Function):
    """Soft-DTW value ``[B]`` with the hand-written backward (CPU or any device; loops in Python)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, y: torch.Tensor, gamma: float) -> torch.Tensor:
        C = sq_euclidean_cost(x, y)
        R = _forward_R(C, gamma)
        ctx.save_for_backward(x, y, R)
        ctx.gamma = gamma
        return R[:, -1, -1].clone()

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out: torch.Tensor):
        x, y, R = ctx.saved_tensors
        E = _backward_E(sq_euclidean_cost(x, y), R, ctx.gamma)
        E = E * grad_out[:, None, None]
        gx = gy = None
        if ctx.needs_input_grad[0]:
            gx = 2.0 * (x * E.sum(2, keepdim=True) - torch.bmm(E, y))
        if ctx.needs_input_grad[1]:
            gy = 2.0 * (y * E.sum(1)[:, :, None] - torch.bmm(E.transpose(1, 2), x))
        return gx, gy, None


def _sdtw_torch(x: torch.Tensor, y: torch.Tensor, gamma: float, normalize: bool) -> torch.Tensor:
    if not normalize:
        return _SoftDTWTorch.apply(x, y, gamma)
    B = x.shape[0]
    if x.shape[1] == y.shape[1]:
        v = _SoftDTWTorch.apply(torch.cat((x, x, y)), torch.cat((y, x, y)), gamma)
        return v[:B] - 0.5 * (v[B:2 * B] + v[2 * B:])
    return (_SoftDTWTorch.apply(x, y, gamma)
            - 0.5 * (_SoftDTWTorch.apply(x, x, gamma) + _SoftDTWTorch.apply(y, y, gamma)))


# ---------------------------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------------------------

def soft_dtw(x: torch.Tensor, y: torch.Tensor, gamma: float = 0.1, normalize: bool = False,
             backend: str = "auto") -> torch.Tensor:
    """Soft-DTW between batches of sequences, differentiable in both.

    Args:
        x: ``[B, N, d]`` sequences of ``d``-dimensional vectors (e.g. ``N`` frames of ``d`` cells'
            rates, spikes per bin).
        y: ``[B, M, d]``; ``N`` and ``M`` may differ.
        gamma: softmin temperature, in units of the cost (squared rates); > 0. Smaller is closer
            to hard DTW; values down to 1e-3 are stable (log-sum-exp).
        normalize: return the soft-DTW divergence ``D(x,y) - ½(D(x,x) + D(y,y))`` (0 for
            identical inputs, ≥ 0) instead of the raw value.
        backend: ``"torch"`` (vectorised anti-diagonal wavefront, hand-written backward; any
            device), ``"triton"`` (one kernel launch forward and one backward for the whole batch;
            CUDA, or CPU tensors under ``TRITON_INTERPRET=1``) or ``"auto"`` (Triton on CUDA when
            installed, else torch).

    Returns:
        ``[B]`` soft-DTW values (unnormalised sum of costs along the soft path), in the dtype of
        the inputs.
    """
    _check_pair(x, y, gamma)
    gamma = float(gamma)
    if _resolve_backend(backend, x.device) == "triton":
        from vist.kernels import triton_sdtw

        return triton_sdtw.soft_dtw_triton(x, y, gamma, normalize)
    return _sdtw_torch(x, y, gamma, normalize)


def vist_windows(T: int, divisors: Sequence[int] = (20, 10)) -> list[tuple[int, int, int]]:
    """The Vi-ST soft-DTW windows of a length-``T`` clip (SPEC §4).

    For each divisor ``k`` the window size is ``w = ⌊T/k⌋``, the hop ``⌊w/2⌋`` and the starts
    ``0, hop, 2·hop, …`` while ``start < T - w``: the authors' loop skips the last window (the one
    that would end exactly at ``T``); we keep that. At ``T = 128`` this gives ``(6, 3, 41)`` and
    ``(12, 6, 20)``.

    Returns:
        one ``(w, hop, n_windows)`` per divisor.

    Raises:
        ValueError: if a window would be shorter than 2 frames (``T`` too short for the divisor).
    """
    out = []
    for k in divisors:
        w = T // int(k)
        if w < 2:
            raise ValueError(f"vist_windows: T={T} gives window ⌊T/{k}⌋={w}; need at least 2 frames "
                             f"(T >= {2 * int(k)})")
        hop = w // 2
        n = len(range(0, T - w, hop))
        out.append((w, hop, n))
    return out


def _windows_torch(a: torch.Tensor, w: int, hop: int, n: int) -> torch.Tensor:
    """Windows ``[B*n, w, cells]`` (copied) of ``a [B, T, cells]``."""
    win = a.unfold(1, w, hop)[:, :n]            # [B, n, cells, w]
    return win.permute(0, 1, 3, 2).reshape(-1, w, a.shape[2])


def windowed_divergence(pred: torch.Tensor, target: torch.Tensor, divisors: Sequence[int] = (20, 10),
                        gamma: float = 0.1, backend: str = "auto") -> torch.Tensor:
    """The Vi-ST soft-DTW terms ``S_w``: mean windowed soft-DTW divergence per window size.

    Each ``[B, T, cells]`` clip is cut into the windows of :func:`vist_windows`; matching windows
    of ``pred`` and ``target`` are compared as sequences of ``cells``-dimensional vectors with the
    divergence ``D(a,b) - ½(D(a,a) + D(b,b))``, and averaged over batch items and windows.

    Args:
        pred: ``[B, T, cells]`` predicted rates (spikes per bin).
        target: ``[B, T, cells]`` recorded rates.
        divisors: window sizes are ``⌊T/k⌋`` for each ``k`` (the paper: 20 and 10).
        gamma: softmin temperature.
        backend: as in :func:`soft_dtw`. The Triton path reads the windows in place (no copies)
            and runs one launch forward and one backward for all windows of all sizes.

    Returns:
        ``[len(divisors)]`` tensor ``(S_{⌊T/k⌋} for k in divisors)``.
    """
    if pred.dim() != 3 or pred.shape != target.shape:
        raise ValueError(f"windowed_divergence: pred and target must both be [B, T, cells]; found "
                         f"{tuple(pred.shape)} and {tuple(target.shape)}")
    _check_pair(pred, target, gamma)
    windows = vist_windows(pred.shape[1], divisors)
    gamma = float(gamma)
    if _resolve_backend(backend, pred.device) == "triton":
        from vist.kernels import triton_sdtw

        return triton_sdtw.windowed_divergence_triton(pred, target, windows, gamma)
    terms = []
    for w, hop, n in windows:
        d = _sdtw_torch(_windows_torch(pred, w, hop, n), _windows_torch(target, w, hop, n),
                        gamma, normalize=True)
        terms.append(d.mean())
    return torch.stack(terms)
