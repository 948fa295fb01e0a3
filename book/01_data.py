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
# # 1. The recordings
#
# Vi-ST is trained on recordings of salamander retinal ganglion cells (RGCs) watching natural
# movies: one movie is shown many times, and the target of the model is each cell's **trial-mean
# spike count per frame bin** (30 frames per second). This chapter looks at the data every
# later chapter uses.
#
# The paper's recordings (Onken et al. 2017, 90 cells of recording "20150423") are not shipped
# with it and cannot be downloaded while the book builds. By default the book therefore runs on a
# **virtual salamander retina** (`vist.data.retina`): real photographs viewed with simulated eye
# movements, 90 ganglion cells of four types tiling the field in mosaics, centre–surround
# receptive fields with biphasic temporal filters, rectifying subunits for part of the cells,
# fast contrast gain control and sparse, sub-Poisson spiking over 20 repeated trials. It keeps
# its ground truth (noise-free rates, true receptive fields), which makes questions such as
# "how close to the noise ceiling is the model?" answerable. Every figure says which data it
# shows.
#
# To run this chapter on the real data, set `data` to the folder holding `Stimuli/` and
# `NeuralData/` in the Dryad layout (see the README); to run it on a recording saved with
# `Recording.save`, set `data` to that `.npz` file.

# %% tags=["parameters"]
data = "synthetic"      # "synthetic", a Dryad-layout folder, or a saved .npz recording
seed = 0                # the virtual retina (cell layout, filters, spike noise)
movie = "mov1"          # "mov1" (1800 frames) or "mov2" (1600 frames)
trials = 20             # repeated trials (virtual retina only)

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from vist.data import describe, load, rf_to_grid
from vist.data.retina import RetinaParams, parameter_rows
from vist.data.stats import ACTIVE_RATE, firing_statistics, summary_table
from vist.plots import data as dplots
from vist.report import book_style, show, source, table

book_style()
rec = load(data, movie, seed=seed, trials=trials)
label = source(rec)
print(f"{describe(rec)}:\n  frames {rec.frames.shape} {rec.frames.dtype}, spikes {rec.spikes.shape} "
      f"(trials, T, cells),\n  rates {rec.rates.shape}, {len(rec.rf_contours)} RF contours")

# %% [markdown]
# ## The movie
#
# Each scene is a photograph from scikit-image, rescaled so that the 360×360 view sees part of
# it. The eye drifts slowly (fixational drift), jumps every 0.3–1 s (saccades) and, every 4–9 s,
# the scene changes. Movie 1 and movie 2 use disjoint sets of photographs, so a model trained
# on one and tested on the other must generalise to images it has never seen — the paper's
# cross-movie test.

# %%
show(dplots.frame_strip(rec, n=8, start=0, step=15), f"Eight frames, half a second apart. {label}")

# %%
fig = dplots.eye_trace(rec, seconds=30)
if fig is not None:
    show(fig, f"Eye movements: drift, saccades and scene changes (dashed), first 30 s. {label}")
else:
    print("recorded data: no eye trace (the real movies are fixed camera footage)")

# %% [markdown]
# ## Receptive-field mosaics
#
# Each cell type tiles the field on its own: within a type, receptive-field centres keep a
# minimum distance from each other, as real ganglion-cell mosaics do. The contour of each cell is
# its centre ellipse at 1.5 σ — what a fitted spike-triggered average would give.

# %%
show(dplots.rf_mosaic(rec), f"Receptive-field mosaics over the first frame, per cell type and all together. {label}")

# %% [markdown]
# ## Spikes across trials
#
# Rasters of one cell of each type over the first 10 s, and their trial-mean rate (the target of
# the models). For the virtual retina the dotted line is the noise-free rate that generated the
# spikes.

# %%
types = dplots.cell_types(rec)
examples = [types.index(t) for t in dict.fromkeys(types)][:4]
show(dplots.rasters(rec, examples, start=0, stop=int(10 * rec.fps)),
     f"Spike rasters (top) and trial-mean rates (bottom) of one cell per type, first 10 s. {label}")

# %% [markdown]
# ## Firing statistics and reliability
#
# Per-cell statistics, summarised by their population median. The last column checks the median
# against the range the virtual retina is documented to produce (`vist.data.stats`), the same
# check the tests make: sparse firing (a few Hz on average, active in a minority of bins, where
# "active" means a trial-mean count above the threshold printed below), brief events of a few
# spikes per bin, sub-Poisson trial-to-trial variability, and high split-half reliability of
# the 20-trial mean (Spearman–Brown corrected).

# %%
table(pd.DataFrame(summary_table(rec)),
      f"Firing statistics, population medians (active bin: trial-mean count > {ACTIVE_RATE} spikes per bin). {label}")

# %%
stats = firing_statistics(rec)
show(dplots.statistics_histograms(stats, rec), f"Firing statistics per cell, stacked by cell type. {label}")

# %% [markdown]
# Split-half reliability is the correlation between the means of two disjoint halves of the
# trials, corrected with Spearman–Brown to the full trial count. Its square root bounds the
# correlation any model can reach with the recorded trial mean: it is the noise ceiling used
# in the metrics chapter. For the virtual retina we can also compare the recorded trial mean with
# the true rate directly.

# %%
rel = stats["split-half reliability (SB)"]
fig, ax = plt.subplots(figsize=(5.5, 3.6))
ax.scatter(stats["mean rate (Hz)"], rel, c=[dplots.TYPE_COLOURS.get(t, "k") for t in types], s=14)
ax.set_xlabel("mean rate (Hz)")
ax.set_ylabel("split-half reliability (SB)")
show(fig, f"Split-half reliability against mean rate, one dot per cell (colour: type). {label}")
if rec.true_rates is not None:
    r_true = [np.corrcoef(rec.rates[:, c], rec.true_rates[:, c])[0, 1] for c in range(rec.n_cells)]
    print(f"median r(trial mean, true rate) = {np.median(r_true):.3f}; "
          f"median sqrt(reliability) = {np.nanmedian(np.sqrt(np.clip(rel, 0, None))):.3f}")

# %% [markdown]
# ## Receptive fields on the ViT patch grid
#
# The prior sees each frame as 16×16 patches (ViT-L/14 at 224×224 px). Vi-ST uses each cell's
# receptive field as the fraction of each patch that the contour covers — the authors'
# `rf_to_dinov2`; `vist.data.rf_to_grid` computes it by exact polygon clipping. The summed
# coverage of all cells conditions the model's AdaLN-Zero layer (chapter 3).

# %%
cov = rf_to_grid(rec.rf_contours, rec.frame_shape, grid=16)
print(f"coverage maps {cov.shape} (cells, rows, columns)\n"
      f"patches touched per cell: median {np.median((cov > 0).sum(axis=(1, 2))):.0f}")
show(dplots.patch_grid_coverage(rec, grid=16, cell=examples[0]),
     f"Receptive fields on the 16×16 ViT patch grid: one cell's contour, its coverage, and all cells' summed "
     f"coverage. {label}")

# %% [markdown]
# ## The virtual retina's parameters
#
# Every number the simulator uses, with its meaning (from `vist.data.retina.RetinaParams` and
# `CellType`). Thresholds are fixed per cell on a third, calibration movie made of other
# photographs, so the same retina behaves the same whichever movie it watches.

# %%
global_rows, type_rows = parameter_rows(RetinaParams())
per_type = pd.DataFrame(type_rows).set_index("name").T.rename_axis("parameter").reset_index()
table(per_type.astype(str), "The virtual retina's cell types (one column per type).")

# %%
table(pd.DataFrame(global_rows), "The virtual retina's global parameters.")

# %% [markdown]
# ## Speed
#
# `python -m vist.bench data` simulates both movies at full size (1800 + 1600 frames, 360×360,
# 90 cells, 20 trials) in a fresh cache, then times cached loads. Run here, on the machine that
# built this book (the measured table is collapsed):

# %% tags=["hide-input", "hide-output"]
from vist.bench import data as bench_data

print(bench_data.run(seed=seed, trials=trials).to_text())
