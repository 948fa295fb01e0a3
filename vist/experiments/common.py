"""What every experiment of chapters 7–12 shares: seeds, tidy scores, mean ± sd over seeds, labels.

The headline experiments (generalisation, ablation, losses) train every configuration with three
seeds on either preset and report mean ± sd; on the small preset (2 CPU cores) the others (layer
depth, population sizes) train one seed, so the book builds within its budget.
:func:`resolve_seeds` is that rule in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from vist.metrics import Scores
from vist.train.inputs import shared_inputs

PAPER_SEEDS = 3
"""Seeds per configuration on the paper preset (``seed, seed + 1, …``)."""


class RunLike(Protocol):
    """What the experiment tables read from a :class:`vist.train.Run` (tests pass light fakes)."""

    @property
    def scores(self) -> Scores: ...

    @property
    def per_cell(self) -> dict[str, np.ndarray]: ...

    @property
    def labels(self) -> dict[str, Any]: ...

    record: dict[str, Any]


TrainFn = Callable[..., RunLike]
"""``train(spec, device=..., rerun=..., progress=...)`` — :func:`vist.train.train_run` or a fake."""

def resolve_seeds(seeds: Sequence[int] | int | None, seed: int, preset: str,
                  headline: bool = False) -> tuple[int, ...]:
    """The seeds of an experiment: ``seeds`` as given, else ``seed … seed + PAPER_SEEDS − 1`` for
    a headline experiment (generalisation, ablation, losses) or on the paper preset, and
    ``(seed,)`` for the small preset's other experiments (layers, population sizes).

    Raises:
        ValueError: an empty list or non-integer seeds.
    """
    if seeds is None:
        if headline or preset == "paper":
            return tuple(range(int(seed), int(seed) + PAPER_SEEDS))
        return (int(seed),)
    if isinstance(seeds, int | np.integer):
        return (int(seeds),)
    out = tuple(int(s) for s in seeds)
    if not out:
        raise ValueError("seeds: expected at least one seed, found an empty list")
    if len(set(out)) != len(out):
        raise ValueError(f"seeds: expected distinct seeds, found {list(out)}")
    return out


def mean_sd(values: Iterable[float]) -> tuple[float, float, int]:
    """Mean, sample standard deviation (``nan`` for fewer than 2 values) and count of the finite values."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=np.float64)
    if v.size == 0:
        return float("nan"), float("nan"), 0
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else float("nan"), int(v.size)


def pm(mean: float, sd: float, digits: int = 3) -> str:
    """``"0.123 ± 0.004"`` (or ``"0.123"`` when ``sd`` is undefined, ``"–"`` when nothing was run)."""
    if not np.isfinite(mean):
        return "–"
    return f"{mean:.{digits}f}" if not np.isfinite(sd) else f"{mean:.{digits}f} ± {sd:.{digits}f}"


def pm_column(frame: pd.DataFrame, metric: str, digits: int = 3) -> list[str]:
    """:func:`pm` of ``frame``'s ``<metric>_mean`` and ``<metric>_sd`` columns, row by row (for a
    table a chapter shows)."""
    return [pm(m, s, digits) for m, s in zip(frame[f"{metric}_mean"], frame[f"{metric}_sd"], strict=True)]


def labels(runs: Iterable[RunLike]) -> dict[str, str]:
    """Data, prior and preset of a set of runs, each the distinct values joined with " / "."""
    out: dict[str, list[str]] = {"data": [], "prior": [], "preset": []}
    for run in runs:
        for k in out:
            v = str(run.labels.get(k, "?"))
            if v not in out[k]:
                out[k].append(v)
    return {k: " / ".join(v) for k, v in out.items()}


def provenance(runs: Iterable[RunLike]) -> str:
    """Devices, dates and commits of a set of runs, in one line (for captions)."""
    seen: list[str] = []
    for run in runs:
        p = run.record.get("provenance", {})
        text = f"{p.get('device', '?')}, {str(p.get('date', '?'))[:10]}, commit {p.get('commit', '?')}"
        if text not in seen:
            seen.append(text)
    return "; ".join(seen)


def train_all(specs: Mapping[Any, Any], train: TrainFn, device: str = "auto",
              rerun: bool = False) -> dict[Any, RunLike]:
    """Train (or reuse) every spec: ``{key: spec}`` → ``{key: run}``, in the mapping's order; the
    runs share prior networks and movie inputs (:func:`vist.train.inputs.shared_inputs`)."""
    with shared_inputs():
        return {key: train(spec, device=device, rerun=rerun, progress=False) for key, spec in specs.items()}


def caption(runs: Iterable[RunLike]) -> str:
    """``"ours — data: … | prior: … | preset: …"``: what every figure and table of ``runs`` says."""
    lab = labels(runs)
    return f"ours — data: {lab['data']} | prior: {lab['prior']} | preset: {lab['preset']}"


@dataclass
class Experiment:
    """The runs of an experiment, ``{key: run}``, with the caption and provenance its figures carry."""

    runs: dict[Any, RunLike]
    caption: str
    provenance: str


def run_experiment(specs: Mapping[Any, Any], train: TrainFn, device: str = "auto", rerun: bool = False,
                   what: str = "") -> Experiment:
    """Train (or reuse) every spec (:func:`train_all`) and print what was run, on what, where.

    ``what`` describes the design in a few words (e.g. ``"4 rows × seeds [0]"``).
    """
    runs = train_all(specs, train, device=device, rerun=rerun)
    out = Experiment(runs, caption(runs.values()), provenance(runs.values()))
    print(f"{len(runs)} runs" + (f" ({what})" if what else ""))
    print(out.caption)
    print("provenance:", out.provenance)
    return out


def movie_pairs(train_movie: str, test_movie: str, both: bool) -> list[tuple[str, str]]:
    """``[(train_movie, test_movie)]``, and the reverse direction too when ``both`` and they differ."""
    pairs = [(train_movie, test_movie)]
    if both and train_movie != test_movie:
        pairs.append((test_movie, train_movie))
    return pairs


def check_choices(name: str, given: Iterable[Any], allowed: Sequence[Any]) -> tuple[Any, ...]:
    """``given`` as a tuple, each item checked against ``allowed``.

    Raises:
        ValueError: an unknown item (the message lists the choices) or an empty selection.
    """
    out = tuple(given)
    if not out:
        raise ValueError(f"{name}: expected at least one of {list(allowed)}, found none")
    for item in out:
        if item not in allowed:
            raise ValueError(f"{name}: expected items of {list(allowed)}, found {item!r}")
    return out


METRICS: tuple[str, ...] = ("cc", "feve", "sd_kl", "cc_normalised")
"""The :class:`vist.metrics.Scores` fields a tidy frame has as columns (CC: signed mean over
cells; FEVE and CC / noise ceiling: means over cells; SD-KL: mean over cells, lower is better)."""


def tidy(runs: Mapping[tuple[Any, ...], RunLike], keys: Sequence[str]) -> pd.DataFrame:
    """One row per run: the fields of its key tuple named by ``keys`` (a key's remaining fields are
    dropped), ``seed`` (from the run's spec), the scores of :data:`METRICS`, and the run's
    ``data``, ``prior`` and ``preset`` labels. Columns are snake_case; display names are the
    chapter's business."""
    rows = []
    for key, run in runs.items():
        key = key if isinstance(key, tuple) else (key,)
        row: dict[str, Any] = dict(zip(keys, key[:len(keys)], strict=True))
        row["seed"] = int(run.record.get("spec", {}).get("seed", key[-1] if len(key) > len(keys) else 0))
        row.update({col: float(getattr(run.scores, col)) for col in METRICS})
        row.update({k: str(run.labels.get(k, "?")) for k in ("data", "prior", "preset")})
        rows.append(row)
    return pd.DataFrame(rows)


def summarise(scores: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Mean, sample sd and count over seeds of every score, per group of ``by`` (groups in order of
    appearance): columns ``<metric>_mean``, ``<metric>_sd`` and ``seeds``."""
    g = scores.groupby(list(by), sort=False)
    out = g[list(METRICS)].agg(["mean", "std"])
    out.columns = [f"{m}_{'sd' if s == 'std' else s}" for m, s in out.columns]
    out["seeds"] = g.size()
    return out.reset_index()


def beyond_spread(a: float, a_sd: float, b: float, b_sd: float) -> bool:
    """Whether means ``a`` and ``b`` differ by more than the sum of their seed sds (a plain,
    conservative rule for three seeds; ``False`` when either sd is undefined)."""
    if not all(np.isfinite(v) for v in (a, a_sd, b, b_sd)):
        return False
    return abs(a - b) > a_sd + b_sd


def plateau(history: Sequence[Mapping[str, Any]], epochs: int = 3) -> float:
    """Range (max − min) of the per-epoch test CC over the last ``epochs`` epochs of a run's log:
    how far the model still moved when training stopped (NaN for a shorter log)."""
    cc = [float(h["cc"]) for h in history if h.get("cc") is not None]
    if len(cc) < epochs:
        return float("nan")
    tail = cc[-epochs:]
    return float(max(tail) - min(tail))


def schedules(runs: Mapping[tuple[Any, ...], RunLike], key: int = 0) -> pd.DataFrame:
    """What each model trained with, one row per value of the runs' key field ``key`` (e.g. the
    model name): epochs × steps per epoch, windows per step × frames per window, the frame-samples
    seen, peak learning rate, median training time per run (s) and the largest last-three-epoch
    CC range over its runs (:func:`plateau`)."""
    groups: dict[Any, list[RunLike]] = {}
    for k, run in runs.items():
        groups.setdefault(k[key] if isinstance(k, tuple) else k, []).append(run)
    rows = []
    for name, rs in groups.items():
        s = rs[0].record["settings"]
        rows.append({"model": name, "epochs": s["epochs"], "steps_per_epoch": s["batches_per_epoch"],
                     "batch": s["batch"], "window": s["window"],
                     "frame_samples": s["epochs"] * s["batches_per_epoch"] * s["batch"] * s["window"],
                     "lr": s["lr"],
                     "train_s": float(np.median([r.record["timings"]["train_s"] for r in rs])),
                     "plateau": float(np.nanmax([plateau(r.record["history"]) for r in rs]))})
    return pd.DataFrame(rows)


def plateau_findings(sched: pd.DataFrame, tolerance: float = 0.02) -> str:
    """One sentence from a :func:`schedules` table: which models had stopped improving (per-epoch
    test CC within ``tolerance`` over their last three epochs) and which were still moving."""
    flat = [m for m, p in zip(sched["model"], sched["plateau"], strict=True) if p <= tolerance]
    moving = [f"{m} ({p:.2f})" for m, p in zip(sched["model"], sched["plateau"], strict=True) if not p <= tolerance]
    if not moving:
        return f"Every model had stopped improving: its per-epoch CC moved by at most {tolerance} over its last three epochs."
    text = (f"Still improving when training stopped (per-epoch CC range over the last three epochs above "
            f"{tolerance}): {', '.join(moving)}")
    return text + (f"; stopped improving: {', '.join(flat)}." if flat else ".")
