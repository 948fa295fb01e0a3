"""Training and evaluation (SPEC §5, §7): ``train_run(RunSpec(...))`` → :class:`Run`.

* :class:`RunSpec` — everything that determines a run (model, prior, loss, data, movies, seed,
  preset, …);
* :func:`train_run` — trains with the preset's settings (AdamW, one-cycle schedule, SWA, random
  windows, the Vi-ST loss), evaluates on the test split with every metric, and stores the run
  with provenance; an identical spec is reused unless ``rerun=True``;
* :class:`Run` — a stored run: its scores (:class:`vist.metrics.Scores`), per-cell metrics, per-epoch
  history, predictions.

May import: vist.cache, vist.data, vist.env, vist.losses, vist.metrics, vist.model, vist.presets,
vist.prior, vist.progress (never vist.bench: provenance comes from vist.env).
"""

from vist.train.loop import TrainingDiverged, fit
from vist.train.runs import Run, results_dir, train_run
from vist.train.spec import MODELS, PRIORS, RunSpec

__all__ = ["MODELS", "PRIORS", "Run", "RunSpec", "TrainingDiverged", "fit", "results_dir", "train_run"]
