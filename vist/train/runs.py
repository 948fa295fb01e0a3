"""Runs on disk: train (or reuse) a :class:`RunSpec`, save everything it produced with provenance.

A run folder ``<results>/<run_id>/`` holds

* ``run.json`` — the spec, the resolved settings and model configuration, the per-epoch log,
  every metric per cell and its summary, labels of the data and prior, timings, and provenance
  (device, date, commit, library versions);
* ``predictions.npz`` — ``pred`` and ``target`` ``float32 [T_test, cells]`` and the test frame
  indices;
* ``checkpoint.pt`` — the last epoch's training state (resumable) and ``model.pt`` the final
  (SWA-averaged) weights.

``<results>`` is ``$VIST_RESULTS_DIR`` or ``vist.cache.cache_dir()/runs``. An identical spec is
found and reused instead of retrained unless ``rerun=True``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vist.cache import atomic_path, cache_dir
from vist.train.spec import RunSpec

RESULTS_ENV = "VIST_RESULTS_DIR"
RUN_FORMAT = 1


def results_dir() -> Path:
    """Where runs are stored: ``$VIST_RESULTS_DIR`` or ``cache_dir()/runs``."""
    env = os.environ.get(RESULTS_ENV)
    path = Path(env).expanduser() if env else cache_dir() / "runs"
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass
class Run:
    """A finished run as stored in ``run.json`` (see the module docstring)."""

    path: Path
    record: dict[str, Any]

    @property
    def spec(self) -> RunSpec:
        return RunSpec.from_dict(self.record["spec"])

    @property
    def summary(self) -> dict[str, float]:
        return self.record["metrics"]["summary"]

    @property
    def per_cell(self) -> dict[str, np.ndarray]:
        return {k: np.array([np.nan if v is None else v for v in vals], dtype=np.float64)
                for k, vals in self.record["metrics"]["per_cell"].items()}

    @property
    def history(self) -> list[dict[str, Any]]:
        return self.record["history"]

    @property
    def labels(self) -> dict[str, str]:
        return self.record["labels"]

    def predictions(self) -> dict[str, np.ndarray]:
        """``pred``, ``target`` ``[T_test, cells]`` and ``frames`` (test frame indices)."""
        with np.load(self.path / "predictions.npz") as npz:
            return {k: npz[k] for k in npz.files}

    def model(self) -> torch.nn.Module:
        """The final model (eval mode, CPU)."""
        from vist.train.models import build_model_from_record

        return build_model_from_record(self.record, torch.load(self.path / "model.pt", map_location="cpu",
                                                               weights_only=True))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Run:
        path = Path(path)
        record = json.loads((path / "run.json").read_text())
        if record.get("format") != RUN_FORMAT:
            raise ValueError(f"{path}/run.json: expected run format {RUN_FORMAT}, found {record.get('format')}")
        return cls(path, record)


def provenance(device: torch.device) -> dict[str, Any]:
    """Device, date, commit and versions of the machine producing a result."""
    import vist
    from vist.bench.common import device_name, git_commit

    return {"device": device_name(str(device)), "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "commit": git_commit(), "vist": vist.__version__, "torch": torch.__version__,
            "numpy": np.__version__, "python": platform.python_version(), "host": platform.node()}


def _write_json(path: Path, record: dict[str, Any]) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(record, indent=1, default=float))


def train_run(spec: RunSpec, device: str | torch.device = "auto", rerun: bool = False,
              progress: bool = True, root: Path | None = None, fast: bool = True) -> Run:
    """Train and evaluate ``spec`` — or return the stored run with the same spec.

    Args:
        spec: the run.
        device: ``"auto"`` (CUDA if present), ``"cpu"``, ``"cuda"``.
        rerun: retrain even if a finished run with this spec exists.
        progress: progress bar while training.
        root: results folder (default :func:`results_dir`).
        fast: train Vi-ST with :class:`vist.model.fast.FastViST` — the same parameters and math
            as the reference ``nn.Conv3d`` model (tested to 1e-5), computed faster; the stored
            weights load into either.
    """
    from vist.prior import resolve_device
    from vist.train.evaluate import evaluate, predict, quick_scores, test_targets
    from vist.train.inputs import prepare
    from vist.train.loop import fit
    from vist.train.models import build_model
    from vist.train.settings import settings_for

    dev = resolve_device(device)
    folder = (root or results_dir()) / spec.run_id()
    settings = settings_for(spec.preset, spec.model, spec.epochs)
    stale = False
    if (folder / "run.json").exists() and not rerun:
        run = Run.load(folder)
        if run.record["spec"] == spec.to_dict() and run.record.get("complete"):
            if run.record.get("settings") == settings.to_dict():
                return run
            stale = True  # stored by code whose preset trained differently: retrain from scratch
    if rerun or stale:
        (folder / "checkpoint.pt").unlink(missing_ok=True)
    folder.mkdir(parents=True, exist_ok=True)
    from vist.train.loop import on_device

    data = on_device(prepare(spec, dev), dev, settings.bf16)
    torch.manual_seed(spec.seed)
    model = build_model(spec, settings, data.train_x, data.cells)
    model_class = type(model).__name__
    if fast:
        from vist.model.fast import convert

        model = convert(model)
    target, _ = test_targets(data)
    log_target, _ = test_targets(data, settings.eval_frames)

    def per_epoch(m: torch.nn.Module) -> dict[str, float]:
        return quick_scores(predict(m, data, dev, settings.bf16, frames=settings.eval_frames), log_target)

    t0 = time.perf_counter()
    trained = fit(model, data, settings, spec.loss, seed=spec.seed, device=dev,
                  checkpoint=folder / "checkpoint.pt", evaluate=per_epoch, progress=progress)
    pred = predict(trained.model, data, dev, settings.bf16)
    metrics = evaluate(pred, data)
    record = {
        "format": RUN_FORMAT, "complete": True, "spec": spec.to_dict(), "run_id": spec.run_id(),
        "settings": settings.to_dict(), "model_class": model_class,
        "implementation": type(model).__name__,
        "model_config": model.config.to_dict() if hasattr(model.config, "to_dict") else vars(model.config),
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "labels": {"data": data.data_label, "prior": data.prior_label,
                   "prior_trained": data.prior_trained, "preset": spec.preset,
                   "cell_types": data.cell_types, "cell_index": data.cell_index},
        "history": trained.history, "metrics": metrics,
        "timings": {"inputs_s": data.feature_seconds, "train_s": trained.train_seconds,
                    "step_ms_median": trained.step_ms, "total_s": time.perf_counter() - t0 + data.feature_seconds},
        "provenance": provenance(dev),
    }
    idx = np.concatenate([np.arange(a, b) for a, b in data.test_segments])
    with atomic_path(folder / "predictions.npz") as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, pred=pred, target=target, frames=idx)
    with atomic_path(folder / "model.pt") as tmp:
        torch.save(trained.model.state_dict(), tmp)
    _write_json(folder / "run.json", record)
    return Run(folder, record)
