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
found and reused instead of retrained unless ``rerun=True``. A damaged store heals instead of
blocking: a ``run.json`` that is empty, truncated or of another format, or whose
``predictions.npz`` or ``model.pt`` is missing or unreadable, is reported with a warning naming
the file and the run is trained again (resuming its checkpoint if that is usable, see
:mod:`vist.train.loop`). ``run.json`` is strict JSON: a value that is not a finite number (a
summary without any usable cell) is written as ``null`` and read back as NaN.

Run formats: format 2 (written now) keys ``metrics.summary`` by the fields of
:class:`vist.metrics.Scores` (``cc``, ``cc_abs``, …). Format 1 keyed some of them by display
labels (``"CC (signed mean, headline)"``, …); such a run — the stored ``benchmarks/`` run, or a
user's cached one — still loads: :func:`upgrade_record` renames its keys in memory (the file is
left as it is), so it shows the same numbers and a cached run is reused, not retrained.
"""

from __future__ import annotations

import json
import math
import os
import time
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vist.cache import CacheError, atomic_path, cache_dir, read_json_object, write_json_atomic
from vist.env import provenance, resolve_device
from vist.metrics.scores import LEGACY_KEYS, Scores
from vist.model.fast import convert
from vist.presets import MODELS, Preset, TrainSettings, get_preset
from vist.train.evaluate import evaluate, predict, quick_scores, test_targets
from vist.train.inputs import prepare
from vist.train.loop import fit, on_device
from vist.train.models import build_model, build_model_from_record
from vist.train.spec import RunSpec

RESULTS_ENV = "VIST_RESULTS_DIR"
RUN_FORMAT = 2
"""The format :func:`train_run` writes; :meth:`Run.load` reads it and format 1 (:func:`upgrade_record`)."""


def upgrade_record(record: dict[str, Any]) -> dict[str, Any]:
    """A ``run.json`` record of format 1 as format 2: its summary keys renamed to the fields of
    :class:`vist.metrics.Scores` (:data:`vist.metrics.scores.LEGACY_KEYS`), values and order kept.
    A record of format 2 is returned unchanged; ``record`` itself is never modified."""
    if record.get("format") != 1:
        return record
    metrics = record.get("metrics")
    if not isinstance(metrics, dict) or not isinstance(metrics.get("summary"), dict):
        return {**record, "format": RUN_FORMAT}
    summary = {LEGACY_KEYS.get(k, k): v for k, v in metrics["summary"].items()}
    return {**record, "format": RUN_FORMAT, "metrics": {**metrics, "summary": summary}}


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
    def scores(self) -> Scores:
        """The summaries over cells (``null`` in the file, an undefined summary, is NaN here)."""
        return Scores.from_dict(self.record["metrics"]["summary"])

    @property
    def per_cell(self) -> dict[str, np.ndarray]:
        return {k: np.array([np.nan if v is None else v for v in vals], dtype=np.float64)
                for k, vals in self.record["metrics"]["per_cell"].items()}

    @property
    def history(self) -> list[dict[str, Any]]:
        """The per-epoch log (``null`` in the file, e.g. an undefined CC, is NaN here)."""
        return [{k: math.nan if v is None else v for k, v in h.items()} for h in self.record["history"]]

    @property
    def labels(self) -> dict[str, str]:
        return self.record["labels"]

    def predictions(self) -> dict[str, np.ndarray]:
        """``pred``, ``target`` ``[T_test, cells]`` and ``frames`` (test frame indices)."""
        with np.load(self.path / "predictions.npz") as npz:
            return {k: npz[k] for k in npz.files}

    def model(self) -> torch.nn.Module:
        """The final model (eval mode, CPU)."""
        return build_model_from_record(self.record, torch.load(self.path / "model.pt", map_location="cpu",
                                                               weights_only=True))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Run:
        """The run stored in the folder ``path`` (format 1 is upgraded in memory, :func:`upgrade_record`).

        Raises:
            FileNotFoundError: no ``run.json`` there.
            vist.cache.CacheError: ``run.json`` is empty, truncated or not a JSON object.
            ValueError: ``run.json`` is of another run format or lacks an entry.
        """
        path = Path(path)
        record = read_json_object(path / "run.json")
        if record.get("format") not in (1, RUN_FORMAT):
            raise ValueError(f"{path}/run.json: expected run format 1 or {RUN_FORMAT}, found {record.get('format')}")
        record = upgrade_record(record)
        missing = [k for k in ("spec", "settings", "metrics", "history") if k not in record]
        if missing:
            raise ValueError(f"{path}/run.json: expected the entries spec, settings, metrics, history; "
                             f"missing {missing}")
        return cls(path, record)

    def verify_files(self) -> None:
        """Check that ``predictions.npz`` and ``model.pt`` are there and readable.

        Raises:
            vist.cache.CacheError: naming the file that is missing or unreadable.
        """
        preds = self.path / "predictions.npz"
        try:
            with np.load(preds, allow_pickle=False) as npz:
                missing = {"pred", "target", "frames"} - set(npz.files)
                for k in npz.files:  # reads (and CRC-checks) every array
                    npz[k]
        except FileNotFoundError as err:
            raise CacheError(f"{preds} is missing") from err
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
            raise CacheError(f"{preds} is unreadable ({err})") from err
        if missing:
            raise CacheError(f"{preds}: expected arrays pred, target, frames; missing {sorted(missing)}")
        weights = self.path / "model.pt"
        if not weights.exists():
            raise CacheError(f"{weights} is missing")
        try:
            sd = torch.load(weights, map_location="cpu", weights_only=True)
        except Exception as err:  # truncated (RuntimeError, EOFError), not plain data (UnpicklingError)
            raise CacheError(f"{weights} is unreadable ({type(err).__name__}: {str(err)[:200]})") from err
        if not isinstance(sd, dict):
            raise CacheError(f"{weights}: expected a state dict, found a {type(sd).__name__}")


def _write_json(path: Path, record: dict[str, Any]) -> None:
    write_json_atomic(path, record, indent=1, default=float)


def settings_record(preset: Preset, settings: TrainSettings) -> dict[str, Any]:
    """The ``settings`` entry of ``run.json``: the training settings a run used, the preset's
    model-size changes by family under ``"model"`` (every family it changes) and an empty
    ``"schedule"`` (already resolved into the settings). Stored runs hold this form: a stored run
    is reused only while its preset would still train it so (:func:`_stored`)."""
    model = {m: preset.model(m).sizes.changes() for m in MODELS if preset.model(m).sizes.changes()}
    # in the form run.json reads back (tuples such as CMST kernels as lists), so that it compares equal
    return json.loads(json.dumps({**settings.to_dict(), "model": model, "schedule": {}}))


def _stored(folder: Path, spec: RunSpec, settings_dict: dict[str, Any]) -> tuple[Run | None, bool]:
    """``(run, stale)``: the finished run stored in ``folder`` for ``spec`` if it can be reused.

    ``run`` is ``None`` when there is none or it is damaged (a warning names the file);
    ``stale`` says it was stored by code whose preset trained differently.
    """
    path = folder / "run.json"
    try:
        run = Run.load(folder)
        same = run.record["spec"] == spec.to_dict() and bool(run.record.get("complete"))
    except FileNotFoundError:
        return None, False
    except (ValueError, OSError, KeyError, TypeError) as err:  # CacheError is a ValueError
        warnings.warn(f"stored run {path} is unusable ({err}); training it again", stacklevel=3)
        return None, False
    if not same:
        return None, False
    if run.record.get("settings") != settings_dict:
        return None, True
    try:
        run.verify_files()
    except CacheError as err:
        warnings.warn(f"stored run {path} is incomplete: {err}; training it again", stacklevel=3)
        return None, False
    return run, False


def train_run(spec: RunSpec, device: str | torch.device = "auto", rerun: bool = False,
              progress: bool = True, root: str | Path | None = None, fast: bool = True) -> Run:
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
    dev = resolve_device(device)
    folder = (Path(root) if root is not None else results_dir()) / spec.run_id()
    preset = get_preset(spec.preset)
    settings = preset.settings_for(spec.model, spec.epochs)
    stored_settings = settings_record(preset, settings)
    stale = False
    if not rerun:
        run, stale = _stored(folder, spec, stored_settings)
        if run is not None:
            return run
    if rerun or stale:  # stale: stored by code whose preset trained differently: retrain from scratch
        (folder / "checkpoint.pt").unlink(missing_ok=True)
    folder.mkdir(parents=True, exist_ok=True)
    data = on_device(prepare(spec, dev), dev, settings.bf16)
    torch.manual_seed(spec.seed)
    model = build_model(spec, data.train_x, data.cells)
    model_class = type(model).__name__
    if fast:
        model = convert(model)
    target, _ = test_targets(data)
    log_target, _ = test_targets(data, settings.eval_frames)

    def per_epoch(m: torch.nn.Module) -> dict[str, float]:
        return quick_scores(predict(m, data, dev, settings.bf16, frames=settings.eval_frames), log_target)

    t0 = time.perf_counter()
    trained = fit(model, data, settings, spec.loss, seed=spec.seed, device=dev,
                  checkpoint=folder / "checkpoint.pt", evaluate=per_epoch, progress=progress,
                  run_key={"spec": spec.to_dict(), "model": stored_settings["model"]})
    pred = predict(trained.model, data, dev, settings.bf16)
    metrics = evaluate(pred, data)
    record = {
        "format": RUN_FORMAT, "complete": True, "spec": spec.to_dict(), "run_id": spec.run_id(),
        "settings": stored_settings, "model_class": model_class,
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
