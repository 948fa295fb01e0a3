"""The discussion experiments (chapters 8–12): run lists, shared specs, population subsets, tables
on fake runs, and the receptive-field probe on a case whose answer is known. No training."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pytest

from vist.data import Recording
from vist.data.retina import CellType, RetinaParams, make_cells
from vist.experiments import ablation, complementary, layers, losses, rf_recovery
from vist.experiments import generalization as gen
from vist.experiments.common import (
    mean_sd,
    movie_pairs,
    pm,
    pm_column,
    resolve_seeds,
    run_experiment,
)
from vist.experiments.paper import COMPLEMENTARY_TOP8_CC
from vist.metrics import Scores
from vist.train import RunSpec


@dataclass
class FakeRun:
    """What the table builders read from a :class:`vist.train.Run`."""

    cc: float = 0.2
    sd_kl: float = 3.0
    per_cell_cc: list[float] = field(default_factory=list)
    cell_index: list[int] | None = None
    spec: RunSpec | None = None
    record: dict[str, Any] = field(default_factory=lambda: {"provenance": {"device": "cpu", "date": "2025-01-01",
                                                                           "commit": "abc"}})

    @property
    def scores(self) -> Scores:
        return Scores(cc=self.cc, cc_abs=abs(self.cc), cc_positive=max(self.cc, 0.0), sd_kl=self.sd_kl,
                      cc_ceiling=0.9, cc_normalised=self.cc / 0.9, feve=float("nan"))

    @property
    def per_cell(self) -> dict[str, np.ndarray]:
        return {"cc": np.asarray(self.per_cell_cc, dtype=np.float64)}

    @property
    def labels(self) -> dict[str, Any]:
        n = len(self.per_cell_cc)
        return {"data": "synthetic mov1 → mov2", "prior": "DINOv2 ViT-S/14, untrained", "preset": "small",
                "cell_index": self.cell_index if self.cell_index is not None else list(range(n))}


COMMON = dict(data="synthetic", train_movie="mov1", test_movie="mov2", preset="small", backbone=None,
              layer=None, weights=None)


# ---------------------------------------------------------------- shared helpers

def test_seeds_follow_the_preset_and_reject_bad_lists():
    assert resolve_seeds(None, 4, "small") == (4,)
    assert resolve_seeds(None, 4, "paper") == (4, 5, 6)
    assert resolve_seeds([1, 2], 0, "small") == (1, 2)
    with pytest.raises(ValueError, match="at least one"):
        resolve_seeds([], 0, "small")
    with pytest.raises(ValueError, match="distinct"):
        resolve_seeds([1, 1], 0, "small")


def test_mean_sd_and_formatting():
    m, s, n = mean_sd([0.1, 0.3, float("nan")])
    assert (round(m, 6), round(s, 6), n) == (0.2, round(np.std([0.1, 0.3], ddof=1), 6), 2)
    assert np.isnan(mean_sd([0.5])[1])
    assert pm(0.2, float("nan")) == "0.200" and pm(float("nan"), 0.1) == "–"
    assert pm(0.2, 0.01) == "0.200 ± 0.010"
    frame = pd.DataFrame({"sd_kl_mean": [2.0, 3.0], "sd_kl_sd": [0.5, float("nan")]})
    assert pm_column(frame, "sd_kl", 2) == ["2.00 ± 0.50", "3.00"]


def test_run_experiment_trains_every_spec_and_labels_them(capsys):
    other = FakeRun(record={"provenance": {"device": "GPU: H200", "date": "2025-02-02", "commit": "def"}})
    fakes = {"a": FakeRun(), "b": other}
    seen = []

    def train(spec, device, rerun, progress):
        seen.append((spec, device, rerun, progress))
        return fakes[spec]

    exp = run_experiment({"x": "a", "y": "b"}, train, device="cpu", rerun=True, what="2 rows")
    assert list(exp.runs) == ["x", "y"] and exp.runs["y"] is other
    assert seen == [("a", "cpu", True, False), ("b", "cpu", True, False)]
    assert exp.caption == "ours — data: synthetic mov1 → mov2 | prior: DINOv2 ViT-S/14, untrained | preset: small"
    assert exp.provenance == "cpu, 2025-01-01, commit abc; GPU: H200, 2025-02-02, commit def"
    assert "2 runs (2 rows)" in capsys.readouterr().out


def test_movie_pairs():
    assert movie_pairs("mov1", "mov2", both=False) == [("mov1", "mov2")]
    assert movie_pairs("mov1", "mov2", both=True) == [("mov1", "mov2"), ("mov2", "mov1")]
    assert movie_pairs("mov1", "mov1", both=True) == [("mov1", "mov1")]


# ---------------------------------------------------------------- ablation

def test_ablation_rows_default_by_preset_and_unknown_keys_are_listed():
    assert ablation.row_keys(None, "paper") == tuple(ablation.ROWS)
    assert len(ablation.row_keys(None, "paper")) == 10
    assert ablation.row_keys(None, "small") == ablation.SMALL_ROWS
    assert ablation.row_keys(["no_prior"], "small") == ("baseline", "no_prior")
    with pytest.raises(ValueError, match="no_spike_alignment"):
        ablation.row_keys(["no_such_row"], "small")


def test_ablation_baseline_is_chapter_7s_run_and_rmse_row_is_chapter_10s():
    specs = ablation.specs(("baseline", "rmse_loss", "no_prior", "single_kernel"), (0,), **COMMON)
    g = gen.specs((("mov1", "mov2"),), (0,), data="synthetic", preset="small", backbone=None, layer=None,
                  weights=None)[("Vi-ST", "mov1→mov2", 0)]
    assert specs[("baseline", 0)] == g and specs[("baseline", 0)].run_id() == g.run_id()
    rmse = losses.specs(("rmse",), (0,), **COMMON)[("rmse", 0)]
    assert specs[("rmse_loss", 0)].run_id() == rmse.run_id()
    assert specs[("no_prior", 0)].prior == "pixels"
    assert specs[("single_kernel", 0)].model_options == {"multiscale": "single"}


def test_generalization_directions_follow_the_movies_given():
    assert gen.directions_for("mov1", None) == (("mov1", "mov1"), ("mov1", "mov2"))
    assert gen.directions_for("mov2", None) == (("mov2", "mov2"), ("mov2", "mov1"))
    assert gen.directions_for("mov2", "mov1") == (("mov2", "mov1"),)
    assert gen.directions_for(None, None) == gen.DIRECTIONS
    with pytest.raises(ValueError, match="test_movie"):
        gen.directions_for(None, "mov1")
    s = gen.specs(gen.directions_for("mov1", None), (0, 1, 2), **{k: v for k, v in COMMON.items()
                                                                 if k not in ("train_movie", "test_movie")})
    assert len(s) == 4 * 2 * 3 and {k[2] for k in s} == {0, 1, 2}
    assert all(spec.seed == k[2] for k, spec in s.items())


def _generalization_runs(drops: dict[str, float], within: float = 0.6, jitter: float = 0.01):
    runs = {}
    for name, drop in drops.items():
        for seed in range(3):
            e = jitter * (seed - 1)
            runs[(name, "mov1→mov1", seed)] = FakeRun(within + e)
            runs[(name, "mov1→mov2", seed)] = FakeRun(within - drop - e)
    return runs


def test_generalization_summary_and_findings_are_computed_from_the_runs():
    runs = _generalization_runs({"CRNN": 0.45, "Vi-ST": 0.10, "DINOv2+MS-TCN": 0.11})
    scores = gen.scores(runs)
    assert list(scores.columns[:3]) == ["model", "direction", "seed"] and len(scores) == 18
    summary = gen.summary(scores)
    assert list(summary["direction"]) == ["mov1→mov1"] * 3 + ["mov1→mov2"] * 3
    row = summary[(summary["model"] == "CRNN") & (summary["direction"] == "mov1→mov2")].iloc[0]
    assert row["cc_mean"] == pytest.approx(0.15) and row["cc_sd"] == pytest.approx(0.01)
    assert row["seeds"] == 3 and row["poster_cc"] != row["poster_cc"]  # the poster has no CRNN value
    text = " ".join(gen.findings(summary))
    assert "CRNN loses 0.45 ± 0.01, larger than Vi-ST's" in text
    assert "DINOv2+MS-TCN loses 0.11 ± 0.01, not distinguishable from Vi-ST's" in text
    assert "the best model is Vi-ST" in text
    # the ranking follows the numbers, not the order of the runs
    swapped = gen.findings(gen.summary(gen.scores(_generalization_runs({"Vi-ST": 0.5, "CRNN": 0.05}))))
    assert "the best model is CRNN" in " ".join(swapped)
    # a model that scores higher across than within rises; it does not "lose" a negative amount
    risen = " ".join(gen.findings(gen.summary(gen.scores(_generalization_runs({"Vi-ST": -0.02, "CRNN": -0.3})))))
    assert "Vi-ST's CC rises by 0.02 ± 0.01" in risen
    assert "CRNN rises by 0.30 ± 0.01 (its drop is smaller than Vi-ST's)" in risen and "loses -" not in risen


def test_generalization_findings_of_a_single_direction_rank_without_drops():
    """A chapter run with ``test_movie=`` has one direction: a ranking, and no drop to compare."""
    runs = {k: r for k, r in _generalization_runs({"CRNN": 0.45, "Vi-ST": 0.10}).items() if k[1] == "mov1→mov1"}
    summary = gen.summary(gen.scores(runs))
    assert gen.drops(summary).empty
    (text,) = gen.findings(summary)
    assert text.startswith("**mov1→mov1**") and "drops" not in text
    (one,) = gen.findings(gen.summary(gen.scores({k: r for k, r in runs.items() if k[2] == 0})))
    assert "(CC, one seed)" in one and "nan" not in one


def test_generalization_names_runs_that_stayed_at_chance_within_their_movie():
    runs = _generalization_runs({"CRNN": 0.5, "Vi-ST": 0.10})
    runs[("CRNN", "mov1→mov1", 1)] = FakeRun(-0.006)
    text = gen.stalled(gen.scores(runs))
    assert text == ["CRNN on mov1→mov1: 1 of 3 runs stayed at chance — seed 1 (CC -0.01) — and did not "
                    "learn; the mean ± sd above includes it."]
    # the CRNN's across-movie runs (CC 0.1) and every run above the floor are not named
    assert gen.stalled(gen.scores(_generalization_runs({"CRNN": 0.59, "Vi-ST": 0.10}))) == []


def test_ablation_table_lists_all_ten_rows_with_means_and_poster_deltas():
    runs = {("baseline", 0): FakeRun(0.30, 2.0), ("baseline", 1): FakeRun(0.32, 4.0),
            ("no_spike_alignment", 0): FakeRun(0.10, 8.0), ("no_spike_alignment", 1): FakeRun(0.14, 6.0)}
    frame = ablation.table(runs)
    assert all(c == c.lower() and " " not in c for c in frame.columns)  # data keys, not display titles
    rows = frame.set_index("key", drop=False).to_dict("index")
    assert list(rows) == list(ablation.ROWS)
    b, s = rows["baseline"], rows["no_spike_alignment"]
    assert b["seeds"] == 2 and b["cc_mean"] == pytest.approx(0.31) and b["sd_kl_mean"] == pytest.approx(3.0)
    assert s["cc_delta"] == pytest.approx(0.12 - 0.31) and s["sd_kl_delta"] == pytest.approx(7.0 - 3.0)
    assert s["poster_cc_delta"] == pytest.approx(0.170 - 0.334)
    assert rows["no_prior"]["status"] == "not run with this preset" and np.isnan(rows["no_prior"]["cc_mean"])
    assert b["prior"].startswith("DINOv2") and b["preset"] == "small"
    text = " ".join(ablation.findings(frame))
    assert "Our baseline reaches CC 0.310" in text and "CC changes by -0.190" in text


# ---------------------------------------------------------------- layers

def test_layer_lists_and_the_preset_block_shares_its_run():
    assert layers.layer_list(None, "small") == layers.DEFAULT_LAYERS["small"]
    with pytest.raises(ValueError, match="12 blocks"):
        layers.layer_list([-13], "small")
    with pytest.raises(ValueError, match="24 blocks"):
        layers.layer_list([0], "paper")
    specs = layers.specs((-4, -8), (0,), "small", data="synthetic", train_movie="mov1", test_movie="mov2",
                         weights=None)
    assert specs[(-4, 0)].layer is None and specs[(-8, 0)].layer == -8
    assert specs[(-4, 0)] == ablation.spec("baseline", seed=0, **COMMON)


def test_layer_table_is_ordered_last_block_first():
    runs = {(-12, 0): FakeRun(0.1), (-4, 0): FakeRun(0.3), (-8, 0): FakeRun(0.2)}
    rows = layers.table(runs, "small")
    assert list(rows["block"]) == ["L-4", "L-8", "L-12"]
    assert list(rows["block_index"]) == [8, 4, 0]
    assert list(rows["cc_normalised_mean"]) == pytest.approx([0.3 / 0.9, 0.2 / 0.9, 0.1 / 0.9])
    assert layers.findings(rows)[0] == "The highest CC comes from block L-4 (0.300, 1 seed(s))."


# ---------------------------------------------------------------- losses

def test_loss_arms_windows_and_labels():
    assert losses.arm_list(None) == losses.ARMS and losses.arm_list(None, "small") == ("rmse", "rmse+relu", "full")
    assert losses.arm_list(["rmse"]) == ("rmse", "full")
    with pytest.raises(ValueError, match="rmse\\+relu"):
        losses.arm_list(["l1"])
    assert losses.windows("full", "paper") == (6, 12) and losses.windows("full", "small") == (2, 4)
    assert losses.windows("rmse+relu+sdtw_long", "paper") == (12,) and losses.windows("rmse", "paper") == ()
    assert losses.label("rmse", "paper") == "RMSE"
    assert losses.label("full", "paper") == "RMSE + −ReLU + soft-DTW (6, 12)"
    assert losses.specs(("full",), (0,), **COMMON)[("full", 0)] == ablation.spec("baseline", seed=0, **COMMON)


def test_loss_table_and_durations():
    rows = losses.table({("full", 0): FakeRun(0.3), ("rmse", 0): FakeRun(0.2)}, "paper")
    assert list(rows["key"]) == ["rmse", "full"]
    assert list(rows["poster_cc"]) == [0.313, 0.334]
    assert "The full loss against RMSE alone: CC +0.100" in " ".join(losses.findings(rows))
    trace = np.zeros((40, 2))
    trace[10:13, 0] = [0.5, 1.0, 0.5]      # one event, 4 frames wide at its base (9 → 13)
    trace[20:21, 1] = 1.0                  # one event, 2 frames wide
    assert sorted(losses.durations(trace)) == [2.0, 4.0]
    assert losses.duration_summary(np.array([]))["events"] == 0
    assert losses.duration_summary(np.array([2.0, 4.0, 6.0])) == {"events": 3, "median": 4.0, "p90": 5.6}


# ---------------------------------------------------------------- complementary coding

TOP = (41, 3, 77, 12, 58, 0, 89, 25)


@pytest.mark.parametrize("draws", [1, 3])
def test_every_population_holds_the_top_8_and_draws_are_nested(draws):
    pops = complementary.populations(90, TOP, (90, 64, 32, 16, 8, 1), draws=draws, seed=5)
    assert pops[(90, 0)] == [None] and pops[(8, 0)] == [tuple(sorted(TOP))]
    assert sorted(c for g in pops[(1, 0)] for c in g) == sorted(TOP) and all(len(g) == 1 for g in pops[(1, 0)])
    for d in range(draws):
        sets = {n: set(pops[(n, d)][0]) for n in (16, 32, 64)}
        for n, s in sets.items():
            assert len(s) == n and set(TOP) <= s and s <= set(range(90))
        assert sets[16] <= sets[32] <= sets[64]
    assert (16, draws) not in pops and (8, 1) not in pops
    if draws > 1:
        assert pops[(16, 0)] != pops[(16, 1)]
    again = complementary.populations(90, TOP, (90, 64, 32, 16, 8, 1), draws=draws, seed=5)
    assert again == pops                                             # deterministic for a seed


def test_population_sizes_are_checked():
    with pytest.raises(ValueError, match="divide 8"):
        complementary.populations(90, TOP, (3,))
    with pytest.raises(ValueError, match="90 cells"):
        complementary.populations(90, TOP, (120,))
    with pytest.raises(ValueError, match="distinct"):
        complementary.populations(90, TOP, (8, 8))
    assert complementary.size_list(None, "small", 90) == (90, 8, 1)
    assert complementary.size_list(None, "paper", 50) == (50, 32, 16, 8, 1)
    groups = complementary.populations(90, TOP, (2,))[(2, 0)]
    assert groups == [tuple(sorted(TOP[i:i + 2])) for i in range(0, 8, 2)]


def test_top_cells_and_their_cc_in_a_subset_run():
    cc = np.linspace(0, 0.9, 90)
    cc[5] = np.nan
    full = FakeRun(per_cell_cc=list(cc))
    top = complementary.top_cells(full)
    assert top == tuple(range(89, 81, -1))
    sub = FakeRun(per_cell_cc=[0.5, 0.7, 0.1], cell_index=[82, 89, 3])
    assert complementary.top_cc([sub], (89, 82)) == pytest.approx(0.6)
    singles = [FakeRun(per_cell_cc=[0.2], cell_index=[89]), FakeRun(per_cell_cc=[0.4], cell_index=[82])]
    assert complementary.top_cc(singles, (89, 82)) == pytest.approx(0.3)


def test_run_direction_trains_the_shared_full_run_then_subsets():
    trained: list[RunSpec] = []
    rng = np.random.default_rng(0)

    def fake_train(spec: RunSpec, **_: Any) -> FakeRun:
        trained.append(spec)
        cells = list(range(90)) if spec.cells is None else list(spec.cells)
        return FakeRun(per_cell_cc=list(rng.uniform(0, 1, len(cells))), cell_index=cells, spec=spec)

    base = RunSpec(model="vist", train_movie="mov1", test_movie="mov2", preset="small")
    d = complementary.run_direction(base, (0,), None, 1, fake_train)
    assert trained[0] == ablation.spec("baseline", seed=0, **COMMON)      # chapter 7's run
    sizes = sorted({len(s.cells) for s in trained[1:]})
    assert sizes == [1, 8]
    assert sum(1 for s in trained if s.cells is not None and len(s.cells) == 1) == 8
    assert all(set(d.top[0]) <= set(s.cells) for s in trained[1:] if len(s.cells) >= 8)
    rows = complementary.table([d])
    assert list(rows["cells"]) == [90, 8, 1]
    ref = dict(zip(rows["cells"], rows["poster_top8_cc"], strict=True))
    assert ref[1] == COMPLEMENTARY_TOP8_CC[1][0] and ref[90] == COMPLEMENTARY_TOP8_CC[90][0]
    assert rows["models"].iloc[-1] == 8
    assert list(complementary.scores_frame([d]).columns) == ["direction", "cells", "draw", "seed", "top8_cc"]
    assert list(complementary.per_seed_top([d])["top_cells"].iloc[0]) == list(d.top[0])
    assert complementary.findings(rows)[0].startswith("mov1→mov2: the top 8 cells reach CC")


# ---------------------------------------------------------------- receptive-field recovery

def test_patch_overlap_and_grid_pooling():
    a = rf_recovery.patch_overlap(360, 16)
    assert a.shape == (16, 360)
    np.testing.assert_allclose(a.sum(axis=0), 1.0)
    np.testing.assert_allclose(a.sum(axis=1), 22.5)
    img = np.zeros((360, 360))
    img[:45, 45:90] = 2.0                       # patches (0..1, 2..3)
    g = rf_recovery.to_grid(img, 16, mean=True)
    np.testing.assert_allclose(g[:2, 2:4], 2.0)
    assert g.sum() == pytest.approx(8.0)


def _known_rf_recording(n_frames: int = 3000, seed: int = 0) -> tuple[Recording, np.ndarray]:
    """A tiny virtual retina on 64×64 frames (8×8 grid of 8-px checks of random grey levels) whose
    responses are a linear-nonlinear model of its true RFs on the grid: the answer is known."""
    types = (CellType("OFF", 3, "OFF", 5.0, 2.0, 0.4, 3.0, 0.5, 0.0, 1.0, (2.0, 3.0)),
             CellType("ON", 2, "ON", 5.0, 2.0, 0.4, 3.0, 0.5, 0.0, 1.0, (2.0, 3.0)))
    params = RetinaParams(types=types, field=(16.0, 16.0, 48.0, 48.0))
    cells = make_cells(params, seed)
    rng = np.random.default_rng(seed)
    checks = rng.integers(40, 216, size=(n_frames, 8, 8)).astype(np.uint8)
    frames = np.kron(checks, np.ones((8, 8), dtype=np.uint8))
    meta = json.loads(json.dumps({"cells": cells.to_dict(), "retina_params": params.to_dict(),
                                  "cell_type": [types[i].name for i in cells.type_index]}))
    contours = [np.zeros((2, 4)) for _ in range(5)]
    dummy = Recording(frames=frames, spikes=np.zeros((2, n_frames, 5)), rf_contours=contours, name="known",
                      source="synthetic", true_rates=np.zeros((n_frames, 5)), meta=meta)
    true = rf_recovery.true_receptive_fields(dummy, 8)
    s = rf_recovery.contrast_change(frames, 8)
    drive = s @ true.reshape(5, -1).T
    lagged = np.zeros_like(drive)
    lagged[2:] = drive[:-2]                       # responses lag the stimulus by 2 frames
    rates = np.maximum(lagged, 0) * 50
    spikes = rng.poisson(np.broadcast_to(rates, (4, *rates.shape)))
    rec = Recording(frames=frames, spikes=spikes, rf_contours=contours, name="known", source="synthetic",
                    true_rates=rates, meta=meta)
    return rec, true


def test_probe_recovers_known_receptive_fields():
    rec, true = _known_rf_recording()
    assert true.shape == (5, 8, 8)
    assert np.all(true.reshape(5, -1).min(axis=1)[:3] < 0)          # OFF centres negative
    res = rf_recovery.recover([(rec, rec.true_rates)], grid=8, lags=5, ridge=0.1)
    assert np.all(res["r"]["model"] > 0.9) and np.all(res["r"]["true rates"] > 0.9)
    assert np.nanmedian(res["r_shuffled"]["model"]) < 0.5
    assert np.all(np.argmax(res["temporal"]["model"], axis=1) == 2)   # the 2-frame lag is found
    rows = {r["cell type"]: r for r in rf_recovery.by_type(res, rec.meta["cell_type"])}
    assert rows["all cells"]["cells"] == 5 and rows["OFF"]["r (model)"] > 0.9


def test_probe_and_recovery_errors():
    with pytest.raises(ValueError, match="equal T"):
        rf_recovery.linear_probe(np.zeros((10, 4)), np.zeros((9, 2)))
    rec, _ = _known_rf_recording(200)
    with pytest.raises(ValueError, match="do not cover"):
        rf_recovery.recover([(rec, np.zeros((10, 5)))], grid=8)
    plain = Recording(frames=rec.frames, spikes=rec.spikes, rf_contours=rec.rf_contours, name="x", source="dryad")
    with pytest.raises(ValueError, match="synthetic"):
        rf_recovery.true_receptive_fields(plain, 8)
    a = np.random.default_rng(1).normal(size=(4, 3, 3))
    np.testing.assert_allclose(rf_recovery.agreement(a, 2 * a + 1), 1.0)


def test_plateau_is_the_range_of_the_last_three_epochs_and_schedules_list_each_model():
    from vist.experiments.common import plateau, schedules

    hist = [{"cc": c} for c in (0.1, 0.3, 0.50, 0.52, 0.51)]
    assert plateau(hist) == pytest.approx(0.02)
    assert plateau(hist[:2]) != plateau(hist[:2])  # too short: NaN
    settings = {"epochs": 5, "batches_per_epoch": 10, "batch": 2, "window": 48, "lr": 8e-4}
    runs = {}
    for name, last in (("Vi-ST", 0.51), ("CRNN", 0.2)):
        for seed in range(2):
            run = FakeRun()
            run.record = {"settings": settings, "timings": {"train_s": 10.0 + seed},
                          "history": [*hist[:-1], {"cc": last}]}
            runs[(name, "mov1→mov1", seed)] = run
    s = schedules(runs)
    assert list(s["model"]) == ["Vi-ST", "CRNN"]
    assert s["frame_samples"].tolist() == [5 * 10 * 2 * 48] * 2
    assert s.set_index("model").loc["CRNN", "plateau"] == pytest.approx(0.32)
    assert s["train_s"].tolist() == [10.5, 10.5]


def test_settings_differences_list_what_the_small_preset_changes():
    from vist.presets import PRESETS, differences

    rows = {r["setting"]: r for r in differences("small")}
    assert rows["batch"]["paper"] == "16" and rows["batch"]["small"] == str(PRESETS["small"].train.batch)
    assert "prior: backbone" in rows and "lr" not in rows  # the learning rate is the paper's
    # a value the two presets share is listed only where a model's own schedule sets it apart
    same = [name for name, r in rows.items() if r["paper"] == r["small"]]
    assert same == ["mstcn schedule: eval_frames"]
