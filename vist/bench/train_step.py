"""Vi-ST training-step speed: the reference ``nn.Conv3d`` model against :class:`vist.model.FastViST`.

One training step = forward, the Vi-ST loss (:class:`vist.losses.ViSTLoss`, soft-DTW included),
backward and an AdamW step, on random features ``[B, T, G·G, D]``, RF maps and targets. Both
models start from the same weights in the same process; the table gives the median and minimum
ms per step over ``--steps`` steps after ``--warmup`` steps, and the peak memory: GPU memory
allocated by PyTorch on CUDA, the process's peak resident set (``VmHWM``, reset per variant) on
CPUs. Shapes default to the paper's on CUDA (batch 16, 128 frames, 16×16 grid, 1024-d, 90 cells,
bf16 autocast) and to the small preset's on CPUs (batch 2, 48 frames, 384-d, extractor width 32,
float32).

A variant (:class:`StepVariant`) is a few independent options: the model (``reference``, the
``nn.Conv3d`` model, or ``fast``, :class:`~vist.model.FastViST`), ``compile`` (``torch.compile``
of the fast model; the depthwise convs stay opaque custom ops), ``recompute`` (FastViST with
``KernelSettings(recompute=True)``: the extractor layers' activations recomputed in the backward pass),
``lowmem`` (compiled, with the compiler told to keep only :data:`LOWMEM_BUDGET` of the
activations) and ``graph`` (CUDA only: the whole step — forward, loss, backward and a
``capturable`` AdamW step — captured once as one CUDA graph and replayed; static inputs, the
warm-up on a side stream, autocast without its weight cache; the peak then covers warm-up and
capture). On the command line a variant is named by its options joined with ``-`` in that
order (``fast-compile-graph``, ``fast-recompute-graph``, …; :data:`VARIANTS`), the names of the
stored tables' rows.

Reference figures (SPEC §7, one H200, the authors' module at the paper's shapes, bf16):
389–401 ms per step, 12.3 GiB peak; target for the fast model on one H100/H200: ≤ 40 ms, ≤ 8 GiB.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch._functorch.config as functorch_config

from vist.bench.common import BenchTable, median_times
from vist.env import device_name
from vist.kernels import KernelSettings
from vist.losses import ViSTLoss
from vist.model import PAPER_CMST_KERNELS, ViST, ViSTConfig
from vist.model.fast import FastViST
from vist.presets import PRESETS
from vist.prior import BACKBONES
from vist.prior.vit import PATCH

PAPER_SHAPE = dict(batch=16, frames=128, feat_dim=1024, video_dim=256, cells=90, grid=16)
SMALL_SHAPE = dict(batch=2, frames=48, feat_dim=384, video_dim=32, cells=90, grid=16)
LOWMEM_BUDGET = 0.5
"""``torch._functorch.config.activation_memory_budget`` of the ``lowmem`` variants: the compiler
keeps this fraction of the activations and recomputes the rest in the backward pass, chosen by
its min-cut partitioner (the hand-written ``recompute`` uses a checkpoint that the compiler does
not trace)."""


@dataclass(frozen=True)
class StepVariant:
    """How one training step runs: which model, and the options of the fast one (see the module docstring)."""

    model: str = "fast"
    compile: bool = False
    recompute: bool = False
    lowmem: bool = False
    graph: bool = False

    def __post_init__(self) -> None:
        if self.model not in ("reference", "fast"):
            raise ValueError(f"StepVariant: model must be 'reference' or 'fast', found {self.model!r}")
        if self.model == "reference" and (self.compile or self.recompute or self.lowmem or self.graph):
            raise ValueError("StepVariant: the reference model takes no options")
        if self.lowmem and not self.compile:
            raise ValueError("StepVariant: lowmem is a compiler setting; it needs compile=True")

    @property
    def settings(self) -> KernelSettings:
        """The fast model's switches for this variant (the defaults, with ``recompute`` set)."""
        return KernelSettings(recompute=self.recompute)

    @property
    def name(self) -> str:
        """The variant's name: its model and options joined with ``-`` (e.g. ``fast-compile-graph``)."""
        flags = ("compile", "recompute", "lowmem", "graph")
        return "-".join([self.model] + [f for f in flags if getattr(self, f)])

    @classmethod
    def parse(cls, name: str) -> StepVariant:
        """The variant named ``name`` (one of :data:`VARIANTS`)."""
        if name not in VARIANTS:
            raise ValueError(f"variant: expected one of {', '.join(VARIANTS)}, found {name!r}")
        return VARIANTS[name]


VARIANTS: dict[str, StepVariant] = {v.name: v for v in (
    StepVariant("reference"), StepVariant(), StepVariant(compile=True), StepVariant(graph=True),
    StepVariant(compile=True, graph=True), StepVariant(recompute=True), StepVariant(recompute=True, graph=True),
    StepVariant(compile=True, lowmem=True, graph=True))}
"""The variants that ``--variants`` accepts, by name."""

REFERENCE_NOTE = ("Reference (SPEC §7): the authors' module at the paper's shapes on one H200, bf16: "
                  "389-401 ms/step, 12.3 GiB peak. Target on one H100/H200: <= 40 ms, <= 8 GiB.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m vist.bench train-step``."""
    parser.add_argument("--device", default="auto", help="cpu, cuda or auto (cuda when available)")
    for name in ("batch", "frames", "feat-dim", "video-dim", "cells", "grid"):
        parser.add_argument(f"--{name}", type=int, default=None,
                            help="default: paper shape on CUDA, small-preset shape on CPUs")
    parser.add_argument("--steps", type=int, default=None, help="timed steps (default 3 on CPUs, 10 on CUDA)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed steps first (default 1 / 3)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for torch")
    parser.add_argument("--variants", default="reference,fast",
                        help="comma-separated: " + ", ".join(VARIANTS) + " (the -graph ones on CUDA only)")
    parser.add_argument("--no-bf16", action="store_true", help="float32 on CUDA too")
    parser.add_argument("--small-presets", action="store_true",
                        help="compare the small preset's Vi-ST training step as it is now against the "
                             "earlier small preset (SMALL_BEFORE), in turns: training frames per second")


@dataclass
class StepInputs:
    """Random inputs of one training step: ``x [B, T, G·G, D]``, ``rf [B, cells, G, G]``, ``y [B, T, cells]``."""

    x: torch.Tensor
    rf: torch.Tensor
    y: torch.Tensor

    @classmethod
    def make(cls, batch: int, frames: int, feat_dim: int, cells: int, grid: int, device: torch.device,
             dtype: torch.dtype = torch.float32, seed: int = 0) -> StepInputs:
        g = torch.Generator(device=device).manual_seed(seed)  # drawn on the device: no host copy
        x = torch.randn(batch, frames, grid * grid, feat_dim, generator=g, device=device, dtype=dtype)
        rf = (torch.rand(batch, cells, grid, grid, generator=g, device=device) < 0.05).float()
        y = torch.rand(batch, frames, cells, generator=g, device=device).mul(0.3)
        return cls(x, rf, y)


def make_step(model: torch.nn.Module, inputs: StepInputs, bf16: bool, graph: bool = False) -> Callable[[], torch.Tensor]:
    """One training step of ``model`` (forward, Vi-ST loss, backward, AdamW); returns the loss (a tensor).

    ``graph``: capture the whole step as one CUDA graph (after 3 warm-up steps on a side stream)
    and return a step that replays it; AdamW is then ``capturable`` and autocast runs without its
    cast cache, as CUDA graph capture requires.
    """
    loss_fn = ViSTLoss()
    device = inputs.x.device
    if graph and device.type != "cuda":
        raise ValueError("graph variants need a CUDA device")
    opt = torch.optim.AdamW(model.parameters(), lr=8e-4, weight_decay=0.1, capturable=graph)
    use_bf16 = bf16 and device.type == "cuda"

    def step() -> torch.Tensor:
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16, cache_enabled=not graph):
            pred = model(inputs.x, inputs.rf)
        loss = loss_fn(pred.float(), inputs.y)
        loss.backward()
        opt.step()
        return loss.detach()

    if not graph:
        return step
    side = torch.cuda.Stream(device)
    side.wait_stream(torch.cuda.current_stream(device))
    with torch.cuda.stream(side):  # Triton compilation, library handles, optimizer state
        for _ in range(3):
            step()
    torch.cuda.current_stream(device).wait_stream(side)
    cuda_graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(cuda_graph):
        static_loss = step()

    def replay() -> torch.Tensor:
        cuda_graph.replay()
        return static_loss

    return replay


def _reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        return
    try:  # Linux: writing 5 to clear_refs resets the peak resident set (VmHWM)
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _peak_mib(device: torch.device) -> float | None:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2 ** 20
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def time_steps(step: Callable[[], Any], device: torch.device, steps: int, warmup: int,
               reset_peak: bool = True) -> dict[str, Any]:
    """Run ``warmup`` then ``steps`` timed steps; ms per step (median, min) and peak memory (MiB).

    ``reset_peak``: measure the peak over the timed steps only (else since the caller's last reset).
    """
    sync = (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else (lambda: None)
    t0 = time.perf_counter()
    for _ in range(warmup):
        step()
    sync()
    warmup_s = time.perf_counter() - t0
    if reset_peak:
        _reset_peak(device)
    times = []
    loss = None
    for _ in range(steps):
        t = time.perf_counter()
        loss = step()
        sync()
        times.append(time.perf_counter() - t)
    return {"ms_per_step": 1e3 * statistics.median(times), "ms_min": 1e3 * min(times),
            "peak_mib": _peak_mib(device), "warmup_s": warmup_s,
            "reserved_mib": torch.cuda.memory_reserved(device) / 2 ** 20 if device.type == "cuda" else None,
            "last_loss": float(loss) if loss is not None else None}


def build(variant: StepVariant | str, reference: torch.nn.Module) -> torch.nn.Module:
    """The model of one variant (a :class:`StepVariant` or its name), from the reference (same weights)."""
    if isinstance(variant, str):
        variant = StepVariant.parse(variant)
    if variant.model == "reference":
        return copy.deepcopy(reference)
    fast = FastViST.from_reference(reference, settings=variant.settings)
    return torch.compile(fast) if variant.compile else fast


SMALL_BEFORE = dict(batch=2, frames=48, feat_dim=384, video_dim=32, video_layers=6, cells=90, grid=16,
                    dropout=0.25, cmst_kernels=PAPER_CMST_KERNELS)
"""The small preset's Vi-ST step before its redesign: 2 windows of 48 frames, ViT-S features on the
16×16 grid, a 32-wide extractor of six layers, the paper's dropout and four CMST levels (as at
commit a4bdecc)."""


def small_preset_now() -> dict[str, Any]:
    """The small preset's Vi-ST step today, read from its settings: windows per step, frames per
    window, feature dimension and grid of its prior, extractor width and depth, dropout, CMST
    kernels."""
    small = PRESETS["small"]
    s, prior, cfg = small.vist.train, small.prior, ViSTConfig(**small.vist.sizes.changes())
    return dict(batch=s.batch, frames=s.window, feat_dim=BACKBONES[prior.backbone][1],
                video_dim=cfg.video_dim, video_layers=cfg.video_layers, cells=90,
                grid=prior.img_size // PATCH, dropout=cfg.dropout, cmst_kernels=cfg.cmst_kernels)


def compare_small(steps: int = 4, warmup: int = 1, threads: int | None = None) -> BenchTable:
    """Training frames per second of the small preset's Vi-ST step now against :data:`SMALL_BEFORE`,
    on the CPU (FastViST, float32, random inputs), timed in turns in one process."""
    if threads:
        torch.set_num_threads(threads)
    dev = torch.device("cpu")
    shapes = {"before": SMALL_BEFORE, "now": small_preset_now()}
    steps_fns = []
    for shape in shapes.values():
        torch.manual_seed(0)
        cfg = ViSTConfig(feat_dim=shape["feat_dim"], cells=shape["cells"], grid=shape["grid"],
                         video_dim=shape["video_dim"], video_layers=shape["video_layers"],
                         dropout=shape["dropout"], cmst_kernels=shape["cmst_kernels"])
        model = FastViST.from_reference(ViST(cfg).train())
        inputs = StepInputs.make(shape["batch"], shape["frames"], shape["feat_dim"], shape["cells"],
                                 shape["grid"], dev)
        steps_fns.append(make_step(model, inputs, bf16=False))
    secs = median_times(steps_fns, repeat=steps, warmup=warmup)
    table = BenchTable(name="train-step-small-presets", device=device_name("cpu"))
    for (name, shape), s in zip(shapes.items(), secs, strict=True):
        table.rows.append({
            "impl": f"small preset {name}",
            "shape": "B{batch} T{frames} G{grid} D{feat_dim} C{video_dim} L{video_layers} p{dropout}".format(**shape)
                     + f" M{len(shape['cmst_kernels'])}",
            "ms_per_step": 1e3 * s, "frames_per_s": shape["batch"] * shape["frames"] / s,
            "speedup": None})
    table.rows[1]["speedup"] = table.rows[1]["frames_per_s"] / table.rows[0]["frames_per_s"]
    table.notes += [
        f"median of {steps} steps each, taken in turns after {warmup} warm-up step(s); forward + "
        "ViSTLoss + backward + AdamW on random features, RF maps and targets (no recording, no prior).",
        "frames_per_s = training frames (windows × frames per window) per second; speedup = now / before.",
        f"torch threads: {torch.get_num_threads()}.",
    ]
    return table


def run(device: str = "auto", batch: int | None = None, frames: int | None = None, feat_dim: int | None = None,
        video_dim: int | None = None, cells: int | None = None, grid: int | None = None,
        steps: int | None = None, warmup: int | None = None, threads: int | None = None,
        variants: str = "reference,fast", no_bf16: bool = False, small_presets: bool = False) -> BenchTable:
    """Time the training step of each variant; returns a :class:`~vist.bench.common.BenchTable`.
    ``small_presets``: :func:`compare_small` instead."""
    if small_presets:
        return compare_small(steps or 4, warmup if warmup is not None else 1, threads)

    if threads:
        torch.set_num_threads(threads)
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(device)
    cuda = dev.type == "cuda"
    shape = dict(PAPER_SHAPE if cuda else SMALL_SHAPE)
    given = dict(batch=batch, frames=frames, feat_dim=feat_dim, video_dim=video_dim, cells=cells, grid=grid)
    shape.update({k: v for k, v in given.items() if v is not None})
    steps = steps or (10 if cuda else 3)
    warmup = warmup if warmup is not None else (3 if cuda else 1)
    bf16 = cuda and not no_bf16
    names = [v.strip() for v in variants.split(",") if v.strip()]
    if not names:
        raise ValueError(f"variants: expected at least one of {', '.join(VARIANTS)}")
    torch.manual_seed(0)
    reference = ViST(ViSTConfig(feat_dim=shape["feat_dim"], cells=shape["cells"], grid=shape["grid"],
                                video_dim=shape["video_dim"])).to(dev).train()
    inputs = StepInputs.make(shape["batch"], shape["frames"], shape["feat_dim"], shape["cells"], shape["grid"],
                             dev, torch.bfloat16 if bf16 else torch.float32)
    table = BenchTable(name="train-step", device=device_name(device))
    shape_text = "B{batch} T{frames} G{grid} D{feat_dim} C{video_dim} cells{cells}".format(**shape)
    base_ms = None
    for name in names:
        row: dict[str, Any] = {"impl": name, "shape": shape_text, "precision": "bf16 autocast" if bf16 else "fp32",
                               "ms_per_step": None, "ms_min": None, "frames_per_s": None, "peak_mib": None,
                               "speedup": None, "error": ""}
        if cuda:
            row["reserved_mib"] = None
        model = step = None
        try:
            torch.manual_seed(1)  # the same dropout masks for every variant on CPUs
            variant = StepVariant.parse(name)
            _reset_peak(dev)
            budget = LOWMEM_BUDGET if variant.lowmem else 1.0
            with functorch_config.patch(activation_memory_budget=budget):  # read when compiling
                model = build(variant, reference)
                step = make_step(model, inputs, bf16, graph=variant.graph)
                row.update({k: v for k, v in time_steps(step, dev, steps, warmup,
                                                        reset_peak=not variant.graph).items() if k in row})
            if row["ms_per_step"]:
                row["frames_per_s"] = 1e3 * shape["batch"] * shape["frames"] / row["ms_per_step"]
            if variant.model == "reference":
                base_ms = row["ms_per_step"]
            if base_ms and row["ms_per_step"]:
                row["speedup"] = base_ms / row["ms_per_step"]
        except Exception as err:  # one failing variant must not lose the others' numbers
            row["error"] = f"{type(err).__name__}: {str(err)[:200]}"
        model = step = None  # frees the model, its optimizer and any CUDA graph before the next variant
        if cuda:
            torch.cuda.empty_cache()
        table.rows.append(row)
    mem = "GPU memory allocated by PyTorch" if cuda else "process peak resident set (VmHWM)"
    table.notes += [
        f"{steps} timed steps after {warmup} warm-up steps; forward + ViSTLoss + backward + AdamW, "
        "on random features, RF maps and targets (no recording, no prior).",
        f"peak_mib: {mem}" + (" (graph variants: over warm-up, capture and replays; reserved_mib: "
                              "held by the caching allocator, graph pools included)." if cuda else ".")
        + " speedup = reference ms / this row's ms (same process, same weights); frames_per_s = "
        "training frames (windows × frames per window) per second.",
        f"torch threads: {torch.get_num_threads()}." if not cuda else f"torch {torch.__version__}.",
        REFERENCE_NOTE,
    ]
    return table
