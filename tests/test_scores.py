"""vist.metrics.Scores and run.json formats: typed summaries, format 1 read as format 2."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from vist.metrics import Scores
from vist.train import Run
from vist.train.runs import RUN_FORMAT, upgrade_record

STORED = Path(__file__).resolve().parents[1] / "benchmarks" / "paper_run_h100"

FORMAT_1 = {"CC (signed mean, headline)": 0.25, "CC (mean |r|, authors' logs)": 0.3,
            "CC (mean of r>0, authors' prediction code)": None, "cells with undefined r": 2, "sd_kl": 4.0,
            "cc_ceiling": 0.8, "cc_normalised": 0.31, "cells without a usable ceiling": 1, "feve": 0.1}


def test_scores_read_either_format_and_write_field_names():
    s = Scores.from_dict(FORMAT_1)
    assert (s.cc, s.cc_abs, s.sd_kl, s.cells_undefined, s.cells_without_ceiling) == (0.25, 0.3, 4.0, 2, 1)
    assert math.isnan(s.cc_positive)  # null in run.json
    d = s.to_dict()
    assert list(d) == ["cc", "cc_abs", "cc_positive", "cells_undefined", "sd_kl", "cc_ceiling", "cc_normalised",
                       "cells_without_ceiling", "feve"]
    again = Scores.from_dict(d)
    assert again.to_dict().keys() == d.keys() and again.cc == s.cc and math.isnan(again.cc_positive)


def test_scores_name_a_missing_or_unknown_key():
    with pytest.raises(ValueError, match=r"lacks \['sd_kl'\]"):
        Scores.from_dict({k: v for k, v in FORMAT_1.items() if k != "sd_kl"})
    with pytest.raises(ValueError, match="unknown summary keys"):
        Scores.from_dict({**FORMAT_1, "CC (ours)": 0.2})


def test_counts_a_run_did_not_record_are_left_out():
    s = Scores.from_dict({k: v for k, v in FORMAT_1.items() if k != "cells without a usable ceiling"})
    assert s.cells_without_ceiling is None and "cells_without_ceiling" not in s.to_dict()


def test_upgrade_record_renames_format_1_keys_only():
    old = {"format": 1, "metrics": {"per_cell": {"cc": [0.1]}, "summary": dict(FORMAT_1)}}
    new = upgrade_record(old)
    assert new["format"] == RUN_FORMAT == 2 and old["format"] == 1  # the input is not modified
    assert list(new["metrics"]["summary"]) == list(Scores.from_dict(FORMAT_1).to_dict())
    assert list(new["metrics"]["summary"].values()) == list(FORMAT_1.values())
    assert new["metrics"]["per_cell"] == old["metrics"]["per_cell"]
    assert upgrade_record(new) is new


def test_the_stored_format_1_run_loads_with_its_numbers(tmp_path):
    record = json.loads((STORED / "run.json").read_text())
    assert record["format"] == 1
    run = Run.load(STORED)
    assert run.scores.cc == record["metrics"]["summary"]["CC (signed mean, headline)"]
    assert run.scores.feve == record["metrics"]["summary"]["feve"]
    assert run.scores.cells_without_ceiling is None  # not counted when it was stored
    # a format-1 run in a user's cache loads too; another format is refused
    shutil.copy(STORED / "run.json", tmp_path / "run.json")
    assert Run.load(tmp_path).scores == run.scores
    (tmp_path / "run.json").write_text(json.dumps({**record, "format": 7}))
    with pytest.raises(ValueError, match="expected run format 1 or 2, found 7"):
        Run.load(tmp_path)


def test_titled_scores_of_the_stored_run_are_its_format_1_summary():
    """Chapter 6 shows the stored run's scores under the titles it always had, in the same order."""
    from vist.report import TITLES

    old = json.loads((STORED / "run.json").read_text())["metrics"]["summary"]
    shown = {TITLES.get(k, k): v for k, v in Run.load(STORED).scores.to_dict().items()}
    assert list(shown.items()) == list(old.items())
