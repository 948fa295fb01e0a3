"""Figures of a training run: learning curves, predicted vs recorded rates, CC vs noise ceiling."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from vist.train import Run


def run_label(run: Run) -> str:
    """Data, prior and preset of a run, in one line (for every figure and table)."""
    lab = run.labels
    prov = run.record["provenance"]
    return (f"data: {lab['data']} | prior: {lab['prior']} | preset: {lab['preset']} | "
            f"{prov['device']}, {prov['date'][:10]}, commit {prov['commit']}")


def learning_curves(run: Run) -> Figure:
    """Training loss, and CC and SD-KL on the test split (or its first ``eval_frames``, see
    :func:`log_frames`), per epoch."""
    h = run.history
    ep = [r["epoch"] + 1 for r in h]
    fig, axes = plt.subplots(1, 3, figsize=(7.2, 2.6))
    axes[0].plot(ep, [r["loss"] for r in h], "o-")
    axes[0].set_ylabel("training loss")
    axes[1].plot(ep, [r.get("cc", np.nan) for r in h], "o-", color="tab:green")
    axes[1].set_ylabel("test CC")
    axes[2].plot(ep, [r.get("sd_kl", np.nan) for r in h], "o-", color="tab:red")
    axes[2].set_ylabel("test SD-KL")
    swa = run.record["settings"].get("swa_start")
    for ax in axes:
        ax.set_xlabel("epoch")
        if swa is not None and swa < len(h):
            ax.axvspan(swa + 0.5, len(h) + 0.5, color="0.9", zorder=0, label="SWA averaging")
    if swa is not None and swa < len(h):
        axes[0].legend()
    fig.tight_layout()
    return fig


def ranked_cells(run: Run) -> dict[str, int]:
    """The best, middle and worst cell by CC (cells with undefined r rank last)."""
    r = np.nan_to_num(run.per_cell["cc"], nan=-np.inf)
    order = np.argsort(-r)
    return {"best": int(order[0]), "middle": int(order[len(order) // 2]), "worst": int(order[-1])}


def predictions(run: Run, seconds: float = 20.0) -> Figure:
    """Predicted and recorded rates of the best, middle and worst cells (the poster's supplement)."""
    p = run.predictions()
    fps = 30.0
    n = min(len(p["pred"]), int(seconds * fps))
    t = np.arange(n) / fps
    cells = ranked_cells(run)
    types = run.labels.get("cell_types", [])
    fig, axes = plt.subplots(len(cells), 1, figsize=(7.2, 1.9 * len(cells)), sharex=True)
    for ax, (rank, c) in zip(axes, cells.items(), strict=True):
        ax.plot(t, p["target"][:n, c], color="k", lw=1, label="recorded (trial mean)")
        ax.plot(t, p["pred"][:n, c], color="tab:orange", lw=1, label="predicted")
        kind = f", {types[c]}" if c < len(types) else ""
        ax.set_title(f"{rank} cell: #{c}{kind}, CC = {run.per_cell['cc'][c]:.3f}, "
                     f"SD-KL = {run.per_cell['sd_kl'][c]:.2f}")
        ax.set_ylabel("spikes / bin")
    axes[0].legend(loc="upper right")
    axes[-1].set_xlabel("time from the start of the test split (s)")
    fig.tight_layout()
    return fig


def cc_vs_ceiling(run: Run) -> Figure:
    """Each cell's CC against its noise ceiling, and the distribution of normalised CC."""
    pc = run.per_cell
    fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.0))
    axes[0].scatter(pc["cc_ceiling"], pc["cc"], s=12)
    lim = [min(0, np.nanmin(pc["cc"])), 1]
    axes[0].plot(lim, lim, "k--", lw=0.8, label="CC = ceiling")
    axes[0].set_xlabel("noise ceiling: sqrt(split-half reliability)")
    axes[0].set_ylabel("model CC")
    axes[0].legend()
    norm = pc["cc_normalised"][np.isfinite(pc["cc_normalised"])]
    axes[1].hist(norm, bins=20, color="tab:green")
    axes[1].axvline(np.mean(norm) if norm.size else np.nan, color="k", lw=1,
                    label=f"mean {np.mean(norm) if norm.size else np.nan:.2f}")
    axes[1].set_xlabel("CC / noise ceiling")
    axes[1].set_ylabel("cells")
    axes[1].legend()
    fig.tight_layout()
    return fig


def log_frames(run: Run) -> str:
    """Which test frames a run's per-epoch log scores ("the test split" or "the first N test frames")."""
    frames = run.record["settings"].get("eval_frames")
    return "the test split" if frames is None else f"the first {frames} test frames"


def curves(runs: Mapping[tuple[str, str], Run]) -> Figure:
    """Per-epoch test CC (left) and training loss relative to its first epoch (right) of several
    runs keyed ``(model, direction)``: one colour per model, one line style per direction. The
    last three epochs of each run — where a plateau is judged — are marked with larger dots."""
    rows = []
    for (model, direction), run in runs.items():
        h = run.history
        loss0 = h[0]["loss"] if h and h[0]["loss"] else 1.0
        for i, r in enumerate(h):
            rows.append({"model": model, "direction": direction, "epoch": r["epoch"] + 1,
                         "cc": r.get("cc", np.nan), "loss": r["loss"] / loss0, "last3": i >= len(h) - 3})
    df = pd.DataFrame(rows)
    fig, axes = plt.subplots(1, 2, figsize=(7.2, 4.0))
    for ax, y, label in ((axes[0], "cc", "test CC (per-epoch log)"), (axes[1], "loss", "training loss / first epoch")):
        sns.lineplot(data=df, x="epoch", y=y, hue="model", style="direction", ax=ax, legend=ax is axes[1],
                     palette="deep", linewidth=1.2)
        if y == "cc":
            sns.scatterplot(data=df[df["last3"]], x="epoch", y=y, hue="model", ax=ax, legend=False,
                            palette="deep", s=16)
        ax.set_ylabel(label)
        ax.set_xscale("log")
    axes[1].set_yscale("log")
    handles, labels = axes[1].get_legend_handles_labels()
    axes[1].get_legend().remove()
    fig.legend(handles, labels, ncol=4, loc="lower center", frameon=False)
    fig.tight_layout(rect=(0, 0.2, 1, 1))  # the legend below both panels, off the curves
    return fig
