"""What every experiment of chapters 8–12 shares: seeds per preset, mean ± sd over seeds, labels.

The experiments train many runs; on the paper preset (GPU) each configuration is trained with
several seeds and reported as mean ± sd, on the small preset (2 CPU cores) with one seed, so the
book builds within the CI budget. :func:`resolve_seeds` is that rule in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

PAPER_SEEDS = 3
"""Seeds per configuration on the paper preset (``seed, seed + 1, …``)."""


class RunLike(Protocol):
    """What the experiment tables read from a :class:`vist.train.Run` (tests pass light fakes)."""

    @property
    def summary(self) -> dict[str, float]: ...

    @property
    def per_cell(self) -> dict[str, np.ndarray]: ...

    @property
    def labels(self) -> dict[str, Any]: ...

    record: dict[str, Any]


TrainFn = Callable[..., RunLike]
"""``train(spec, device=..., rerun=..., progress=...)`` — :func:`vist.train.train_run` or a fake."""

CC = "CC (signed mean, headline)"


def resolve_seeds(seeds: Sequence[int] | int | None, seed: int, preset: str) -> tuple[int, ...]:
    """The seeds of an experiment: ``seeds`` as given, else ``(seed,)`` on the small preset and
    ``seed … seed + PAPER_SEEDS − 1`` on the paper preset.

    Raises:
        ValueError: an empty list or non-integer seeds.
    """
    if seeds is None:
        return (int(seed),) if preset != "paper" else tuple(range(int(seed), int(seed) + PAPER_SEEDS))
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
    """Train (or reuse) every spec: ``{key: spec}`` → ``{key: run}``, in the mapping's order."""
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
