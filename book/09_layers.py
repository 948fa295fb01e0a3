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
# # 9. Which ViT block? Layer depth
#
# Vi-ST reads the patch tokens of one block of the frozen DINOv2 ViT. The poster (Discussion (b))
# compares blocks by their depth, written L−n. This book reads L−1 as the **last** block (as
# every chapter here does); the poster's caption says "L−1 represents the first
# layer", which we take to mean the first counted back from the output. Each block's features
# are computed once per movie and cached (chapter 2); a Vi-ST model is trained on each, with
# everything else as in chapter 7, and scored on the other movie.
#
# **What the small preset leaves out.** The small preset's prior is ViT-S/14 (12 blocks), read
# at L−4. On 2 CPU cores the chapter trains the preset's own L−4 (the run of chapter 7) and
# the first block, L−12, whose features cost 1/12 of a pass through the ViT; every other block
# needs its own pass over both movies (a block at depth k costs k/12 of about 3 minutes there),
# so the small preset compares just these two depths, with one seed. `preset="paper"` (ViT-L/14,
# 24 blocks) trains L−1, L−2, L−3, L−4, L−6, L−8 and L−12 with three seeds (21 runs of under 3
# minutes each on one H100: chapter 6's stored run). Set `layers` and `seeds` to choose yourself.

# %% tags=["parameters"]
data = "synthetic"
train_movie = "mov1"
test_movie = "mov2"
preset = "auto"
seed = 0
device = "auto"
backbone = None          # None: the preset ViT
layer = None             # one more block to include (L−n written −n); None: only `layers`
weights = None           # a DINOv2 checkpoint file, or None for an untrained ViT
layers = None            # None: the preset list (small: −4, −12; paper: −1 … −4, −6, −8, −12)
seeds = None             # None: (seed,) on the small preset, (seed, seed+1, seed+2) on the paper one
epochs = None            # None: the preset
rerun = False

# %% tags=["remove-input"]
import pandas as pd
from IPython.display import Markdown, display

from vist.experiments import layers as lx
from vist.experiments.common import pm_column, resolve_seeds, train_all
from vist.plots import experiments as xplots
from vist.presets import get_preset
from vist.report import book_style, publish, show, source, table
from vist.train import train_run

book_style()

# %% [markdown]
# Each block's features are computed once per movie (or read from the feature cache), then one
# Vi-ST model is trained per block and seed:

# %% tags=["hide-input"]
preset_name = get_preset(preset, device).name
blocks = lx.layer_list(layers, preset_name, backbone)
if layer is not None:
    blocks = lx.layer_list([*blocks, layer], preset_name, backbone)
seed_list = resolve_seeds(seeds, seed, preset_name)
specs = lx.specs(blocks, seed_list, preset_name, backbone, data=data, train_movie=train_movie,
                 test_movie=test_movie, weights=weights, epochs=epochs)
lx.precompute_features(blocks, data, (train_movie, test_movie), seed_list[0], preset_name, device, backbone, weights)
runs = train_all(specs, train_run, device=device, rerun=rerun)
rows_table = lx.table(runs, preset_name, backbone)
label = source(runs[next(iter(runs))])

# %% [markdown]
# ## CC and SD-KL by block

# %% tags=["remove-input"]
show(xplots.by_setting(rows_table, "block", f"ViT block (L−n; {lx.depth(preset_name, backbone)} blocks)"),
     f"CC and SD-KL by ViT block, {train_movie}→{test_movie}, seeds {list(seed_list)}. {label}.")

# %% tags=["remove-input"]
shown = pd.DataFrame({"block": rows_table["block"], "0-based block": rows_table["block_index"],
                      "CC": pm_column(rows_table, "cc"), "SD-KL": pm_column(rows_table, "sd_kl", 2),
                      "CC / noise ceiling": rows_table["cc_normalised_mean"], "seeds": rows_table["seeds"]})
table(shown, f"Layer depth, {train_movie}→{test_movie}. {label}. The poster gives this comparison only "
             "as a figure, without values, so there is no reference column.")

# %% tags=["remove-input"]
publish(rows_table, "layers");

# %% [markdown]
# ## What this run shows
#
# Computed from the table above:

# %% tags=["remove-input"]
display(Markdown("\n\n".join(f"* {s}" for s in lx.findings(rows_table))))

# %% [markdown]
# **What the virtual retina cannot test.** The poster's question is which depth of a
# *pretrained* DINOv2 carries the most useful description of a natural scene for the retina.
# Without `weights=` the ViT here is untrained: its blocks are random transformations (chapter 2
# shows how similar the blocks' features are), so differences between blocks say how much a
# random deep network scrambles the patch content, not where DINOv2 keeps its visual knowledge.
# With `weights=` a DINOv2 checkpoint (and, for the poster's claim, `data=` the recordings), the
# same chapter answers the poster's question.
