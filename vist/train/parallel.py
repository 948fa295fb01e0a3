"""Several runs trained at once, one worker process each, on Dask's process scheduler.

Small models on a CPU use two threads poorly — many of a small-preset step's operations are too
short to split — so on a 2-core machine two runs trained side by side, one thread each, finish
sooner than the same runs one after another with two threads each (measured by
``python -m vist.bench train-runs``). How many workers train at once is ``workers`` or
``$VIST_TRAIN_WORKERS`` (default 1: one after another, in this process); each worker gets
``cores // workers`` torch threads and keeps its prior networks and movie inputs for all the runs
it trains (:func:`vist.train.inputs.shared_inputs`). On CUDA runs always go one after another
(one GPU). Runs already stored are read back here, without starting a worker; equal specs are
trained once. A worker's result is the stored :class:`vist.train.Run`, so what a run stores —
and therefore every table — is the same as when it is trained alone, except that its torch
thread count (written in its provenance) may differ, and with it the last bits of its numbers.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Hashable, Mapping
from functools import partial
from typing import Any

import dask
import torch

from vist.prior.frames import resolve_device
from vist.train.inputs import keep_shared_inputs
from vist.train.runs import Run, stored_run, train_run
from vist.train.spec import RunSpec

WORKERS_ENV = "VIST_TRAIN_WORKERS"


def resolve_workers(workers: int | None, device: str | torch.device = "auto") -> int:
    """Workers for a list of runs: ``workers``, else ``$VIST_TRAIN_WORKERS``, else 1; 1 on CUDA.

    Raises:
        ValueError: a count (or the variable's value) that is not a positive integer.
    """
    if workers is None:
        text = os.environ.get(WORKERS_ENV, "1").strip() or "1"
        try:
            workers = int(text)
        except ValueError:
            raise ValueError(f"${WORKERS_ENV}: expected a positive integer, found {text!r}") from None
        source = f"${WORKERS_ENV}"
    else:
        source = "workers"
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"{source}: expected a positive integer, found {workers!r}")
    return 1 if resolve_device(device).type == "cuda" else workers


def _start_worker(threads: int, filters: list[Any]) -> None:
    """Each worker process, once: its torch threads, the parent's warning filters (a chapter's
    silenced warnings stay silent), and one store of shared inputs for its runs."""
    torch.set_num_threads(threads)
    warnings.filters[:] = filters
    keep_shared_inputs()


def _train(train: Callable[..., Run], spec: RunSpec, device: str, rerun: bool) -> Run:
    return train(spec, device=device, rerun=rerun, progress=False)


def train_parallel(specs: Mapping[Hashable, RunSpec], workers: int, device: str = "auto",
                   rerun: bool = False, train: Callable[..., Run] = train_run) -> dict[Hashable, Run]:
    """``{key: spec}`` → ``{key: run}`` in the mapping's order, the runs not yet stored (all with
    ``rerun``) trained by ``workers`` processes at once. ``train`` must be importable by name
    (:func:`vist.train.train_run`, or a module-level function in tests).

    Raises:
        whatever a run raises, after the other runs have finished (Dask re-raises the first).
    """
    runs: dict[Hashable, Run] = {}
    todo: list[tuple[Hashable, RunSpec]] = []
    for key, spec in specs.items():
        run = None if rerun else stored_run(spec)
        if run is not None:
            runs[key] = run
        else:
            todo.append((key, spec))
    distinct: list[RunSpec] = []
    for _, spec in todo:
        if spec not in distinct:
            distinct.append(spec)
    if len(distinct) > 1 and workers > 1:
        threads = max(1, (os.cpu_count() or 1) // workers)
        tasks = [dask.delayed(_train, pure=False)(train, spec, str(device), rerun) for spec in distinct]
        trained = dask.compute(*tasks, scheduler="processes", num_workers=min(workers, len(distinct)),
                               initializer=partial(_start_worker, threads, list(warnings.filters)))
    else:
        trained = [_train(train, spec, str(device), rerun) for spec in distinct]
    for key, spec in todo:
        runs[key] = trained[distinct.index(spec)]
    return {key: runs[key] for key in specs}


__all__ = ["WORKERS_ENV", "resolve_workers", "train_parallel"]
