# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 13. Performance: the same Vi-ST, faster
#
# The reference model (`vist.model.ViST`, chapter 3) is written with plain `nn.Conv3d` layers so
# that it can be read line by line against the authors' code. It is slow exactly where Vi-ST
# spends its time: the depthwise and grouped 3D convolutions of the video extractor and of the
# multiscale blocks, whose backward pass PyTorch computes 10–20× slower than their forward on a
# CPU, and which cuDNN handles poorly on a GPU. The authors' module takes about 0.4 s per
# training step at the paper's shapes on one H100 (measured by this project, stored below).
#
# `vist.model.FastViST` computes **the same function with the same parameters**: its
# `state_dict` is the reference's, so weights trained with one load into the other, and the
# book trains with it through one switch (`vist.model.fast.convert(model, enabled=...)`).
# Three ideas carry the speed:
#
# * **Channels-last activations** `[B, T, H, W, C]`: every 1×1×1 convolution becomes one matrix
#   product over the last dimension.
# * **One operator for the depthwise convolutions** (`vist.kernels.depthwise_conv3d`): on CPUs it
#   splits a dilated kernel into its time taps and hands each to oneDNN as a 2D depthwise
#   convolution, forward and backward; on GPUs it is a set of Triton kernels that read each
#   input frame once for all the output frames that need it.
# * **The same random draws and BatchNorm statistics** as the reference, so that a fast and a
#   reference run seeded alike are the same computation up to float rounding — which the first
#   table below checks.
#
# ```{dropdown} The kernels in more detail
# On CPUs the input gradient is the *forward* convolution of the gradient with the flipped
# kernel, and the weight gradient one oneDNN backward-weights call per time tap on views of the
# input and the gradient (taps that meet only zero padding are skipped). On GPUs the forward
# gives each program a run of R consecutive output frames and walks the R + w − 1 input frames
# they need once (a (25, 3, 3) kernel loads (R + 24)/R tiles per output frame instead of 25);
# rows of 90 channels are zero-filled to 96 so that loads are aligned 16-byte vectors; the
# weight gradient keeps one register accumulator per spatial tap and adds partial sums in a
# fixed order (no atomics, so results are deterministic). The full (1, 3, 3) branch of each
# multiscale block is a 2D convolution over `B·T` frames; on GPUs its residual path (a (1, 3, 3)
# average of a 1×1×1 convolution, itself a (1, 3, 3) convolution) is computed by the same call.
# Optionally (`KernelSettings(recompute=True)`) each extractor layer keeps only its input for
# the backward pass and recomputes the rest there, trading time for memory.
# ```
#
# What is measured where: the first two sections run on the machine that builds this page; the
# others read results stored in `benchmarks/`, each with the machine, date and commit that
# produced it.

# %% tags=["parameters"]
seed = 0
device = "auto"

# %% [markdown]
# Every measurement here uses random inputs of the right shapes: no recording and no prior are
# involved, so the chapter has no data or prior parameters.

# %% tags=["hide-input"]
import json
from pathlib import Path

import pandas as pd
import torch
from IPython.display import display

import vist
from vist.bench.common import stored_sections
from vist.bench.summary import kernel_speeds, train_step_speeds
from vist.bench.train_step import SMALL_SHAPE, run
from vist.kernels import KernelSettings
from vist.model import ViST, ViSTConfig
from vist.model.equivalence import differences, forward_backward, vanishing_gradients
from vist.model.fast import FastViST
from vist.plots.speed import kernels_chart, train_step_chart
from vist.prior.frames import resolve_device
from vist.report import book_style, show, table

book_style()
dev = resolve_device(device)
BENCH_DIR = Path(vist.__file__).resolve().parents[1] / "benchmarks"

# %% [markdown]
# ## Same function
#
# A small model in training mode (dropout on, BatchNorm on batch statistics), float32: the
# fast copy and the reference, seeded alike, forward and backward. The table gives the largest
# difference relative to the largest reference value, for the output and over all parameter
# gradients (except the extractor's conv biases, whose gradient is exactly zero in exact
# arithmetic because BatchNorm follows them: both are rounding noise there).

# %%
cfg = ViSTConfig(feat_dim=64, cells=12, video_dim=16, video_layers=4)
torch.manual_seed(seed)
reference = ViST(cfg).train()
fast = FastViST.from_reference(reference, KernelSettings(conv_backend="torch"))
x = torch.randn(2, 48, cfg.grid ** 2, cfg.feat_dim)
rf = torch.rand(2, cfg.cells, cfg.grid, cfg.grid)
probe = torch.rand(2, 48, cfg.cells)
passes = {name: forward_backward(model, x, rf, probe, seed=seed + 1)  # same seed: same dropout masks
          for name, model in (("fast", fast), ("reference", reference))}
errs = differences(passes["fast"], passes["reference"], norm="max", skip=vanishing_gradients(reference))
worst = max((n for n in errs if n != "output"), key=errs.get)
table(pd.DataFrame([{"compared": "fast fp32 vs reference fp32", "output": errs["output"],
                     f"worst of {len(errs) - 1} gradients": errs[worst], "worst parameter": worst}]),
      "Largest difference relative to the largest reference value (random inputs, small model, training mode).",
      formats={"output": "{:.1e}", f"worst of {len(errs) - 1} gradients": "{:.1e}"})


# %% [markdown]
# ## Training step, measured here
#
# Forward, the Vi-ST loss (soft-DTW terms included), backward and an AdamW step, reference and
# fast model from the same weights, in this process. On a CPU the shapes are the small preset's
# (batch 2, 48 frames, ViT-S features 384-d, extractor width 32, 90 cells); on a GPU the
# paper's. The machine that builds the book may be shared: the times are wall-clock medians of
# a few steps and move with the load, the ratio less so.

# %%
on_gpu = dev.type == "cuda"
step = run(device=str(dev), steps=10 if on_gpu else 2, warmup=3 if on_gpu else 1)
here = step.to_frame()
here = here.assign(**{"peak GiB": here["peak_mib"] / 1024}).drop(columns=["peak_mib", "shape", "error"],
                                                                    errors="ignore")
table(here, f"Training step measured while this page was built: {step.device}, commit {step.commit}, "
      f"{step.date[:10]}; shapes {'the paper preset' if on_gpu else SMALL_SHAPE}; random inputs.",
      formats={"ms_per_step": "{:.0f}", "ms_min": "{:.0f}", "speedup": "{:.2f}×", "peak GiB": "{:.2f}"})

# %% [markdown]
# ## Stored benchmark results and their provenance
#
# The kernel benchmarks of chapters 4 and 5 (soft-DTW, SD-KL) on this project's CPU machine, and
# the GPU results stored in `benchmarks/` (with the machine and commit that produced them).
# Nothing here is typed by hand: a missing file is reported as missing. Every stored row is in
# the collapsed sections below the figures.


# %% tags=["hide-input"]
def show_stored(path: Path) -> None:
    """Every section of a stored result file (for the collapsed sections)."""
    if not path.exists():
        print(f"{path.name} is not stored in benchmarks/.")
        return
    for heading, part in stored_sections(path):
        print(heading)
        if part is not None:
            display(part)


cpu_kernels = BENCH_DIR / "kernels_cpu.json"
if cpu_kernels.exists():
    cpu = kernel_speeds(cpu_kernels)
    show(kernels_chart(cpu.frame),
         f"CPU kernels: vist (blue) against the other implementations (grey), one call each. {cpu.caption}")
else:
    print("kernels_cpu.json is not stored in benchmarks/.")

# %% tags=["hide-input", "hide-output"]
show_stored(cpu_kernels)

# %% [markdown]
# What recomputation costs and saves, measured on this project's CPU machine at a quarter of the
# paper's batch and half its window (batch 4, 64 frames, the paper's 1024-d features and
# extractor width, float32; the peak is the process's resident set). The inputs are random
# features, RF maps and targets: no recording and no prior are involved. The GPU figures come
# from `tools/gpu_train_step.py` (`fast-recompute-graph`) when a GPU run has been stored.

# %% tags=["hide-input"]
recompute = BENCH_DIR / "train_step_cpu_recompute.json"
if recompute.exists():
    stored = json.loads(recompute.read_text())
    display(table(pd.DataFrame([{"variant": r["impl"], "ms per step": r["ms_per_step"],
                                 "peak GiB": r["peak_mib"] / 1024} for r in stored["rows"] if r.get("ms_per_step")]),
                  f"Recomputation on the CPU (batch 4, 64 frames, 1024-d features, float32; random inputs). "
                  f"{recompute.name}: {stored['device']}, {stored['date'][:10]}, commit {stored['commit']}",
                  formats={"ms per step": "{:.0f}", "peak GiB": "{:.2f}"}))
else:
    print(f"{recompute.name} is not stored in benchmarks/.")

# %% [markdown]
# Every GPU result stored in `benchmarks/` (device, versions, checks, profiles, sweeps), collapsed:

# %% tags=["hide-input", "hide-output"]
for path in sorted(BENCH_DIR.glob("*gpu*.json")):
    show_stored(path)

# %% [markdown]
# ## On a GPU
#
# The GPU results come from `tools/gpu_train_step.py`, run on a lent H100 and stored with the
# machine, date and commit. Before timing anything it checks that the fast model computes the
# reference's function on that GPU: the output and every parameter gradient are compared with
# the reference computed in float64, and the fast model's error must stay within the reference's
# own float32 (or bf16) rounding error. It then times one training step at the paper's shapes
# (batch 16, 128 frames, ViT-L/14 features, bf16 autocast) for the authors' module and for the
# fast model in several forms: eager; `fast-graph`, the whole step replayed as one CUDA graph;
# `fast-compile-graph`, the same after `torch.compile` has fused the elementwise work around the
# Triton convolutions; and `fast-recompute-graph`, which recomputes the extractor's activations
# in the backward pass to save memory. The design goal was 40 ms per step, about a tenth of the
# authors' step, in under 8 GiB; the dashed line in the figure marks it.

# %% tags=["hide-input"]
gpu_path = BENCH_DIR / "train_step_gpu.json"
if gpu_path.exists():
    gpu = train_step_speeds(gpu_path)
    show(train_step_chart(gpu.frame),
         "GPU training step at the paper's shapes (bf16 autocast; random features, RF maps and targets: no "
         f"recording, no prior), each variant against the authors' module; dashed: the 40 ms design goal. {gpu.caption}")
    display(table(gpu.frame, f"Training step per variant. {gpu.caption}", formats=gpu.formats))
else:
    print("No GPU training-step result is stored in benchmarks/ (train_step_gpu.json).")
