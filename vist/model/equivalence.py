"""Same function, two implementations: one forward and backward pass of a model, and differences.

Used to show that :class:`vist.model.fast.FastViST` computes the reference :class:`vist.model.ViST`
(chapter 13, the tests, and the GPU check in ``tools/gpu_train_step.py``): run both on the same
inputs, with the same random state, and compare the output and every parameter gradient.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class Pass:
    """One forward and backward pass: ``output [B, T, cells]`` and ``{parameter name: gradient}``
    (float32 copies)."""

    output: torch.Tensor
    grads: dict[str, torch.Tensor]

    def tensor(self, name: str) -> torch.Tensor:
        """``"output"`` or a parameter's gradient."""
        return self.output if name == "output" else self.grads[name]


def rel_error(a: torch.Tensor, b: torch.Tensor, norm: str = "l2") -> float:
    """Difference of ``a`` from ``b`` relative to ``b``, in float64.

    ``norm="l2"``: ``‖a − b‖ / ‖b‖``; ``norm="max"``: ``max|a − b| / max|b|``.
    """
    if a.shape != b.shape:
        raise ValueError(f"rel_error: shapes differ, {tuple(a.shape)} and {tuple(b.shape)}")
    a, b = a.detach().double(), b.detach().double()
    if norm == "l2":
        return float((a - b).norm() / b.norm().clamp_min(1e-30))
    if norm == "max":
        return float((a - b).abs().max() / b.abs().max().clamp_min(1e-30))
    raise ValueError(f"rel_error: norm must be 'l2' or 'max', found {norm!r}")


def forward_backward(model: nn.Module, x: torch.Tensor, rf: torch.Tensor, probe: torch.Tensor,
                     train: bool = True, bf16: bool = False, seed: int | None = None) -> Pass:
    """Output and gradients of the scalar ``Σ model(x, rf) · probe``.

    Args:
        model: a Vi-ST model (reference or fast).
        x: features ``[B, T, G·G, D]``; rf: ``[B, cells, G, G]``.
        probe: ``[B, T, cells]`` weights of the output (a random direction, so that every output
            element gets its own gradient).
        train: training mode (dropout and BatchNorm batch statistics) or eval mode.
        bf16: bf16 autocast on the model's device.
        seed: seeds torch's generator right before the forward, so that two models draw the same
            dropout masks (``None``: leave the random state alone).
    """
    model.train(train)
    model.zero_grad(set_to_none=True)
    if seed is not None:
        torch.manual_seed(seed)
    with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=bf16):
        y = model(x, rf)
    (y.float() * probe).sum().backward()
    grads = {n: p.grad.detach().float().clone() for n, p in model.named_parameters() if p.grad is not None}
    return Pass(y.detach().float(), grads)


def differences(a: Pass, b: Pass, norm: str = "l2", skip: Iterable[str] = ()) -> dict[str, float]:
    """:func:`rel_error` of ``a`` against ``b`` for ``"output"`` and each gradient, except ``skip``.

    Raises:
        ValueError: the two passes have different parameters.
    """
    if set(a.grads) != set(b.grads):
        raise ValueError(f"differences: the passes have different parameters: "
                         f"{sorted(set(a.grads) ^ set(b.grads))}")
    skipped = set(skip)
    names = ["output", *b.grads]
    return {n: rel_error(a.tensor(n), b.tensor(n), norm) for n in names if n not in skipped}


def vanishing_gradients(model: nn.Module) -> list[str]:
    """Parameters whose gradient is exactly zero in exact arithmetic in training mode: the biases of
    the extractor's convolutions, each followed by BatchNorm (which removes any constant). Both
    implementations give rounding noise there, so relative differences mean nothing."""
    return [n for n, _ in model.named_parameters() if n.startswith("video.layers") and n.endswith("conv.bias")]
