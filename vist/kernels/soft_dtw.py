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
vectorised over the batch and the diagonal, with ``R`` stored diagonal-major so that every step
reads and writes contiguous memory (a row-major ``R`` makes each diagonal element a separate cache
line and page: 100× slower at 800 × 800).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from vist.kernels.backend import resolve_backend, triton_available
from vist.kernels.settings import KernelSettings
from vist.kernels.windows import unfold_windows, vist_windows

__all__ = ["soft_alignment", "soft_dtw", "triton_available", "vist_windows", "windowed_divergence"]


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


# ---------------------------------------------------------------------------------------------
# the CPU path
# ---------------------------------------------------------------------------------------------

def sq_euclidean_cost(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Pairwise squared Euclidean cost ``[B, N, M]`` of ``x [B, N, d]`` and ``y [B, M, d]``."""
    return ((x[:, :, None, :] - y[:, None, :, :]) ** 2).sum(-1)


def _cost_matrix(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """:func:`sq_euclidean_cost` one frame of the shorter sequence at a time (no ``[B, N, M, d]``).

    The cost is summed from the differences, ``Σ (x − y)²``, not expanded as ``|x|² + |y|² − 2 x·y``:
    the expansion cancels where ``x ≈ y`` (a good prediction, and every ``D(a, a)`` of the
    divergence), and in float32 left the Vi-ST windows' divergence off by ~1e-3 relative; summed
    differences keep it within ~1e-7 of float64, as the per-diagonal path and the Triton kernel.
    """
    B, N, _ = x.shape
    M = y.shape[1]
    if N <= M:
        out = x.new_empty((B, N, M))
        for i in range(N):
            torch.sum((y - x[:, i:i + 1]).square_(), -1, out=out[:, i])
        return out
    out = x.new_empty((B, M, N))
    for j in range(M):
        torch.sum((x - y[:, j:j + 1]).square_(), -1, out=out[:, j])
    return out.transpose(1, 2)


# The DP table is stored diagonal-major: ``Rd[s, b, i] = R[i, s - i]`` (1-based, padded: row and
# column 0 hold the +inf border, R[0, 0] = 0), so every anti-diagonal and its two predecessors
# are contiguous slices. A ``cost(s, i0, i1)`` callback gives the costs ``[B, i1 - i0 + 1]`` of
# cells ``(i, s - i)``, ``i0 <= i <= i1``.

def _diag_range(s: int, N: int, M: int) -> tuple[int, int]:
    return max(1, s - M), min(N, s - 1)


def _forward_diag(cost, B: int, N: int, M: int, gamma: float, like: torch.Tensor) -> torch.Tensor:
    """Soft-DTW table ``Rd [N+M+1, B, N+1]`` (diagonal-major; unused entries +inf)."""
    Rd = like.new_full((N + M + 1, B, N + 1), float("inf"))
    Rd[0, :, 0] = 0.0
    for s in range(2, N + M + 1):
        i0, i1 = _diag_range(s, N, M)
        v = torch.stack((Rd[s - 1, :, i0 - 1:i1],       # (i-1, j)
                         Rd[s - 1, :, i0:i1 + 1],       # (i, j-1)
                         Rd[s - 2, :, i0 - 1:i1]))      # (i-1, j-1)
        Rd[s, :, i0:i1 + 1] = cost(s, i0, i1) - gamma * torch.logsumexp(v.mul_(-1.0 / gamma), dim=0)
    return Rd


def _backward_diag(cost, Rd: torch.Tensor, N: int, M: int, gamma: float, on_diag) -> None:
    """Reverse sweep: the soft alignment ``E = ∂R[N, M]/∂C``, handed diagonal by diagonal to
    ``on_diag(s, i0, i1, e [B, L])``. Only three diagonals of ``E`` are ever held."""
    B = Rd.shape[1]
    ninf = float("-inf")
    # Q = R - C (the softmin each cell took) and E of the two following diagonals, lanes 0..N+1
    q1 = Rd.new_full((B, N + 2), ninf)
    q2 = q1.clone()
    e1 = Rd.new_zeros((B, N + 2))
    e2 = e1.clone()
    for s in range(N + M, 1, -1):
        i0, i1 = _diag_range(s, N, M)
        r = Rd[s, :, i0:i1 + 1]
        if s == N + M:
            e = torch.ones_like(r)
        else:
            q = torch.stack((q1[:, i0 + 1:i1 + 2], q1[:, i0:i1 + 1], q2[:, i0 + 1:i1 + 2]))
            w = q.sub_(r).mul_(1.0 / gamma).exp_()     # successors: down, right, diagonal
            e = (w[0] * e1[:, i0 + 1:i1 + 2] + w[1] * e1[:, i0:i1 + 1]
                 + w[2] * e2[:, i0 + 1:i1 + 2])
        q0 = Rd.new_full((B, N + 2), ninf)
        q0[:, i0:i1 + 1] = r - cost(s, i0, i1)
        e0 = Rd.new_zeros((B, N + 2))
        e0[:, i0:i1 + 1] = e
        on_diag(s, i0, i1, e)
        q1, q2, e1, e2 = q0, q1, e0, e1


def soft_alignment(C: torch.Tensor, gamma: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    """Soft-DTW value ``[B]`` and soft alignment ``E = ∂value/∂C`` ``[B, N, M]`` of a cost matrix.

    ``E[i, j]`` is the expected number of times the soft path visits cell ``(i, j)`` (1 at both
    corners; a hard DTW path as γ → 0). For figures and tests; the training path never forms
    ``C`` or ``E``.
    """
    B, N, M = C.shape

    def cost(s, i0, i1):
        i = torch.arange(i0, i1 + 1, device=C.device)
        return C[:, i - 1, s - i - 1]

    Rd = _forward_diag(cost, B, N, M, gamma, C)
    E = torch.zeros_like(C)

    def put(s, i0, i1, e):
        i = torch.arange(i0, i1 + 1, device=C.device)
        E[:, i - 1, s - i - 1] = e

    _backward_diag(cost, Rd, N, M, gamma, put)
    return Rd[N + M, :, N].clone(), E


def _skew_index(N: int, M: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Flat indices mapping a row-major ``[N, M]`` matrix to diagonal-major ``[N+M+1, N+1]``
    (``idx``; invalid slots point at 0 and are masked by ``ok``), and back (``back [N*M]``)."""
    ss = torch.arange(N + M + 1, device=device)[:, None]
    ii = torch.arange(N + 1, device=device)[None, :]
    jj = ss - ii
    ok = (ii >= 1) & (jj >= 1) & (jj <= M)
    idx = torch.where(ok, (ii - 1) * M + (jj - 1), 0)
    i = torch.arange(1, N + 1, device=device)[:, None]
    j = torch.arange(1, M + 1, device=device)[None, :]
    back = ((i + j) * (N + 1) + i).reshape(-1)
    return idx, ok, back


# wide features and short sequences (the Vi-ST windows): BLAS for costs and gradients
_MATRIX_MAX_CELLS = 1 << 16


class _SoftDTWTorch(torch.autograd.Function):
    """Soft-DTW value ``[B]`` with the hand-written backward (CPU or any device; loops in Python).

    Two ways to feed costs to the diagonal-major recursion, same results:

    * short sequences of many features (``d > 2``, ``N·M <= 65536``: the Vi-ST windows): the cost
      matrix from the frame differences (:func:`_cost_matrix`), reordered diagonal-major once; the
      backward gathers ``E`` back to ``[B, N, M]`` and forms the gradients with two matmuls;
    * otherwise (long, low-dimensional sequences): costs per anti-diagonal from contiguous slices
      of ``x`` and of ``y`` reversed in time (cell ``(i, s - i)`` pairs ``x[i-1]`` with
      ``y_rev[M - s + i]``); the backward adds each diagonal's contribution to the gradients the
      same way, so no ``[B, N, M]`` matrix is formed.

    Neither forms a ``[B, N, M, d]`` tensor.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, y: torch.Tensor, gamma: float) -> torch.Tensor:
        B, N, d = x.shape
        M = y.shape[1]
        ctx.gamma = gamma
        ctx.matrix = d > 2 and N * M <= _MATRIX_MAX_CELLS
        if ctx.matrix:
            C = _cost_matrix(x, y)
            idx, ok, _ = _skew_index(N, M, x.device)
            Cd = (C.reshape(B, -1)[:, idx] * ok).permute(1, 0, 2).contiguous()

            def cost(s, i0, i1):
                return Cd[s, :, i0:i1 + 1]
        else:
            yr = y.flip(1).contiguous()
            Cd = None

            def cost(s, i0, i1):
                return ((x[:, i0 - 1:i1] - yr[:, M - s + i0:M - s + i1 + 1]) ** 2).sum(-1)

        Rd = _forward_diag(cost, B, N, M, gamma, x)
        ctx.save_for_backward(x, y, Rd, Cd)
        return Rd[N + M, :, N].clone()

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out: torch.Tensor):
        x, y, Rd, Cd = ctx.saved_tensors
        B, N, M = x.shape[0], x.shape[1], y.shape[1]
        scale = grad_out[:, None, None]
        if ctx.matrix:
            Ed = torch.zeros_like(Rd)

            def put(s, i0, i1, e):
                Ed[s, :, i0:i1 + 1] = e

            _backward_diag(lambda s, i0, i1: Cd[s, :, i0:i1 + 1], Rd, N, M, ctx.gamma, put)
            _, _, back = _skew_index(N, M, x.device)
            E = Ed.permute(1, 0, 2).reshape(B, -1)[:, back].reshape(B, N, M) * scale
            gx = 2.0 * (x * E.sum(2, keepdim=True) - torch.bmm(E, y))
            gy = 2.0 * (y * E.sum(1)[:, :, None] - torch.bmm(E.transpose(1, 2), x))
            return gx, gy, None
        yr = y.flip(1).contiguous()
        gx = torch.zeros_like(x)
        gyr = torch.zeros_like(yr)

        def diff(s, i0, i1):
            return x[:, i0 - 1:i1] - yr[:, M - s + i0:M - s + i1 + 1]

        def cost(s, i0, i1):
            return (diff(s, i0, i1) ** 2).sum(-1)

        def accumulate(s, i0, i1, e):
            g = 2.0 * e[:, :, None] * diff(s, i0, i1)
            gx[:, i0 - 1:i1] += g
            gyr[:, M - s + i0:M - s + i1 + 1] -= g

        _backward_diag(cost, Rd, N, M, ctx.gamma, accumulate)
        gx = gx * scale if ctx.needs_input_grad[0] else None
        gy = gyr.flip(1) * scale if ctx.needs_input_grad[1] else None
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
             backend: str = "auto", settings: KernelSettings | None = None) -> torch.Tensor:
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
            device), ``"triton"`` (one kernel launch computes values and gradients for the whole
            batch; CUDA, or CPU tensors under ``TRITON_INTERPRET=1``) or ``"auto"`` (Triton on
            CUDA when installed, else torch).
        settings: the Triton kernels' knobs (default :data:`vist.kernels.settings.DEFAULT_SETTINGS`);
            unused by the torch path.

    Returns:
        ``[B]`` soft-DTW values (unnormalised sum of costs along the soft path), in the dtype of
        the inputs.
    """
    _check_pair(x, y, gamma)
    gamma = float(gamma)
    if resolve_backend(backend, x.device) == "triton":
        from vist.kernels import triton_sdtw  # lazy: imports triton, only on the Triton path

        return triton_sdtw.soft_dtw_triton(x, y, gamma, normalize, settings)
    return _sdtw_torch(x, y, gamma, normalize)


def windowed_divergence(pred: torch.Tensor, target: torch.Tensor, divisors: Sequence[int] = (20, 10),
                        gamma: float = 0.1, backend: str = "auto",
                        settings: KernelSettings | None = None) -> torch.Tensor:
    """The Vi-ST soft-DTW terms ``S_w``: mean windowed soft-DTW divergence per window size.

    Each ``[B, T, cells]`` clip is cut into the windows of :func:`vist_windows`; matching windows
    of ``pred`` and ``target`` are compared as sequences of ``cells``-dimensional vectors with the
    divergence ``D(a,b) - ½(D(a,a) + D(b,b))``, and averaged over batch items and windows.

    Args:
        pred: ``[B, T, cells]`` predicted rates (spikes per bin).
        target: ``[B, T, cells]`` recorded rates.
        divisors: window sizes are ``⌊T/k⌋`` for each ``k`` (the paper: 20 and 10).
        gamma: softmin temperature.
        backend: as in :func:`soft_dtw`. The Triton path reads windows of up to 32 frames in
            place (no copies) and runs one launch forward (values and per-window gradients) and
            one backward (overlap-add) for all windows of all sizes; longer windows are copied.
        settings: the Triton kernels' knobs, as in :func:`soft_dtw`.

    Returns:
        ``[len(divisors)]`` tensor ``(S_{⌊T/k⌋} for k in divisors)``.
    """
    if pred.dim() != 3 or pred.shape != target.shape:
        raise ValueError(f"windowed_divergence: pred and target must both be [B, T, cells]; found "
                         f"{tuple(pred.shape)} and {tuple(target.shape)}")
    _check_pair(pred, target, gamma)
    windows = vist_windows(pred.shape[1], divisors)
    gamma = float(gamma)
    if resolve_backend(backend, pred.device) == "triton":
        from vist.kernels import triton_sdtw  # lazy: imports triton, only on the Triton path

        return triton_sdtw.windowed_divergence_triton(pred, target, windows, gamma, settings)
    terms = []
    for w, hop, n in windows:
        d = _sdtw_torch(unfold_windows(pred, w, hop, n), unfold_windows(target, w, hop, n),
                        gamma, normalize=True)
        terms.append(d.mean())
    return torch.stack(terms)
