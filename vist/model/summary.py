"""Model inspection: parameter counts, the tensor shape after every stage (forward hooks), causality."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn


def count_parameters(module: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters of ``module`` (all, or only those with ``requires_grad``)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def shape_table(model: nn.Module, *inputs: Any, depth: int = 1, **kwargs: Any) -> list[dict]:
    """Run ``model(*inputs, **kwargs)`` in eval mode and record every submodule's output.

    Args:
        depth: how deep into the module tree to report (1 = the model's direct children, and
            the children of ``ModuleList``/``Sequential`` containers at that level).

    Returns:
        One row per call in execution order: ``stage`` (dotted name), ``module`` (class name),
        ``output`` (shape tuple), ``params`` (parameters of that submodule), plus a final row for
        the whole model.
    """
    rows: list[dict] = []
    handles = []

    def visit(module: nn.Module, prefix: str, level: int) -> None:
        for name, child in module.named_children():
            full = f"{prefix}{name}"
            if isinstance(child, (nn.ModuleList, nn.Sequential)) and level <= depth:
                if isinstance(child, nn.Sequential) and level == depth:
                    register(full, child)
                else:
                    visit(child, full + ".", level)
            elif level <= depth:
                register(full, child)
                if level < depth:
                    visit(child, full + ".", level + 1)

    def register(name: str, module: nn.Module) -> None:
        def hook(mod: nn.Module, args: Any, out: Any) -> None:
            shape = tuple(out.shape) if torch.is_tensor(out) else tuple(tuple(o.shape) for o in out)
            rows.append({"stage": name, "module": type(mod).__name__, "output": shape,
                         "params": count_parameters(mod)})
        handles.append(module.register_forward_hook(hook))

    visit(model, "", 1)
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            out = model(*inputs, **kwargs)
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    rows.append({"stage": "(model)", "module": type(model).__name__, "output": tuple(out.shape),
                 "params": count_parameters(model)})
    return rows


def causality_profile(model: nn.Module, x: torch.Tensor, t0: int, *extra: Any,
                      seed: int = 0, eval_mode: bool = True) -> np.ndarray:
    """Per frame, the largest output change when every input from frame ``t0`` on is redrawn.

    Args:
        model: called as ``model(x, *extra)`` → ``[B, T, cells]``.
        x: inputs ``[B, T, ...]`` (time second).
        t0: first replaced frame.
        seed: of the redrawn inputs.
        eval_mode: run in eval mode (default); ``False`` runs in training mode (BatchNorm with
            batch statistics, dropout active — use a model without dropout to compare).

    Returns:
        ``float64 [T]``: ``max |y − y'|`` over batch and cells at each frame. A causal model gives
        exactly 0 before ``t0``.
    """
    g = torch.Generator(device=x.device).manual_seed(seed)
    x2 = x.clone()
    x2[:, t0:] = torch.randn(x2[:, t0:].shape, generator=g, device=x.device, dtype=x.dtype)
    was_training = model.training
    model.train(not eval_mode)
    try:
        with torch.no_grad():
            diff = (model(x, *extra) - model(x2, *extra)).abs()
    finally:
        model.train(was_training)
    return diff.amax(dim=(0, 2)).double().cpu().numpy()


def input_footprint(model: nn.Module, x: torch.Tensor, t: int, *extra: Any) -> np.ndarray:
    """``Σ |∂ y[:, t, :] / ∂ x[:, s]|`` for every input frame s (eval mode): which frames output t reads.

    Returns:
        ``float64 [T]``; zero outside the model's temporal reach around ``t``.
    """
    was_training = model.training
    model.eval()
    x = x.detach().clone().requires_grad_(True)
    try:
        model(x, *extra)[:, t].sum().backward()
    finally:
        model.train(was_training)
    return x.grad.abs().flatten(2).sum(dim=(0, 2)).double().cpu().numpy()
