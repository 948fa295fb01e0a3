"""Figures of the book (vist.plots.prior, .model, .experiments, .speed): drawn at most a column
wide, every piece of text at least 9 pt and every tick label and legend at the style's base font
size, on small inputs made here."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from vist.plots import experiments as xplots  # noqa: E402
from vist.plots import model as mplots  # noqa: E402
from vist.plots import prior as pplots  # noqa: E402
from vist.plots import speed as splots  # noqa: E402
from vist.plots.style import COLUMN_INCHES  # noqa: E402
from vist.report import book_style  # noqa: E402


@pytest.fixture(autouse=True)
def _style():
    with matplotlib.rc_context():
        book_style()
        yield
    plt.close("all")


def _check(fig) -> None:
    fig.canvas.draw()
    assert fig.get_figwidth() <= COLUMN_INCHES + 1e-6, f"figure {fig.get_figwidth()} in wide"
    small = [(t.get_text(), t.get_fontsize()) for t in fig.findobj(Text)
             if t.get_visible() and t.get_text().strip() and t.get_fontsize() < 9]
    assert not small, f"text under 9 pt: {small}"
    assert not fig.texts or all(t.get_text() == "" for t in fig.texts), "figure-level title: use a caption"
    base = plt.rcParams["font.size"]
    legends = [a.get_legend() for a in fig.axes] + fig.legends
    texts = [t for leg in legends if leg is not None for t in [*leg.get_texts(), leg.get_title()]]
    texts += [t for a in fig.axes for t in [*a.get_xticklabels(), *a.get_yticklabels()]]
    small = [(t.get_text(), t.get_fontsize()) for t in texts if t.get_text().strip() and t.get_fontsize() < base - 1e-6]
    assert not small, f"tick labels or legends under the base font size {base} pt: {small}"


def _figures():
    rng = np.random.default_rng(0)
    circle = np.stack([np.cos(np.linspace(0, 6.2, 16)), np.sin(np.linspace(0, 6.2, 16))])
    contours = [100 + 20 * circle + 30 * i for i in range(4)]
    layers = list(range(-12, 0))
    profiles = {"causal": np.r_[np.zeros(20), rng.random(20)], "not causal": rng.random(40)}
    return {
        "patch_grid": lambda: pplots.patch_grid(rng.integers(0, 255, (360, 360), dtype=np.uint8), 16, 224,
                                                contours, rng.random((4, 16, 16)), cells=[0, 3]),
        "pca_strip": lambda: pplots.pca_strip(rng.integers(0, 255, (7, 36, 36), dtype=np.uint8),
                                              rng.random((7, 16, 16, 3)), np.arange(7) * 15),
        "layer_similarity": lambda: pplots.layer_similarity(
            {f"a rather long prior label number {k} with its settings": (layers, rng.random((12, 12)))
             for k in range(3)}, "cosine"),
        "temporal_reach": lambda: mplots.temporal_reach(
            [{"stage": f"stage {i}", "past": 2 ** i} for i in range(6)]),
        "causality": lambda: mplots.causality(profiles, {k: rng.random(40) for k in profiles}, 20, 30),
        "by_setting": lambda: xplots.by_setting(_LAYERS, "block", "ViT block"),
        "complementary": lambda: xplots.complementary(*_COMPLEMENTARY),
        "seed_points": lambda: xplots.seed_points(_SEEDS, "model", ("cc", "sd_kl"), hue="direction"),
        "durations": lambda: xplots.durations(rng.gamma(2, 3, 200), {"MSE": rng.gamma(3, 3, 200)}, cells=10),
        "rf_maps": lambda: xplots.rf_maps(_rf_result(rng), {"best\ncell #0": 0, "worst\ncell #1": 1}),
        "train_step_chart": lambda: splots.train_step_chart(pd.DataFrame({
            "variant": ["reference", "fast", "fast-compile-graph"], "ms per step": [410.0, 72.0, 40.0],
            "× faster than the reference": [1.0, 5.7, 10.2], "peak GiB": [10.3, 8.4, float("nan")]})),
        "kernels_chart": lambda: splots.kernels_chart(pd.DataFrame({
            "measurement": ["SD-KL per cell"] * 2, "implementation": ["vist sd_kl", "per-cell scipy"],
            "time (ms)": [4.0, 48.0], "× slower than vist": [float("nan"), 12.0]})),
    }


def _rf_result(rng) -> dict:
    """A result shaped like :func:`vist.experiments.rf_recovery.recover` returns (what ``rf_maps`` reads)."""
    true = rng.normal(size=(3, 8, 8))
    return {"true": true, "maps": {"true rates": true, "model": true + rng.normal(size=true.shape)},
            "r": {n: rng.uniform(-1, 1, 30) for n in ("true rates", "recorded", "model")},
            "r_shuffled": {"model": rng.uniform(-0.3, 0.3, 30)}}


_LAYERS = pd.DataFrame({"block": ["L-4", "L-8"], "cc_mean": [0.3, 0.2], "cc_sd": [0.01, float("nan")],
                        "sd_kl_mean": [2.0, 3.0], "sd_kl_sd": [0.1, 0.2]})
"""A frame shaped like :func:`vist.experiments.layers.table` (the columns the figure reads)."""
_COMPLEMENTARY = (
    pd.DataFrame({"direction": "mov1→mov2", "cells": [90, 8, 1], "draw": 0, "seed": 0, "top8_cc": [0.5, 0.3, 0.1]}),
    pd.DataFrame({"direction": "mov1→mov2", "cells": [90, 8, 1], "top8_cc_mean": [0.5, 0.3, 0.1],
                  "poster_top8_cc": [0.45, float("nan"), 0.12]}))
"""Frames shaped like :func:`vist.experiments.complementary.scores_frame` and ``table``."""
_SEEDS = pd.DataFrame([{"model": m, "direction": d, "seed": s, "cc": 0.1 * s + 0.2, "sd_kl": 1.0 + s}
                       for m in ("Vi-ST", "DINOv2+MS-TCN") for d in ("mov1→mov1", "mov1→mov2") for s in range(3)])
"""A tidy score frame, one row per run (:func:`vist.experiments.common.tidy`)."""


def test_experiment_figures_read_the_snake_case_columns():
    ax = xplots.by_setting(_LAYERS, "block", "ViT block").axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["L-4", "L-8"]
    assert list(ax.lines[0].get_ydata()) == [0.3, 0.2]
    ax = xplots.complementary(*_COMPLEMENTARY).axes[0]
    mean, poster = ax.lines[:2]
    assert list(mean.get_xdata()) == [1, 8, 90] and list(mean.get_ydata()) == [0.1, 0.3, 0.5]
    assert list(poster.get_xdata()) == [1, 90] and list(poster.get_ydata()) == [0.12, 0.45]  # NaN: no value


@pytest.mark.parametrize("name", list(_figures()))
def test_figure_fits_the_column_with_readable_text(name):
    _check(_figures()[name]())


def test_pca_strip_rejects_mismatched_inputs():
    with pytest.raises(ValueError, match="expected 3 frames"):
        pplots.pca_strip(np.zeros((2, 8, 8), np.uint8), np.zeros((3, 4, 4, 3)), [0, 1, 2])


@pytest.mark.parametrize("horizontal", [True, False])
def test_seed_points_names_every_category_on_its_axis(horizontal):
    import pandas as pd

    from vist.plots.experiments import seed_points

    rows = [{"row": r, "seed": s, "cc": 0.1 * i + 0.01 * s, "sd_kl": 1.0 + s}
            for i, r in enumerate(["Vi-ST (baseline)", "DINOv2+MS-TCN"]) for s in range(3)]
    fig = seed_points(pd.DataFrame(rows), "row", metrics=("cc", "sd_kl"), horizontal=horizontal)
    fig.canvas.draw()
    ax = fig.axes[0]
    names = [t.get_text() for t in (ax.get_yticklabels() if horizontal else ax.get_xticklabels())]
    assert names == ["Vi-ST (baseline)", "DINOv2+\nMS-TCN"]
    plt.close(fig)


def test_seed_points_draws_a_single_hue_level():
    """One direction only (a chapter run with ``test_movie=``): one hue level, nothing to dodge,
    and the poster's diamond still drawn."""
    one = _SEEDS[_SEEDS["direction"] == _SEEDS["direction"].iloc[0]]
    ref = one.groupby(["model", "direction"], as_index=False)["cc"].mean()
    fig = xplots.seed_points(one, "model", ("cc", "sd_kl"), hue="direction", reference=ref)
    fig.canvas.draw()
    assert len(fig.axes) == 2 and fig.axes[0].collections
    plt.close(fig)
