"""Reference soft-DTW implementations: slow, for tests and for the book — not for training.

* :func:`soft_dtw_bruteforce` — the textbook recursion cell by cell in float64, differentiated by
  PyTorch autograd: the ground truth our kernels are tested against.
* :func:`legacy_tslearn_soft_dtw` — **a deliberately defective function**: a transcription of
  what ``tslearn.metrics.SoftDTWLossPyTorch`` did in tslearn 0.6.3, 0.8.0 and 0.9.0 (their
  ``soft_dtw_loss_pytorch.py`` and ``soft_dtw_fast.py`` are identical in the three releases).
  tslearn ≤ 0.9 cannot be installed beside this project's stack, so the book reproduces its
  defect with this function.

What went wrong in tslearn ≤ 0.9.0. The PyTorch backward called the numba routine
``_njit_soft_dtw_grad(D, R, E, gamma)`` of Blondel's soft-DTW code. That routine expects the
cost matrix *padded* with one extra row and column (shape ``[m+1, n+1]``; Blondel's ``SoftDTW``
class pads it before calling), but the PyTorch wrapper passed the unpadded ``[m, n]`` matrix.
Inside, ``m = D.shape[0] - 1`` and ``n = D.shape[1] - 1`` are therefore one too small, and the
"initialisation of the padding" overwrites real data, in place:

1. the last row and column of ``D`` are set to 0;
2. the last real row and column of ``R`` are set to ``-DBL_MAX``, and ``R[m, n]`` (the returned
   loss value, which the forward returned as a *view* of ``R``) is overwritten by the value of
   the cell before it, ``R[m-1, n-1]``;
3. the reverse recursion runs over the top-left ``(m-1) × (n-1)`` block only, starting from
   ``E = 1`` at the cell before the last one.

The returned alignment ``E`` is thus the soft-DTW gradient of the cost matrix *with its last row
and column removed*, plus a 1 at the last cell: wrong wherever the optimal alignment is not the
diagonal, i.e. on time-shifted signals. And because the output tensor is a view of ``R``, the loss
value read after ``backward()`` (e.g. when logged) is the truncated problem's value. With
``normalize=True`` the value is a fresh tensor and stays right; the gradient is wrong either way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["LegacyResult", "legacy_tslearn_soft_dtw", "soft_dtw_bruteforce"]

_DBL_MAX = np.finfo(np.float64).max


def soft_dtw_bruteforce(x: torch.Tensor, y: torch.Tensor, gamma: float) -> torch.Tensor:
    """Soft-DTW ``[B]`` of ``x [B, N, d]`` and ``y [B, M, d]`` by the plain recursion (float64).

    Every cell is a separate autograd node, so gradients come from PyTorch autograd, independently
    of the hand-written backward passes. O(N·M) Python steps: for tests on small shapes only.
    """
    x, y = x.double(), y.double()
    C = ((x[:, :, None, :] - y[:, None, :, :]) ** 2).sum(-1)
    B, N, M = C.shape
    inf = torch.full((B,), float("inf"), dtype=torch.float64, device=x.device)
    R = [[inf] * (M + 1) for _ in range(N + 1)]
    R[0][0] = torch.zeros(B, dtype=torch.float64, device=x.device)
    for i in range(1, N + 1):
        for j in range(1, M + 1):
            prev = torch.stack((R[i - 1][j], R[i][j - 1], R[i - 1][j - 1]))
            R[i][j] = C[:, i - 1, j - 1] - gamma * torch.logsumexp(-prev / gamma, dim=0)
    return R[N][M]


def _legacy_forward(D: np.ndarray, gamma: float) -> np.ndarray:
    """tslearn ≤ 0.9 ``_njit_soft_dtw``: ``R [m+2, n+2]`` from ``D [m, n]`` (correct)."""
    m, n = D.shape
    R = np.zeros((m + 2, n + 2))
    R[: m + 1, 0] = _DBL_MAX
    R[0, : n + 1] = _DBL_MAX
    R[0, 0] = 0.0
    with np.errstate(over="ignore"):
        for i in range(1, m + 1):
            for j in range(1, n + 1):
                v = -np.array([R[i - 1, j], R[i - 1, j - 1], R[i, j - 1]]) / gamma
                mx = v.max()
                R[i, j] = D[i - 1, j - 1] - gamma * (np.log(np.exp(v - mx).sum()) + mx)
    return R


def _legacy_grad(D: np.ndarray, R: np.ndarray, E: np.ndarray, gamma: float) -> None:
    """tslearn ≤ 0.9 ``_njit_soft_dtw_grad``, transcribed line by line (mutates D, R, E).

    Written for a padded ``D [m+1, n+1]``; tslearn ≤ 0.9's PyTorch backward passed ``[m, n]``.
    """
    m = D.shape[0] - 1
    n = D.shape[1] - 1
    D[:m, n] = 0
    D[m, :n] = 0
    R[1: m + 1, n + 1] = -_DBL_MAX
    R[m + 1, 1: n + 1] = -_DBL_MAX
    E[m + 1, n + 1] = 1
    R[m + 1, n + 1] = R[m, n]
    D[m, n] = 0
    with np.errstate(over="ignore"):
        for j in range(n, 0, -1):
            for i in range(m, 0, -1):
                a = np.exp((R[i + 1, j] - R[i, j] - D[i, j - 1]) / gamma)
                b = np.exp((R[i, j + 1] - R[i, j] - D[i - 1, j]) / gamma)
                c = np.exp((R[i + 1, j + 1] - R[i, j] - D[i, j]) / gamma)
                E[i, j] = E[i + 1, j] * a + E[i, j + 1] * b + E[i + 1, j + 1] * c


@dataclass
class LegacyResult:
    """What tslearn ≤ 0.9's ``SoftDTWLossPyTorch(gamma, normalize)(x, y)`` produced, per item.

    Attributes:
        value: ``[B]`` the loss returned by the forward (correct).
        value_after_backward: ``[B]`` the same tensor read after ``backward()`` (wrong when
            ``normalize=False``: it is a view of the ``R`` that the backward overwrote).
        grad_x: ``[B, N, d]`` the gradient of ``value.sum()`` with respect to ``x`` (wrong).
        alignment: ``[B, N, M]`` the matrix ``E`` the backward returned for the ``(x, y)`` pair.
    """

    value: np.ndarray
    value_after_backward: np.ndarray
    grad_x: np.ndarray
    alignment: np.ndarray


def _legacy_pair(a: np.ndarray, b: np.ndarray, gamma: float) -> tuple[float, float, np.ndarray]:
    D = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
    m, n = D.shape
    R = _legacy_forward(D, gamma)
    value = R[m, n]
    E = np.zeros((m + 2, n + 2))
    _legacy_grad(D.copy(), R, E, gamma)
    return float(value), float(R[m, n]), E[1: m + 1, 1: n + 1]


def legacy_tslearn_soft_dtw(x: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor,
                            gamma: float = 0.1, normalize: bool = False) -> LegacyResult:
    """Reproduce tslearn 0.6.3–0.9.0 ``SoftDTWLossPyTorch`` (value, value after backward, gradient).

    **Defective on purpose** (see the module docstring); float64, loops, for the book's figure.

    Args:
        x: ``[B, N, d]`` sequences (the prediction; the gradient is taken with respect to it).
        y: ``[B, M, d]`` sequences (the target).
        gamma: softmin temperature.
        normalize: the divergence ``D(x,y) - ½(D(x,x) + D(y,y))``, as tslearn computed it.
    """
    x = np.asarray(torch.as_tensor(x).detach().cpu(), dtype=np.float64)
    y = np.asarray(torch.as_tensor(y).detach().cpu(), dtype=np.float64)
    B = x.shape[0]
    vals, after, grads, aligns = np.zeros(B), np.zeros(B), np.zeros_like(x), []
    for k in range(B):
        a, b = x[k], y[k]
        v, va, E = _legacy_pair(a, b, gamma)
        # d/da of Σ E[i,j] ||a_i - b_j||² (autograd through tslearn's distance function)
        g = 2.0 * (a * E.sum(1, keepdims=True) - E @ b)
        aligns.append(E)
        if normalize:
            vxx, _, Exx = _legacy_pair(a, a, gamma)
            vyy, _, _ = _legacy_pair(b, b, gamma)
            v = v - 0.5 * (vxx + vyy)
            va = v  # a fresh tensor: not overwritten
            # x appears twice in D(x, x): both arguments' gradients, times -½
            gxx = 2.0 * (a * Exx.sum(1, keepdims=True) - Exx @ a) \
                + 2.0 * (a * Exx.sum(0)[:, None] - Exx.T @ a)
            g = g - 0.5 * gxx
        vals[k], after[k], grads[k] = v, va, g
    return LegacyResult(value=vals, value_after_backward=after, grad_x=grads,
                        alignment=np.stack(aligns))
