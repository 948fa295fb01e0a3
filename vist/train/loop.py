"""The training loop: AdamW, one-cycle schedule, stochastic weight averaging, checkpoints.

Every epoch ends with a checkpoint written atomically (model, optimiser, SWA average, random
states — the CPU generator, and on CUDA the device's generator, which dropout draws from there —
history, and what the run was: settings, loss, seed, data shape, parameter shapes), so an
interrupted run resumes to exactly the weights an uninterrupted one reaches. A non-finite loss
stops the run with :class:`TrainingDiverged` at the end of its epoch (the step losses are read once
per epoch, so that steps on a GPU never wait for the host); the last checkpoint, from the last good
epoch, is kept.

Checkpoints are plain data (tensors, numbers, strings, lists, dicts) and are read with
``torch.load(..., weights_only=True)``: a file carrying other pickled objects is refused, never
executed. A checkpoint that cannot be read (truncated, empty, not plain data) or that was written
for another run (other settings, loss, seed, data or model) is reported with a warning naming the
file, and training starts from scratch.
"""

from __future__ import annotations

import copy
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from vist.cache import atomic_path, json_safe
from vist.data import WindowSampler
from vist.losses import ViSTLoss
from vist.presets import TrainSettings
from vist.progress import progress as progress_bar
from vist.train.inputs import Prepared
from vist.train.schedule import one_cycle_lr


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite."""


@dataclass
class Trained:
    """The outcome of :func:`fit`: the final model (SWA average if enabled) and the log.

    ``train_seconds`` is the wall time of training; ``step_ms`` the median over epochs of an
    epoch's time per optimiser step (ms; window sampling included, per-epoch scoring not).
    """

    model: nn.Module
    history: list[dict[str, Any]] = field(default_factory=list)
    train_seconds: float = 0.0
    step_ms: float = 0.0
    resumed_from: int | None = None


def windows(x: torch.Tensor, y: torch.Tensor, starts: np.ndarray, length: int, device: torch.device
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack windows ``x[s:s+length]`` → ``[B, length, …]`` and ``y`` → ``[B, length, cells]``.

    Indexing happens where ``x`` lives: on a GPU the whole movie's inputs stay on the device (in
    bf16) and no host transfer happens per step. On the CPU the windows are cast to float32.
    """
    idx = torch.as_tensor(starts, device=x.device)[:, None] + torch.arange(length, device=x.device)[None]
    xs = x[idx]
    if xs.device.type == "cpu":
        xs = xs.to(torch.float32)
    return xs.to(device, non_blocking=True), y[idx].to(device, non_blocking=True)


def on_device(data: Prepared, device: torch.device, bf16: bool) -> Prepared:
    """``data`` with its inputs and targets moved to ``device`` once (inputs in bf16 on CUDA)."""
    if device.type != "cuda":
        return data
    dtype = torch.bfloat16 if bf16 else torch.float32
    moved = copy.copy(data)
    moved.train_x = data.train_x.to(device, dtype)
    moved.test_x = moved.train_x if data.test_x is data.train_x else data.test_x.to(device, dtype)
    moved.train_y = data.train_y.to(device)
    moved.test_y = data.test_y.to(device)
    return moved


def _autocast(device: torch.device, settings: TrainSettings):
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda" and settings.bf16)


@torch.no_grad()
def _update_bn(model: nn.Module, data: Prepared, sampler_starts: list[np.ndarray], settings: TrainSettings,
               device: torch.device) -> None:
    """Recompute BatchNorm statistics of the averaged model over training windows (as SWA needs)."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    momenta = {m: m.momentum for m in norms}
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the passes below
    was_training = model.training
    model.train()
    rf = data.rf.to(device)
    for starts in sampler_starts:
        x, _ = windows(data.train_x, data.train_y, starts, settings.window, device)
        with _autocast(device, settings):
            model(x, rf)
    for m in norms:
        m.momentum = momenta[m]
    model.train(was_training)


CHECKPOINT_FORMAT = 2
"""Bumped whenever what a checkpoint holds changes (2: plain data only, the run's identity, the
CUDA generator)."""

_CHECKPOINT_KEYS = ("format", "run", "model", "optimizer", "swa", "swa_n", "history", "sampler",
                    "torch_rng", "cuda_rng", "epoch")


def _save(path: Path, state: dict[str, Any]) -> None:
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def rng_state(device: torch.device) -> dict[str, torch.Tensor | None]:
    """The random generators training draws from: the CPU one and, on CUDA, ``device``'s."""
    cuda = torch.cuda.get_rng_state(device) if device.type == "cuda" else None
    return {"torch_rng": torch.get_rng_state(), "cuda_rng": cuda}


def restore_rng_state(state: dict[str, Any], device: torch.device) -> None:
    """Set the generators saved by :func:`rng_state` (the CUDA one only when training on CUDA)."""
    torch.set_rng_state(state["torch_rng"].cpu())
    if device.type == "cuda" and state.get("cuda_rng") is not None:
        torch.cuda.set_rng_state(state["cuda_rng"].cpu(), device)


def run_identity(model: nn.Module, data: Prepared, settings: TrainSettings, loss_name: str, seed: int,
                 run_key: dict[str, Any] | None) -> dict[str, Any]:
    """What a checkpoint must have been written for to be resumed: plain data, JSON-comparable."""
    return json_safe({
        "settings": settings.to_dict(), "loss": loss_name, "seed": int(seed),
        "data": {"train_segments": data.train_segments, "train_x": list(data.train_x.shape),
                 "cells": data.cells},
        "parameters": {k: list(v.shape) for k, v in model.state_dict().items()},
        "run": run_key,
    }, default=str)


def _plain(value: Any) -> Any:
    """``value`` with NumPy and 0-d tensor scalars as Python numbers (a checkpoint holds plain data)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_plain(v) for v in value)
    if isinstance(value, np.generic) or (isinstance(value, torch.Tensor) and value.dim() == 0):
        return value.item()
    return value


def _unusable(path: Path, why: str) -> None:
    warnings.warn(f"checkpoint {path} {why}; training from scratch", stacklevel=3)


def read_checkpoint(path: Path, identity: dict[str, Any]) -> dict[str, Any] | None:
    """The state stored in ``path`` if it can resume the run ``identity``; else ``None``.

    The file is read with ``weights_only=True`` (plain data only: nothing in it is executed). A
    file that cannot be read that way, lacks an entry, is of another format or was written for
    another run gives a :class:`UserWarning` naming the file and ``None``.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated/empty (RuntimeError, EOFError), not plain data (UnpicklingError)
        text = str(err).strip().splitlines()[0] if str(err).strip() else ""
        _unusable(path, f"cannot be read as a plain-data checkpoint ({type(err).__name__}: {text[:200]})")
        return None
    if not isinstance(state, dict):
        _unusable(path, f"holds a {type(state).__name__}, not a checkpoint")
        return None
    if state.get("format") != CHECKPOINT_FORMAT:
        _unusable(path, f"is of checkpoint format {state.get('format')}, expected {CHECKPOINT_FORMAT}")
        return None
    missing = [k for k in _CHECKPOINT_KEYS if k not in state]
    if missing:
        _unusable(path, f"lacks the entries {missing}")
        return None
    if state["run"] != identity:
        found = state["run"] if isinstance(state["run"], dict) else {}
        differ = sorted(k for k in set(identity) | set(found) if identity.get(k) != found.get(k))
        _unusable(path, f"was written for another run (it differs in: {', '.join(differ)})")
        return None
    return state


def fit(model: nn.Module, data: Prepared, settings: TrainSettings, loss_name: str = "full",
        seed: int = 0, device: torch.device | str = "cpu", checkpoint: Path | None = None,
        evaluate: Callable[[nn.Module], dict[str, float]] | None = None, progress: bool = True,
        stop_after_epoch: int | None = None, run_key: dict[str, Any] | None = None) -> Trained:
    """Train ``model`` on ``data``'s training segments.

    Args:
        model: freshly initialised model (its weights are the run's starting point).
        data: the run's tensors (:func:`vist.train.inputs.prepare`).
        settings: optimisation settings of the preset.
        loss_name: a key of :data:`vist.losses.ABLATIONS`.
        seed: seeds window sampling and dropout.
        device: where to train.
        checkpoint: file to write after every epoch and to resume from if it exists (and was
            written for this run: see the module docstring).
        evaluate: called with the model (in eval mode) after every epoch; its dict joins the log.
        progress: show a progress bar.
        stop_after_epoch: stop after this epoch (0-based) — to test resuming.
        run_key: more of what makes the run (e.g. its spec): a checkpoint written with another
            ``run_key`` is not resumed.

    Raises:
        TrainingDiverged: a non-finite loss; the checkpoint of the last good epoch stays on disk.
    """
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed: expected a non-negative integer, found {seed!r}")
    device = torch.device(device)
    model = model.to(device)
    data = on_device(data, device, settings.bf16)
    loss_fn = ViSTLoss.ablation(loss_name)
    opt = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    sampler = WindowSampler(data.train_segments, settings.window, settings.batch,
                            settings.batches_per_epoch, seed=seed)
    rf = data.rf.to(device)
    swa: nn.Module | None = None
    swa_n = 0
    history: list[dict[str, Any]] = []
    start_epoch, resumed = 0, None
    torch.manual_seed(seed)
    identity = run_identity(model, data, settings, loss_name, seed, run_key)
    state = read_checkpoint(checkpoint, identity) if checkpoint is not None and checkpoint.exists() else None
    if state is not None:
        initial = copy.deepcopy(model.state_dict())
        try:
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
            if state["swa"] is not None:
                swa = copy.deepcopy(model)
                swa.load_state_dict(state["swa"])
            sampler.rng.bit_generator.state = state["sampler"]
            restore_rng_state(state, device)
            swa_n, history = int(state["swa_n"]), list(state["history"])
            start_epoch = resumed = int(state["epoch"]) + 1
        except (RuntimeError, ValueError, KeyError, TypeError) as err:
            _unusable(checkpoint, f"does not fit this run ({type(err).__name__}: {str(err)[:200]})")
            model.load_state_dict(initial)
            opt = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
            sampler = WindowSampler(data.train_segments, settings.window, settings.batch,
                                    settings.batches_per_epoch, seed=seed)
            swa, swa_n, history, start_epoch, resumed = None, 0, [], 0, None
            torch.manual_seed(seed)
    steps_total = settings.steps
    warmup = settings.warmup_epochs * settings.batches_per_epoch
    step_times: list[float] = []
    t_start = time.perf_counter()
    bar = progress_bar(total=steps_total, initial=start_epoch * settings.batches_per_epoch, show=progress,
                       desc="training", unit="step", mininterval=2.0)
    for epoch in range(start_epoch, settings.epochs):
        model.train()
        # the step losses stay where they were computed and are read once per epoch: reading each
        # one would make every step wait for the GPU
        step_losses: list[torch.Tensor] = []
        t_epoch = time.perf_counter()
        for i, starts in enumerate(sampler):
            step = epoch * settings.batches_per_epoch + i
            for group in opt.param_groups:
                group["lr"] = one_cycle_lr(step, steps_total, warmup, settings.lr, settings.lr_start,
                                           settings.lr_end)
            x, y = windows(data.train_x, data.train_y, starts, settings.window, device)
            with _autocast(device, settings):
                pred = model(x, rf)
            loss = loss_fn(pred.float(), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step_losses.append(loss.detach())
            bar.update(1)
        epoch_losses = torch.stack(step_losses).float().cpu()  # waits for the epoch's last step
        step_times.append((time.perf_counter() - t_epoch) / max(len(step_losses), 1))
        bad = (~torch.isfinite(epoch_losses)).nonzero()
        if len(bad):
            bar.close()
            i = int(bad[0])
            kept = (f"the checkpoint of the last good epoch ({epoch - 1}) is kept at {checkpoint}"
                    if checkpoint is not None and epoch > 0 else "no checkpoint was written yet")
            raise TrainingDiverged(f"the loss became {epoch_losses[i].item()} at epoch {epoch}, step {i}; {kept}")
        losses = epoch_losses.tolist()
        if settings.swa_start is not None and epoch >= settings.swa_start:
            if swa is None:
                swa = copy.deepcopy(model)
            else:  # running mean of the end-of-epoch weights
                with torch.no_grad():
                    for a, p in zip(swa.parameters(), model.parameters(), strict=True):
                        a.mul_(swa_n / (swa_n + 1)).add_(p.detach(), alpha=1 / (swa_n + 1))
            swa_n += 1
        record: dict[str, Any] = {"epoch": epoch, "loss": float(np.mean(losses)),
                                  "lr": opt.param_groups[0]["lr"], "swa_n": swa_n}
        if evaluate is not None:
            model.eval()
            record.update(evaluate(model))
        record = _plain(record)
        history.append(record)
        bar.set_postfix(loss=f"{record['loss']:.4f}", cc=f"{record.get('cc', float('nan')):.3f}")
        if checkpoint is not None:
            _save(checkpoint, {"format": CHECKPOINT_FORMAT, "run": identity,
                               "model": model.state_dict(), "optimizer": opt.state_dict(),
                               "swa": None if swa is None else swa.state_dict(), "swa_n": swa_n,
                               "history": history, "sampler": sampler.rng.bit_generator.state,
                               **rng_state(device), "epoch": epoch})
        if stop_after_epoch is not None and epoch >= stop_after_epoch:
            break
    bar.close()
    final = model
    if swa is not None:
        # BatchNorm statistics of the averaged weights, from a fixed set of training windows
        bn_sampler = WindowSampler(data.train_segments, settings.window, settings.batch,
                                   min(settings.batches_per_epoch, 16), seed=seed + 1)
        _update_bn(swa, data, list(bn_sampler), settings, device)
        final = swa
    final.eval()
    return Trained(model=final, history=history, train_seconds=time.perf_counter() - t_start,
                   step_ms=1000 * float(np.median(step_times)) if step_times else 0.0,
                   resumed_from=resumed)
