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
# # 12. Supplement: single cells, and the receptive fields the model learned
#
# The poster's supplement shows SD-KL on noisy sine waves — chapter 5 reproduces that
# calibration — and the predictions of single cells. This chapter shows the predictions of the
# best, middle and worst cells in both cross-movie directions, and then asks a question only a
# virtual retina can answer: **did the model learn where each cell looks?** We recover a
# receptive field for every cell from the trained model and compare it with the simulator's
# true one.
#
# No new training: the runs are those of chapter 7 (same configurations), trained once per
# book build.

# %% tags=["parameters"]
data = "synthetic"
train_movie = "mov1"
test_movie = "mov2"
preset = "auto"
seed = 0
device = "auto"
backbone = None          # None: the preset ViT
layer = None            # None: the preset block; else L−n written −n (−1: the last block)
weights = None           # a DINOv2 checkpoint file, or None for an untrained ViT
both_directions = True   # also show test_movie → train_movie
rf_lags = 10             # the probe history (frames)
rf_ridge = 10.0          # the probe regularisation (× the stimulus covariance mean eigenvalue)
rerun = False

# %% tags=["remove-input"]
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from vist.data import load
from vist.experiments import rf_recovery as rfx
from vist.experiments.common import movie_pairs, train_all
from vist.plots import experiments as xplots
from vist.plots import training as tplots
from vist.presets import get_preset
from vist.report import book_style, publish, show, source, table
from vist.train import RunSpec, train_run

book_style()

# %% tags=["hide-input"]
preset_name = get_preset(preset, device).name
specs = {f"{tr}→{te}": RunSpec(model="vist", data=data, train_movie=tr, test_movie=te, seed=seed,
                               preset=preset_name, backbone=backbone, layer=layer, weights=weights)
         for tr, te in movie_pairs(train_movie, test_movie, both_directions)}
runs = train_all(specs, train_run, device=device, rerun=rerun)
main = runs[f"{train_movie}→{test_movie}"]
label = source(main)

# %% [markdown]
# ## Best, middle and worst cells
#
# The recorded trial-mean rate (black) and the prediction (orange) over the first 20 s of the
# test movie, for the cells with the highest, median and lowest CC.

# %% tags=["remove-input"]
for name, run in runs.items():
    show(tplots.predictions(run, seconds=20), f"Vi-ST {name} (CC {run.scores.cc:.3f}): recorded and "
         f"predicted rates. {source(run)}.")

# %% [markdown]
# ## Receptive fields recovered from the model
#
# **Method** (`vist.experiments.rf_recovery`). A linear probe, the experimenter's
# spike-triggered average adapted to natural movies: the stimulus is each 16×16-grid patch's
# contrast change from frame to frame; for lags 0 … `rf_lags`−1 the cross-covariance of the
# stimulus with a cell's response is whitened by the stimulus' spatial covariance (ridge
# regularised), and the space × time weights are reduced to their best rank-1 approximation,
# whose spatial factor is the recovered map (signed: OFF cells negative). The probe runs on the
# model's predicted rates over both movies (its training and its test movie), and — as
# references — on the simulator's noise-free rates (how well the *probe* can do: its ceiling on
# these movies) and on the recorded trial means. **Agreement** is the Pearson r over the 256
# patches between a recovered map and the true RF (the simulator's centre − surround integrated
# over each patch); the shuffled control pairs each map with another cell's true RF.
#
# We chose the probe over gradients of the output with respect to the input: the frozen ViT
# stands between the pixels and the model, and gradients with respect to its 384- or
# 1024-dimensional patch features have no sign or unit that compares with a receptive field.
# Real recordings have no true receptive fields to compare with, so with `data=` a recording
# this section is skipped.

# %% tags=["hide-input"]
rf = None
if data == "synthetic":
    responses = rfx.model_responses(main, device=device)
    segments = [(load(data, movie, seed=seed), pred) for movie, pred in responses.items()]
    rf = rfx.recover(segments, lags=rf_lags, ridge=rf_ridge)

# %% tags=["remove-input"]
if rf is not None:
    cc = np.nan_to_num(main.per_cell["cc"], nan=-np.inf)
    order = np.argsort(-cc)
    r_model = np.nan_to_num(rf["r"]["model"], nan=-np.inf)
    examples = {"best-predicted": int(order[0]), "median-predicted": int(order[len(order) // 2]),
                "best-recovered": int(np.argmax(r_model))}
    show(xplots.rf_maps(rf, {f"{k}\ncell #{c}": c for k, c in examples.items()}),
         f"True receptive fields beside the maps the probe recovers from the noise-free rates and from "
         f"the {train_movie}→{test_movie} model, for three cells; right: every cell's agreement. {label}.")

# %% tags=["remove-input"]
if rf is not None:
    agreement = pd.DataFrame(rfx.by_type(rf, main.labels["cell_types"]))
    publish(agreement.assign(run=f"{train_movie}→{test_movie}", data=main.labels["data"],
                             prior=main.labels["prior"], preset=preset_name), "rf_recovery")
    display(table(agreement, f"Median agreement with the true receptive fields by cell type. {label}."))

# %% [markdown]
# ## What this run shows
#
# Computed from the recovery above:

# %% tags=["remove-input"]
if rf is not None:
    display(Markdown("\n\n".join(f"* {s}" for s in rfx.findings(rf, main.per_cell["cc"]))))

# %% [markdown]
# **How to read it.** The probe's ceiling — its agreement on the simulator's noise-free rates —
# is well below 1: two short natural movies with eye movements are a poor stimulus for mapping
# receptive fields (their patches are strongly correlated, and the responses are sparse and
# rectified), and ON-OFF cells, which answer a change of either sign, have no linear receptive
# field for a probe to find. The model's agreement should be read against that ceiling and the
# shuffled control, not against 1. A model that predicts a cell well must respond to the right
# part of the image, so its map should approach the ceiling. Real recordings have no true
# receptive fields to compare with, so this analysis exists only for the virtual retina.
