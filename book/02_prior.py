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
# # 2. The ViT prior
#
# Vi-ST does not look at pixels. Each frame is first passed through a frozen vision transformer,
# DINOv2, and the model sees the ViT's **patch features**: the 360×360 frame is resized to
# 224×224, cut into a 16×16 grid of 14×14-pixel patches, and every patch becomes a D-dimensional
# vector (D = 1024 for the paper's ViT-L/14). A movie of T frames becomes a `[T, 256, D]` array,
# computed once and cached.
#
# **Weights.** The paper used DINOv2's pretrained weights. They cannot be downloaded while this
# book builds, so unless `weights` names a local checkpoint file (the official DINOv2 release or
# timm's `model.safetensors`), the backbone is a **seeded random initialisation** and every table
# and figure says *untrained*. An untrained ViT is not a neutral stand-in for a pretrained one: it
# keeps the architecture's inductive biases (patches, position embeddings, attention mixing) but
# none of what DINOv2 learned from 142 M images. Results obtained with it answer "what does the
# architecture alone give?", not "what does DINOv2 give?".
#
# **Preset.** `preset="paper"` uses ViT-L/14 and its last block (L−1); `preset="small"` (the
# default on a CPU) uses ViT-S/14 (D = 384) at 140 px — a 10×10 grid of 14-px patches — and
# its block L−4 (9 of 12 blocks). The smaller grid makes the extraction for both movies and every model of
# chapters 6–12 about 2.5 times cheaper than at 224 px, which is what lets them train to a
# plateau on 2 CPU cores. `layer` overrides the preset's block.

# %% tags=["parameters"]
data = "synthetic"      # "synthetic", a Dryad-layout folder, or a saved .npz recording
train_movie = "mov1"
test_movie = "mov2"
preset = "auto"         # "auto": paper on CUDA, small otherwise
seed = 0                # virtual retina and the prior random initialisation
device = "auto"
backbone = None         # None: the preset backbone
layer = None            # None: the preset block; else L−n written −n (−1: the last block)
weights = None          # local DINOv2 checkpoint; None: untrained (random init)

# %% [markdown]
# The cell below loads both movies of the recording and builds the prior of the chosen preset.

# %% tags=["hide-input"]
import json
import os
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from vist.bench import prior as prior_bench
from vist.cache import cache_dir
from vist.data import load, rf_to_grid
from vist.plots import prior as pplots
from vist.presets import get_preset
from vist.prior import PixelPrior, make_prior
from vist.prior.analysis import layer_similarity, linear_cka, pca_colors
from vist.prior.store import has_entry
from vist.report import book_style, show, source, table

book_style()
movies = list(dict.fromkeys([train_movie, test_movie]))
recs = {m: load(data, m, seed=seed) for m in movies}
prior = make_prior("dinov2", preset=preset, device=device, backbone=backbone, layer=layer,
                   weights=weights, seed=seed, progress=False)
rec = recs[train_movie]
chosen = get_preset(preset, device)
label = source(rec, prior=f"{prior.label}, block {prior.layer_name}", preset=chosen)

# %% [markdown]
# ## What the ViT sees
#
# The frame is resized with antialiasing (an area average when shrinking 360 → 224), the grey
# level is copied into three channels and normalised with the ImageNet statistics DINOv2 was
# trained with. Each yellow square below is one patch, one token of the ViT. The receptive fields
# of a few cells are drawn on top: a salamander ganglion cell's centre spans a few patches.
# Right: how much of each patch the population's receptive fields cover, Σ over cells of the
# fractional coverage (`vist.data.rf_to_grid`) — this map is what Vi-ST's AdaLN block is
# conditioned on (chapter 3).

# %%
coverage = rf_to_grid(rec.rf_contours, rec.frame_shape, grid=prior.grid)
fig = pplots.patch_grid(rec.frames[0], prior.grid, prior.img_size, rec.rf_contours, coverage,
                        cells=np.linspace(0, rec.n_cells - 1, 5).astype(int))
show(fig, f"Left: the first frame of {train_movie} resized to the ViT's {prior.img_size}×{prior.img_size} "
          f"px input, with its {prior.grid}×{prior.grid} grid of {prior.img_size // prior.grid}-px patches "
          f"(yellow) and the receptive-field contours of five cells. Right: the summed receptive-field "
          f"coverage of all {rec.n_cells} cells per patch, the condition of Vi-ST's AdaLN block. {label}")

# %% [markdown]
# ## Features of both movies, computed once
#
# Features are cached per (movie content, backbone, weights, block, resolution, precision) under
# `$VIST_CACHE_DIR/features`: a float16 `.npy` file, memory-mapped when read, with a JSON sidecar
# holding the key and a SHA-256 digest. Later chapters reuse these files. On a CPU with native
# bf16 (and on CUDA) the ViT runs under bf16 autocast. The cell below computes (or reads) the
# features of both movies and times it.

# %%
feats, timing = {}, []
for m, r in recs.items():
    was_cached = has_entry(prior.kind, prior.cache_key(r.frames))
    t0 = time.perf_counter()
    feats[m] = prior.features(r.frames)
    timing.append({"movie": m, "frames": r.n_frames, "shape": " × ".join(map(str, feats[m].shape)),
                   "dtype": str(feats[m].dtype), "size (MB)": feats[m].nbytes / 2**20,
                   "read from cache": "yes" if was_cached else "no",
                   "seconds": time.perf_counter() - t0})
table(pd.DataFrame(timing), f"Patch features of both movies: shape [frames × patches × D], storage and "
                            f"time to compute (or to read and verify, when cached). {label}",
      formats={"size (MB)": "{:.1f}", "seconds": "{:.1f}", "frames": "{:,}"})

# %% [markdown]
# ## Patch features over time, as colours
#
# The first three principal components of the patch features (fit on frames spread over the
# whole movie) are shown as red, green and blue, so patches with similar features share a colour.
# Frames are taken every 0.5 s across the first seconds: slow drift, saccades and a scene change
# move the colour pattern with the image.

# %%
idx = np.arange(0, min(rec.n_frames, 15 * 10), 15)
colors = pca_colors(feats[train_movie], prior.grid, index=idx)
show(pplots.pca_strip(rec.frames[idx], colors, idx),
     f"Frames of {train_movie} every 0.5 s (grey) above their {prior.grid}×{prior.grid} patch features' "
     f"first three principal components as red, green and blue. {label}")

# %% [markdown]
# How much of the features is just luminance? The linear CKA similarity (Kornblith et al.
# 2019; 1 = the same representation up to rotation and scale, 0 = unrelated) between the prior's
# features and the raw patch pixels (the "pixels" prior used in the ablation that removes DINOv2),
# on 64 frames spread over the movie:

# %%
sample = np.linspace(0, rec.n_frames - 1, 64).astype(int)
pixels = PixelPrior(prior.img_size, cache=False).features(rec.frames[sample])
cka_pixels = linear_cka(pixels.reshape(-1, pixels.shape[-1]),
                        np.asarray(feats[train_movie][sample]).reshape(-1, prior.feat_dim))
display(Markdown(f"**Linear CKA(features of block {prior.layer_name}, patch pixels) = {cka_pixels:.3f}** "
                 f"({prior.label}; 64 frames of {train_movie})."))

# %% [markdown]
# ## Similarity across layers, and what an untrained DINOv2 should be
#
# timm initialises DINOv2's **LayerScale** factors — the per-channel gains on each block's
# attention and MLP branches — at 1e-5, the value DINOv2 starts training from. In a randomly
# initialised DINOv2 every block is therefore the identity plus a 1e-5 perturbation, and the
# features of *any* block are almost exactly the normalised patch embedding: an "untrained
# DINOv2 at L−1" would silently be an untrained *linear patch embedding*. We therefore build the
# untrained prior with LayerScale = 1 (`untrained_layerscale=1.0`, the default), a genuinely deep
# random network whose depth matters; trained weights keep the values stored in their file.
#
# Two measures compare blocks on 16 frames spread over the movie: the mean **cosine similarity
# of the same patch's feature vector** in two blocks (do the coordinates change?) and **linear
# CKA** (Kornblith et al. 2019: is the geometry — which patches resemble which — the same up to
# rotation and scale?). The heatmaps show the cosine similarity; the table gives both.

# %%
probe = rec.frames[np.linspace(0, rec.n_frames - 1, 16).astype(int)]
blocks = list(range(-prior.depth, 0))
nets = [prior] if prior.trained else []
for ls in (1.0, None):
    nets.append(make_prior("dinov2", preset=preset, device=device, backbone=prior.backbone, seed=seed,
                           untrained_layerscale=ls, cache=False, progress=False))
per_layer = {net.label: net.layer_features(probe, blocks) for net in nets}
cosine = {label_: layer_similarity(f, "cosine") for label_, f in per_layer.items()}
show(pplots.layer_similarity(cosine, "mean cosine similarity"),
     f"Mean cosine similarity of the same patch's feature vector in every pair of blocks (L−n: the "
     f"n-th block from the end), one panel per prior; 16 frames of {train_movie}. "
     f"{source(rec, preset=chosen)}")

# %% [markdown]
# The table compares the first and the last block of each prior, and the last block with the
# raw patch pixels.

# %%
flat = lambda a: np.asarray(a, dtype=np.float32).reshape(-1, np.shape(a)[-1])  # noqa: E731
pix = flat(PixelPrior(prior.img_size, cache=False).features(probe))
similarity = pd.DataFrame([{"prior": name, "cosine(first, last block)": float(cosine[name][1][0, -1]),
                            "CKA(first, last block)": linear_cka(flat(f[blocks[0]]), flat(f[-1])),
                            "CKA(last block, pixels)": linear_cka(flat(f[-1]), pix)}
                           for name, f in per_layer.items()])
table(similarity, f"Similarity of the first and last blocks' features (cosine of the same patch; "
                  f"linear CKA) and of the last block with the patch pixels; 16 frames of {train_movie}. "
                  f"{source(rec, preset=chosen)}")

# %% [markdown]
# With timm's LayerScale every block's features equal the first block's (cosine 1): depth does
# nothing. With LayerScale = 1 (in the default run) the coordinates change substantially from
# block to block, while a CKA close to 1 says the random network mostly preserves which patches
# resemble which: an untrained ViT re-encodes the image rather than abstracting it. Whether
# DINOv2's *learned* features help the retina model is therefore a question only trained weights
# (`weights=`) can answer.

# %% [markdown]
# ## The cache
#
# Each entry is an array file and its sidecar. Loading recomputes the SHA-256 digest of the
# array and compares the sidecar's key with the requested one, so a corrupted, truncated or
# stale file is detected, reported with a warning, and recomputed. The entries of this machine's
# cache:

# %%
entries = sorted((cache_dir() / "features").glob("*.json"))
table(pd.DataFrame([{"file": p.stem, "size (MB)": p.with_suffix(".npy").stat().st_size / 2**20,
                     "features of": json.loads(p.read_text())["label"]} for p in entries]),
      "Entries of the feature cache ($VIST_CACHE_DIR/features) when this chapter ran.",
      formats={"size (MB)": "{:.1f}"})

# %% [markdown]
# Reading a cached movie back costs a digest of the whole array. Then, in a throw-away cache
# folder, we corrupt an entry on purpose (the last 4 KiB of the array set to zero) and read it
# again.

# %%
t0 = time.perf_counter()
prior.features(rec.frames)
load_s = time.perf_counter() - t0

with tempfile.TemporaryDirectory() as tmp:
    os.environ["VIST_CACHE_DIR"], old = tmp, os.environ.get("VIST_CACHE_DIR")
    try:
        small = PixelPrior(prior.img_size)
        first = np.array(small.features(rec.frames[:32]))
        npy = next(Path(tmp, "features").glob("*.npy"))
        npy.write_bytes(npy.read_bytes()[:-4096] + bytes(4096))   # damage the last patches
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            again = small.features(rec.frames[:32])
    finally:
        if old is None:
            del os.environ["VIST_CACHE_DIR"]
        else:
            os.environ["VIST_CACHE_DIR"] = old
    # the message names the damaged file; the throw-away folder's path means nothing to a reader
    message = str(caught[0].message).replace(tmp, "(throw-away cache)") if caught else "none"
display(Markdown(
    f"* Verified load of the cached features of {rec.n_frames:,} frames: **{load_s:.2f} s**.\n"
    f"* Warning on reading the damaged entry: *{message}*\n"
    f"* Recomputed features equal the original: **{'yes' if np.array_equal(first, again) else 'no'}**."))

# %% [markdown]
# ## Speed
#
# The benchmark `python -m vist.bench prior` computes the preset's features for both movies in a
# fresh cache. Here it runs on the first 96 frames of each movie (the cost is linear in the
# number of frames); the full-movie extraction above took the time in its table when it was not
# read from the cache. Targets: the small preset's prior for both movies (3400 frames)
# in ≤ 3 min on 2 CPU cores; ViT-L/14 at ≥ 2,000 frames/s in bf16 on a GPU (reference: 2,033
# frames/s on one H200, measured by this project).

# %%
bench = prior_bench.run(preset=preset, device=device, data=data, movies=",".join(movies), seed=seed,
                        backbone=prior.backbone, layer=prior.layer, frames=96)
speed = bench.to_frame()
speed["full movie (s)"] = [recs[m].n_frames / fps for m, fps in zip(speed["movie"], speed["frames/s"], strict=True)]
first_row = bench.rows[0]
table(speed[["movie", "frames", "precision", "batch", "compute (s)", "frames/s", "cached load (s)",
             "full movie (s)"]],
      f"Feature extraction speed on the first 96 frames of each movie, in a fresh cache; "
      f"'full movie' extrapolates to all frames of the movie. {first_row['prior']}, block "
      f"{first_row['layer']}, {first_row['grid']} patches, D = {first_row['D']} · device: {bench.device}",
      formats={"compute (s)": "{:.2f}", "frames/s": "{:.1f}", "cached load (s)": "{:.3f}",
               "full movie (s)": "{:.0f}"})

# %% [markdown]
# Extrapolated to both full movies:

# %%
total_s = float(speed["full movie (s)"].sum())
display(Markdown(f"**{sum(r.n_frames for r in recs.values()):,} frames in about {total_s:.0f} s** "
                 f"({total_s / 60:.1f} min) on {bench.device}."))
