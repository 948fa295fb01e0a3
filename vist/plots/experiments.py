"""Figures of the experiments (chapters 7–12): scores over seeds, layer depth, response durations,
complementary coding, receptive-field recovery. Each takes the tidy frame (snake_case data
columns) a :mod:`vist.experiments` builder returns and titles its axes itself; captions (data,
prior, preset) go under the figure (:func:`vist.report.show`), not into it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

SCORE_LABELS: dict[str, str] = {
    "cc": "CC (signed mean over cells)",
    "feve": "FEVE (mean over cells)",
    "sd_kl": "SD-KL (lower is better)",
    "cc_normalised": "CC / noise ceiling",
}
"""Axis label of each tidy score column."""


def seed_points(scores: pd.DataFrame, x: str, metrics: Sequence[str] = ("cc",), hue: str | None = None,
                order: Sequence[Any] | None = None, hue_order: Sequence[Any] | None = None,
                reference: pd.DataFrame | None = None, horizontal: bool = False,
                width: float = 7.2, height: float = 3.2) -> Figure:
    """Every seed's score (small dots) and the mean ± sd over seeds (large marker and bar), one
    panel per metric; ``scores`` is a tidy frame (one row per run, e.g.
    :func:`vist.experiments.common.tidy`). ``reference`` (columns ``x``, ``hue`` if given, and
    ``cc``) adds the poster's values as black diamonds on the CC panel."""
    fig, axes = plt.subplots(1, len(metrics), figsize=(width, height), squeeze=False,
                             sharey=horizontal)
    order = list(order) if order is not None else list(dict.fromkeys(scores[x]))
    if hue is not None:
        hue_order = list(hue_order) if hue_order is not None else list(dict.fromkeys(scores[hue]))
    for k, (ax, m) in enumerate(zip(axes[0], metrics, strict=True)):
        xy = {"y": x, "x": m} if horizontal else {"x": x, "y": m}
        common = dict(data=scores, hue=hue, order=order, hue_order=hue_order, ax=ax, **xy)
        # seaborn spreads the hue levels over ``dodge``; with one level there is nothing to spread
        # (and its step would divide by zero)
        dodge = 0.5 if hue is not None and len(hue_order) > 1 else False
        sns.stripplot(**common, dodge=bool(dodge), alpha=0.55, size=4, jitter=0.08, legend=False,
                      palette="deep" if hue else None, color=None if hue else "tab:blue")
        sns.pointplot(**common, dodge=dodge, errorbar="sd", linestyle="none", markers="o", capsize=0.15,
                      err_kws={"linewidth": 1.4}, palette="deep" if hue else None,
                      color=None if hue else "tab:blue", legend=(k == 0 and hue is not None))
        if reference is not None and m == "cc":
            ref = reference.dropna(subset=["cc"])
            sns.pointplot(data=ref, hue=hue, order=order, hue_order=hue_order, ax=ax, **xy, dodge=dodge,
                          linestyle="none", markers="D", palette=["k"] * len(hue_order) if hue else None,
                          color=None if hue else "k", errorbar=None, legend=False, markersize=5)
        label = SCORE_LABELS.get(m, m)
        if horizontal:
            ax.set_xlabel(label)
            ax.set_ylabel("" if k else ax.get_ylabel())
        else:
            ax.set_ylabel(label)
            ax.set_xlabel("")
            ax.tick_params(axis="x", labelrotation=0)
        if m in ("cc", "feve", "cc_normalised"):
            (ax.axvline if horizontal else ax.axhline)(0, color="k", lw=0.6)
    # long names such as "DINOv2+MS-TCN" on two lines, so neighbours do not overlap; side by side
    # (horizontal) the panels share one y axis, whose labels only the first panel shows and holds
    for ax in axes[0][:1] if horizontal else axes[0]:
        ticks = ax.get_yticks() if horizontal else ax.get_xticks()
        names = [t.get_text().replace("+", "+\n") for t in (ax.get_yticklabels() if horizontal
                                                            else ax.get_xticklabels())]
        (ax.set_yticks if horizontal else ax.set_xticks)(ticks, names)
    top = 1.0
    if hue is not None and axes[0][0].get_legend() is not None:  # one line above the panels, off the points
        handles, labels = axes[0][0].get_legend_handles_labels()
        axes[0][0].get_legend().remove()
        fig.legend(handles, labels, loc="upper center", ncol=min(len(labels), 4), frameon=False)
        top = 1 - 0.4 / height
    fig.tight_layout(rect=(0, 0, 1, top))
    return fig


def by_setting(rows: pd.DataFrame, x: str, xlabel: str) -> Figure:
    """CC and SD-KL (mean ± sd over seeds) against one setting (e.g. the ViT block); ``rows`` has
    the column ``x`` and ``cc_mean``, ``cc_sd``, ``sd_kl_mean``, ``sd_kl_sd`` (e.g.
    :func:`vist.experiments.layers.table`), one row per setting in the order drawn."""
    fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.0))
    at = np.arange(len(rows))
    for ax, key, color in ((axes[0], "cc", "tab:green"), (axes[1], "sd_kl", "tab:red")):
        sd = rows[f"{key}_sd"].to_numpy(dtype=np.float64)
        ax.errorbar(at, rows[f"{key}_mean"].to_numpy(dtype=np.float64), yerr=np.where(np.isfinite(sd), sd, 0.0),
                    fmt="o-", color=color, capsize=3)
        label = SCORE_LABELS[key]
        ax.set_xticks(at, list(rows[x]))
        ax.set_xlabel(xlabel)
        ax.set_ylabel(label)
    fig.tight_layout()
    return fig


def durations(target: np.ndarray, arms: Mapping[str, np.ndarray], cells: int = 1) -> Figure:
    """How many responses of each duration (peak widths at the base, frames, all cells pooled,
    per cell) the recorded trial means and each loss arm's predictions contain, on log-spaced bins."""
    fig, ax = plt.subplots(figsize=(7.2, 3.0))
    every = np.concatenate([target, *arms.values()]) if arms else target
    hi = max(2.0, float(every.max())) if every.size else 10.0
    bins = np.geomspace(0.5, hi * 1.05, 30)
    ax.hist(target, bins=bins, weights=np.full(target.size, 1.0 / cells), color="0.75",
            label=f"recorded ({target.size / cells:.0f} per cell)")
    for name, d in arms.items():
        ax.hist(d, bins=bins, weights=np.full(d.size, 1.0 / cells), histtype="step", lw=1.5,
                label=f"{name} ({d.size / cells:.0f} per cell)")
    ax.set_xscale("log")
    ax.set_xlabel("response duration: peak width at the base (frames of 33 ms)")
    ax.set_ylabel("responses per cell")
    ax.legend()
    fig.tight_layout()
    return fig


def complementary(scores: pd.DataFrame, rows: pd.DataFrame) -> Figure:
    """Top-8 mean CC against population size, one panel per direction: each seed × draw (dots;
    ``scores`` of :func:`vist.experiments.complementary.scores_frame`), their mean (line) and the
    poster's values (dashed; ``rows`` of :func:`vist.experiments.complementary.table`); one legend
    below the panels."""
    dirs = list(dict.fromkeys(rows["direction"]))
    fig, axes = plt.subplots(1, len(dirs), figsize=(7.2 if len(dirs) > 1 else 4.8, 3.6), squeeze=False,
                             layout="constrained")
    handles: dict[str, Any] = {}
    for ax, d in zip(axes[0], dirs, strict=True):
        pts = scores[scores["direction"] == d]
        ax.scatter(pts["cells"], pts["top8_cc"], color="tab:blue", alpha=0.5, s=18, label="ours: each seed × draw")
        rs = rows[rows["direction"] == d].sort_values("cells", kind="stable")
        ax.plot(rs["cells"], rs["top8_cc_mean"], "o-", color="tab:blue", label="ours: mean")
        ref = rs[np.isfinite(rs["poster_top8_cc"].to_numpy(dtype=np.float64))]
        if len(ref):
            ax.plot(ref["cells"], ref["poster_top8_cc"], "D--", color="k", label="poster (real data, pretrained)")
        ax.set_xscale("log")
        ticks = sorted(set(rs["cells"]))
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.minorticks_off()
        ax.set_xlabel("cells in the population the model is trained on")
        ax.set_ylabel("mean CC of the top 8 cells")
        ax.set_title(d)
        handles.update(zip(*reversed(ax.get_legend_handles_labels()), strict=True))
    fig.legend(handles.values(), handles.keys(), loc="outside lower center", ncol=3 if len(dirs) > 1 else 1,
               frameon=False)
    return fig


def rf_maps(result: Mapping[str, Any], cells: Mapping[str, int]) -> Figure:
    """Example cells (rows): the true RF on the patch grid and the maps the probe recovers from
    the noise-free rates and from the model; and (last column) every cell's agreement."""
    names = ["true rates", "model"]
    fig = plt.figure(figsize=(7.2, 2.0 * len(cells) + 1.2), layout="constrained")
    grid = fig.add_gridspec(len(cells), 4, width_ratios=[1, 1, 1, 2.0])
    for i, (title, c) in enumerate(cells.items()):
        panels = [("true RF (simulator)", result["true"][c])] + [
            (f"probe on {n}\nr = {result['r'][n][c]:.2f}", result["maps"][n][c]) for n in names]
        for j, (sub, img) in enumerate(panels):
            ax = fig.add_subplot(grid[i, j])
            lim = float(np.max(np.abs(img))) or 1.0
            ax.imshow(img, cmap="RdBu_r", vmin=-lim, vmax=lim)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(sub)
            if j == 0:
                ax.set_ylabel(title)
    ax = fig.add_subplot(grid[:, 3])
    bins = np.linspace(-1, 1, 41)
    for n, color in (("true rates", "0.5"), ("recorded", "tab:purple"), ("model", "tab:orange")):
        r = result["r"][n]
        ax.hist(r[np.isfinite(r)], bins=bins, histtype="step", lw=1.5, color=color,
                label=f"{n}: median {np.nanmedian(r):.2f}")
    rs = result["r_shuffled"]["model"]
    ax.hist(rs[np.isfinite(rs)], bins=bins, histtype="step", ls="--", color="k",
            label=f"shuffled: median {np.nanmedian(rs):.2f}")
    ax.set_xlabel("r(recovered map, true RF)")
    ax.set_ylabel("cells")
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=2, title="probe on", frameon=False)  # off the bars
    return fig


def readout_points(offsets: pd.DataFrame, size: int) -> Figure:
    """Each cell's RF centre (circle) joined to the point its readout learned (cross), on the
    ``size``-px frame; from :func:`vist.experiments.crnn_points.point_offsets`."""
    fig, ax = plt.subplots(figsize=(4.2, 4.2), layout="constrained")
    for r in offsets.itertuples():
        ax.plot([r.rf_x, r.point_x], [r.rf_y, r.point_y], color="0.6", lw=0.8)
    inside = offsets["inside"].to_numpy()
    ax.scatter(offsets["rf_x"], offsets["rf_y"], s=22, facecolors="none", edgecolors="k", label="RF centre")
    ax.scatter(offsets["point_x"][inside], offsets["point_y"][inside], marker="x", s=22, color="tab:green",
               label="readout point, inside the RF")
    ax.scatter(offsets["point_x"][~inside], offsets["point_y"][~inside], marker="x", s=22, color="tab:red",
               label="readout point, outside")
    ax.set_xlim(0, size)
    ax.set_ylim(size, 0)  # image rows run down
    ax.set_aspect("equal")
    ax.set_xlabel("x (px of the CRNN's frame)")
    ax.set_ylabel("y (px)")
    fig.legend(loc="outside lower center", ncol=1, frameon=False)
    return fig
