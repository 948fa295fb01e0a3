"""Layer depth (SPEC §6, poster Discussion (b)): Vi-ST on features of different ViT blocks.

Blocks are written ``L−n`` (``−1`` = the last block, as everywhere in this book). The block the
preset uses anyway is run with ``layer=None``, so its run is the one chapters 6–8 train.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from vist.data import load
from vist.env import resolve_device
from vist.experiments.common import RunLike, beyond_spread, labels, mean_sd
from vist.presets import get_preset
from vist.prior import BACKBONES, make_prior
from vist.train import RunSpec

DEFAULT_LAYERS: dict[str, tuple[int, ...]] = {
    "small": (-4, -12),
    "paper": (-1, -2, -3, -4, -6, -8, -12),
}
"""Blocks per preset. Small (ViT-S/14, 12 blocks, 2 CPU cores): the preset's own L−4 and the
first block L−12, whose features cost 1/12 of a full pass (a block at depth k costs k/12 of the
≈ 3 min a full pass over both movies takes there); paper (ViT-L/14, 24 blocks): the last four
blocks and three deeper cuts."""


def depth(preset: str, backbone: str | None = None) -> int:
    """Blocks of the backbone (``None``: the preset's)."""
    name = backbone or get_preset(preset).prior.backbone
    if name not in BACKBONES:
        raise ValueError(f"backbone: expected one of {list(BACKBONES)}, found {name!r}")
    return int(BACKBONES[name][2])


def layer_list(layers: Sequence[int] | None, preset: str, backbone: str | None = None) -> tuple[int, ...]:
    """The blocks to run, each as ``−n``: ``layers`` as given, else :data:`DEFAULT_LAYERS`.

    Raises:
        ValueError: a block outside ``−depth … −1`` (the message gives the backbone's depth).
    """
    d = depth(preset, backbone)
    out = DEFAULT_LAYERS.get(preset, DEFAULT_LAYERS["small"]) if layers is None else tuple(int(x) for x in layers)
    if not out:
        raise ValueError("layers: expected at least one block (−1 = last), found none")
    for n in out:
        if not -d <= n <= -1:
            raise ValueError(f"layers: the backbone has {d} blocks; expected blocks −{d}…−1 (L−n), found {n}")
    return tuple(dict.fromkeys(out))


def specs(layers: Sequence[int], seeds: Sequence[int], preset: str, backbone: str | None = None,
          **common: Any) -> dict[tuple[int, int], RunSpec]:
    """One Vi-ST run per (block, seed). The preset's own block (with the preset's backbone) gets
    ``layer=None``: the very spec the other chapters train."""
    own = get_preset(preset).prior.layer if backbone is None else None
    return {(n, s): RunSpec(model="vist", seed=s, preset=preset, backbone=backbone,
                            layer=None if n == own else n, **common)
            for n in layers for s in seeds}


def precompute_features(layers: Sequence[int], data: str, movies: Sequence[str], seed: int, preset: str,
                        device: str = "auto", backbone: str | None = None, weights: str | None = None) -> None:
    """Compute (or find cached) each block's features for each movie, quietly, before training —
    the very cache entries :func:`vist.train.train_run` reads (same prior settings), so the
    chapter shows no progress bars while a new block's features are computed."""
    frames = {m: load(data, m, seed=seed).frames for m in dict.fromkeys(movies)}
    dev = resolve_device(device)
    for n in layers:
        prior = make_prior("dinov2", preset=preset, device=dev, backbone=backbone, layer=n, weights=weights,
                           progress=False)
        for f in frames.values():
            prior.features(f)


def table(runs: Mapping[tuple[int, int], RunLike], preset: str, backbone: str | None = None) -> pd.DataFrame:
    """One row per block, the last block first: ``block`` ("L−n"), ``n``, ``block_index`` (0-based),
    ``seeds``, our CC and SD-KL over seeds (``cc_mean``, ``cc_sd``, ``sd_kl_mean``, ``sd_kl_sd``),
    the mean CC / noise ceiling (``cc_normalised_mean``), ``poster`` (what the poster gives) and
    the labels of our runs (``data``, ``prior``, ``preset``)."""
    d = depth(preset, backbone)
    by_layer: dict[int, list[RunLike]] = {}
    for (n, _), run in runs.items():
        by_layer.setdefault(n, []).append(run)
    out = []
    for n, rs in by_layer.items():
        cc_m, cc_s, k = mean_sd(r.scores.cc for r in rs)
        kl_m, kl_s, _ = mean_sd(r.scores.sd_kl for r in rs)
        out.append({"block": f"L{n}", "n": n, "block_index": d + n, "seeds": k,
                    "cc_mean": cc_m, "cc_sd": cc_s, "sd_kl_mean": kl_m, "sd_kl_sd": kl_s,
                    "cc_normalised_mean": mean_sd(r.scores.cc_normalised for r in rs)[0],
                    "poster": "figure only (no values in the poster text)", **labels(rs)})
    return pd.DataFrame(sorted(out, key=lambda r: -r["n"]))


def findings(rows: pd.DataFrame) -> list[str]:
    """Sentences about the layer table (:func:`table`), computed from it: the block with the
    highest CC and whether it is ahead of the others beyond the seed spread
    (:func:`vist.experiments.common.beyond_spread`; with one seed no difference can be)."""
    records = [r for r in rows.to_dict("records") if np.isfinite(r["cc_mean"])]
    if not records:
        return ["No block was run."]
    best = max(records, key=lambda r: r["cc_mean"])
    out = [f"The highest CC comes from block {best['block']} ({best['cc_mean']:.3f}, "
           f"{best['seeds']} seed(s))."]
    for r in records:
        if r is best:
            continue
        real = beyond_spread(best["cc_mean"], best["cc_sd"], r["cc_mean"], r["cc_sd"])
        out.append(f"Block {r['block']}: CC {r['cc_mean']:.3f}, "
                   + ("behind it beyond the seed spread." if real else
                      "not separable from it with these seeds."))
    return out
