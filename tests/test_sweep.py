"""vist.sweep and vist.report: parameter sets, publishing and gathering tables."""

import json

import pandas as pd
import pytest

from vist.report import REPORT_ENV, publish, read
from vist.sweep import parameter_sets


def test_parameter_sets_from_sets_and_grids():
    sets = parameter_sets([["train_movie=mov1", "test_movie=mov2"], ["train_movie=mov2", "test_movie=mov1"]],
                          ["seed=0,1"])
    assert sets == [{"train_movie": "mov1", "test_movie": "mov2", "seed": 0},
                    {"train_movie": "mov1", "test_movie": "mov2", "seed": 1},
                    {"train_movie": "mov2", "test_movie": "mov1", "seed": 0},
                    {"train_movie": "mov2", "test_movie": "mov1", "seed": 1}]
    assert parameter_sets([], []) == [{}]
    assert parameter_sets([["weights=None", "layer=-2"]], []) == [{"weights": None, "layer": -2}]
    with pytest.raises(ValueError, match="NAME=VALUE"):
        parameter_sets([["mov1"]], [])


def test_publish_writes_only_when_asked(tmp_path, monkeypatch):
    table = pd.DataFrame([{"model": "Vi-ST", "CC": 0.3}])
    monkeypatch.delenv(REPORT_ENV, raising=False)
    assert publish(table, "t") is table
    assert not list(tmp_path.iterdir())
    monkeypatch.setenv(REPORT_ENV, str(tmp_path))
    publish(table, "t")
    assert json.loads((tmp_path / "t.json").read_text()) == [{"model": "Vi-ST", "CC": 0.3}]
    assert read(tmp_path, "t") == [{"model": "Vi-ST", "CC": 0.3}]
    with pytest.raises(FileNotFoundError, match="did not publish it"):
        read(tmp_path, "other")
