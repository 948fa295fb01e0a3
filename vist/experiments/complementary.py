"""Complementary coding (SPEC §6, poster "Comparison of benefits of complementary coding").

Is one model of the whole population better than models of small groups? The poster's protocol:

1. train on all 90 cells and rank the cells by CC; keep the **top 8**;
2. train on populations of 90, 64, 32, 16, 8 and 1 cells;
3. report the mean CC of the top-8 cells in each population's model.

Our reading, written down because the poster is silent:

* **Populations.** Every population of ``n ≥ 8`` cells contains the top 8; the other ``n − 8``
  cells are drawn at random from the rest, *nested* within one draw (one random order of the
  other cells; the population of 16 is the 8 plus the first 8 of that order, the 32 adds the next
  16, …), so within a draw the sizes differ only by the cells added. Different draws use
  different orders (``draw`` seeds the permutation together with the run's seed). ``n = 8`` is
  the top 8 themselves; ``n = all`` is the full population (no randomness: one draw). For
  ``n < 8`` (the poster's 1) the top 8 are split into ``8 / n`` groups in rank order, each group
  trained alone, and the top-8 mean CC pools all groups.
* **Which 8.** Ranked on the 90-cell model's own test scores, as the poster does. This favours the
  90-cell population slightly (the selection and the score use the same predictions).
* **Seeds.** Every seed is a new virtual retina (see :class:`~vist.train.RunSpec`), so the top 8
  are re-selected per seed from that seed's full-population run.
* **"Movie 1 / movie 2".** We read the poster's two curves as the two cross-movie directions
  (trained on movie 1 and tested on movie 2, and the reverse): their 90-cell values (.54, .39) lie
  above the cross-movie mean CCs (.334, .281) as a top-8 mean should, and far below the
  within-movie ones (.789, .570).

The full population runs with ``cells=None`` — the very spec of the generalisation chapter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from vist.experiments.common import RunLike, TrainFn, beyond_spread, mean_sd, train_all
from vist.experiments.paper import COMPLEMENTARY_TOP8_CC
from vist.train import RunSpec

SIZES: tuple[int, ...] = (90, 64, 32, 16, 8, 1)
"""The poster's population sizes."""

TOP = 8
"""Cells whose CC is compared across population sizes."""

DEFAULT_SIZES: dict[str, tuple[int, ...]] = {"small": (90, 8, 1), "paper": SIZES}
"""Population sizes per preset. Small (2 CPU cores): the full population (shared with chapter 7),
the top 8 alone and each top cell alone — the two ends of the poster's curve. A run's cost on a
CPU hardly falls below a quarter of the full model's, so the eight single-cell models dominate."""

DEFAULT_DRAWS: dict[str, int] = {"small": 1, "paper": 3}
"""Random populations per size (nested draws) per preset."""

DEFAULT_BOTH: dict[str, bool] = {"small": False, "paper": True}
"""Whether both cross-movie directions are run by default, per preset."""


def size_list(sizes: Sequence[int] | None, preset: str, n_cells: int) -> tuple[int, ...]:
    """Population sizes: ``sizes`` as given, else the preset's (:data:`DEFAULT_SIZES`) with the
    full population taken as ``n_cells`` (sizes above it dropped), largest first."""
    if sizes is None:
        base = DEFAULT_SIZES.get(preset, DEFAULT_SIZES["small"])
        sizes = [n for n in base if n < n_cells] + [n_cells]
    return tuple(sorted(check_sizes(sizes, n_cells), reverse=True))


def top_cells(run: RunLike, k: int = TOP) -> tuple[int, ...]:
    """The ``k`` cells with the highest CC in ``run`` (dataset cell indices, best first; cells
    with an undefined r rank last).

    Raises:
        ValueError: fewer than ``k`` cells.
    """
    cc = np.nan_to_num(np.asarray(run.per_cell["cc"], dtype=np.float64), nan=-np.inf)
    if cc.size < k:
        raise ValueError(f"top_cells: expected at least {k} cells, found {cc.size}")
    index = list(run.labels.get("cell_index", range(cc.size)))
    order = np.argsort(-cc, kind="stable")[:k]
    return tuple(int(index[i]) for i in order)


def check_sizes(sizes: Sequence[int], n_cells: int, top: int = TOP) -> tuple[int, ...]:
    """``sizes`` checked: each ≥ ``top`` and ≤ ``n_cells``, or a divisor of ``top``; distinct.

    Raises:
        ValueError: a size the protocol cannot make (the message says why).
    """
    out = tuple(int(n) for n in sizes)
    if not out:
        raise ValueError("sizes: expected at least one population size, found none")
    for n in out:
        if n > n_cells:
            raise ValueError(f"sizes: the data has {n_cells} cells; found a population of {n}")
        if n < 1 or (n < top and top % n):
            raise ValueError(f"sizes: populations smaller than {top} split the top {top} into equal "
                             f"groups, so they must divide {top}; found {n}")
    if len(set(out)) != len(out):
        raise ValueError(f"sizes: expected distinct sizes, found {list(out)}")
    return out


def populations(n_cells: int, top: Sequence[int], sizes: Sequence[int], draws: int = 1,
                seed: int = 0) -> dict[tuple[int, int], list[tuple[int, ...] | None]]:
    """The populations to train, per (size, draw): a list of sorted cell-index tuples (several
    groups for sizes below ``len(top)``); ``None`` stands for the whole population (``cells=None``).

    Sizes without randomness (all cells, the top group itself, the groups below it) have only
    draw 0. Draw ``d`` orders the other cells with ``numpy.random.default_rng([seed, d])``; sizes
    are nested within a draw (see the module docstring).

    Raises:
        ValueError: bad sizes, draws < 1, or top cells outside ``0 … n_cells − 1``.
    """
    top = tuple(int(c) for c in top)
    k = len(top)
    sizes = check_sizes(sizes, n_cells, k)
    if draws < 1:
        raise ValueError(f"draws: expected at least 1, found {draws}")
    if len(set(top)) != k or any(not 0 <= c < n_cells for c in top):
        raise ValueError(f"top: expected {k} distinct cells in 0…{n_cells - 1}, found {list(top)}")
    rest = np.array([c for c in range(n_cells) if c not in set(top)])
    out: dict[tuple[int, int], list[tuple[int, ...] | None]] = {}
    for n in sizes:
        if n == n_cells:
            out[(n, 0)] = [None]
        elif n == k:
            out[(n, 0)] = [tuple(sorted(top))]
        elif n < k:
            out[(n, 0)] = [tuple(sorted(top[i:i + n])) for i in range(0, k, n)]
        else:
            for d in range(draws):
                order = np.random.default_rng([int(seed), d]).permutation(rest)
                out[(n, d)] = [tuple(sorted((*top, *(int(c) for c in order[: n - k]))))]
    return out


def top_cc(runs: Sequence[RunLike], top: Sequence[int]) -> float:
    """Mean CC of the ``top`` cells over the runs of one population (each cell scored in the run
    that contains it; cells in no run are ignored)."""
    vals = []
    for run in runs:
        index = list(run.labels.get("cell_index", range(len(run.per_cell["cc"]))))
        for c in top:
            if c in index:
                vals.append(float(run.per_cell["cc"][index.index(c)]))
    return float(np.nanmean(vals)) if vals else float("nan")


@dataclass
class Direction:
    """The results of one train → test direction.

    Attributes:
        train_movie, test_movie: the direction.
        top: per seed, the top cells of that seed's full-population run (best first).
        runs: ``{(size, draw, seed): [runs of that population's groups]}``.
    """

    train_movie: str
    test_movie: str
    top: dict[int, tuple[int, ...]]
    runs: dict[tuple[int, int, int], list[RunLike]]

    @property
    def name(self) -> str:
        return f"{self.train_movie}→{self.test_movie}"

    def scores(self) -> dict[tuple[int, int, int], float]:
        """Top-cell mean CC per (size, draw, seed)."""
        return {key: top_cc(rs, self.top[key[2]]) for key, rs in self.runs.items()}


def run_direction(base: RunSpec, seeds: Sequence[int], sizes: Sequence[int] | None, draws: int,
                  train: TrainFn, device: str = "auto", rerun: bool = False, top: int = TOP) -> Direction:
    """Train (or reuse) everything for one direction: per seed, the full population
    (``base`` with that seed, ``cells=None``), its top cells, then every population of
    :func:`populations` (``sizes=None``: :func:`size_list`'s default for ``base.preset``).
    ``train`` is :func:`vist.train.train_run` (tests pass a fake)."""
    tops: dict[int, tuple[int, ...]] = {}
    runs: dict[tuple[int, int, int], list[RunLike]] = {}
    for s in seeds:
        full_spec = base.replace(seed=int(s), cells=None)
        full = train(full_spec, device=device, rerun=rerun, progress=False)
        n_cells = len(full.per_cell["cc"])
        tops[s] = top_cells(full, top)
        chosen = size_list(sizes, base.preset, n_cells)
        pops = populations(n_cells, tops[s], chosen, draws, seed=s)
        # every smaller population of this seed in one list (side by side with workers)
        specs = {(n, d, i): full_spec.replace(cells=cells) for (n, d), groups in pops.items()
                 for i, cells in enumerate(groups) if cells is not None}
        trained = train_all(specs, train, device=device, rerun=rerun)
        for (n, d), groups in pops.items():
            runs[(n, d, s)] = [full if cells is None else trained[(n, d, i)] for i, cells in enumerate(groups)]
    return Direction(base.train_movie, base.test_movie, tops, runs)


def paper_reference(direction: Direction) -> dict[int, float]:
    """The poster's top-8 mean CC by size for this direction's *training* movie (see the module
    docstring for our reading of "movie 1 / movie 2")."""
    col = {"mov1": 0, "mov2": 1}.get(direction.train_movie)
    return {} if col is None else {n: v[col] for n, v in COMPLEMENTARY_TOP8_CC.items()}


def table(directions: Sequence[Direction]) -> pd.DataFrame:
    """One row per (direction, size), sizes largest first: ``direction`` ("mov1→mov2"), ``cells``,
    ``models`` (trained), the top-8 mean CC over seeds × draws (``top8_cc_mean``, ``top8_cc_sd``,
    and ``seed_draws``, how many), the whole population's CC (``cc_mean``: signed mean over its
    cells, averaged over its runs), the poster's top-8 CC (``poster_top8_cc``, read off its
    figure; NaN where it gives none) and the labels of our runs (``data``, ``prior``, ``preset``)."""
    out = []
    for dr in directions:
        scores = dr.scores()
        ref = paper_reference(dr)
        sizes = list(dict.fromkeys(n for n, _, _ in dr.runs))
        for n in sorted(sizes, reverse=True):
            keys = [k for k in dr.runs if k[0] == n]
            m, sd, count = mean_sd(scores[k] for k in keys)
            rs = [r for k in keys for r in dr.runs[k]]
            lab = rs[0].labels if rs else {}
            out.append({"direction": dr.name, "cells": n, "models": sum(len(dr.runs[k]) for k in keys),
                        "seed_draws": count, "top8_cc_mean": m, "top8_cc_sd": sd,
                        "cc_mean": mean_sd(r.scores.cc for r in rs)[0],
                        "poster_top8_cc": float(ref.get(n, np.nan)),
                        **{k: lab.get(k, "–") for k in ("data", "prior", "preset")}})
    return pd.DataFrame(out)


def per_seed_top(directions: Sequence[Direction]) -> pd.DataFrame:
    """Which cells were the top 8 (``top_cells``, best first), per ``direction`` and ``seed``."""
    return pd.DataFrame([{"direction": dr.name, "seed": s, "top_cells": list(t)} for dr in directions
                         for s, t in dr.top.items()])


def scores_frame(directions: Sequence[Direction]) -> pd.DataFrame:
    """Every top-8 CC (``top8_cc``), one row per ``direction``, ``cells``, ``draw``, ``seed``; for plots."""
    return pd.DataFrame([{"direction": dr.name, "cells": n, "draw": d, "seed": s, "top8_cc": v}
                         for dr in directions for (n, d, s), v in dr.scores().items()],
                        columns=["direction", "cells", "draw", "seed", "top8_cc"])


def findings(rows: pd.DataFrame) -> list[str]:
    """Sentences about the table (:func:`table`), computed from it, per direction: the top-8 CC
    in the largest population against the smallest, and whether the difference is beyond the
    spread over seeds × draws (:func:`vist.experiments.common.beyond_spread`; with a single seed
    and draw it cannot be)."""
    out = []
    records = rows.to_dict("records")
    for name in dict.fromkeys(r["direction"] for r in records):
        rs = sorted((r for r in records if r["direction"] == name), key=lambda r: r["cells"])
        if len(rs) < 2:
            continue
        lo, hi = rs[0], rs[-1]
        d = hi["top8_cc_mean"] - lo["top8_cc_mean"]
        real = beyond_spread(hi["top8_cc_mean"], hi["top8_cc_sd"], lo["top8_cc_mean"], lo["top8_cc_sd"])
        verdict = ("beyond the spread over seeds × draws" if real else
                   "not separable from the spread over seeds × draws" if hi["seed_draws"] > 1
                   else "from a single seed and draw, so without a spread to judge it by")
        out.append(f"{name}: the top 8 cells reach CC {hi['top8_cc_mean']:.3f} in the population of "
                   f"{hi['cells']} and {lo['top8_cc_mean']:.3f} with {lo['cells']} cell(s) per model, "
                   f"a difference of {d:+.3f}, {verdict}.")
    return out
