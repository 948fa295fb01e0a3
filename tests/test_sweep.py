"""vist.sweep and vist.report: parameter sets, names, publishing, and sweeps on Dask."""

import json
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from vist.report import REPORT_ENV, publish, read
from vist.sweep import ExecutionError, chapter_parameters, execute, main, parameter_sets

BOOK = Path(__file__).resolve().parents[1] / "book"

# A chapter as small as a chapter can be: a parameters cell, a table published for the sweep.
TINY = textwrap.dedent('''\
    # ---
    # jupyter:
    #   kernelspec:
    #     display_name: Python 3
    #     language: python
    #     name: python3
    # ---

    # %% tags=["parameters"]
    seed = 0
    movie = "mov1"
    fail = False
    flaky = ""  # a file: fail the first attempt (when it does not exist yet), then succeed
    table = "tiny"  # the name it publishes its table under

    # %%
    import os

    from vist.report import publish
    if fail:
        raise RuntimeError("asked to fail")
    if flaky and not os.path.exists(flaky):
        open(flaky, "w").close()
        raise RuntimeError("a transient failure")
    publish([{"seed squared": seed ** 2, "movie": movie}], table)
    ''')


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
    with pytest.raises(ValueError, match="identifier"):
        parameter_sets([["=3"]], [])


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


def _no_cluster(monkeypatch):
    """Make starting a Dask cluster fail the test: these arguments must be refused before."""
    import vist.sweep

    def refuse(*args, **kwargs):
        raise AssertionError("a cluster was started for arguments that should have been refused")
    monkeypatch.setattr(vist.sweep, "_client", refuse)


@pytest.mark.parametrize("args, message", [
    (["--set", "seed"], "expected NAME=VALUE, found 'seed'"),
    (["--set", "=3"], "identifier"),
    (["--grid", "seed"], "NAME=V1,V2"),
    (["--set", "sed=5"], r"unknown parameter\(s\) \['sed'\]"),
    (["--set", "seed=1", "--grid", "movie=mov1,mov2"], r"unknown parameter\(s\) \['movie'\]"),
])
def test_bad_arguments_are_usage_errors_before_anything_runs(args, message, tmp_path, monkeypatch, capsys):
    _no_cluster(monkeypatch)
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_:
        main([str(BOOK / "07_generalization.py"), "--table", "generalization", "--out", str(out), *args])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: python -m vist.sweep"), err
    assert pytest.importorskip("re").search(message, err), err
    assert not out.exists()


def test_names_come_from_the_chapters_parameters_cell():
    names = chapter_parameters(BOOK / "07_generalization.py")
    assert {"seed", "train_movie", "test_movie", "data"} <= set(names)
    assert "sed" not in names


def _records(frame):
    return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    pytest.importorskip("papermill")
    pytest.importorskip("dask.distributed")
    chapter = tmp_path_factory.mktemp("book") / "01_tiny.py"
    chapter.write_text(TINY)
    return chapter


def test_two_worker_sweep_gathers_one_row_per_parameter_set(tiny, tmp_path, capsys, recwarn):
    out, flaky = tmp_path / "sweep", tmp_path / "flaky"
    assert main([str(tiny), "--table", "tiny", "--set", "seed=2", "--set", "seed=3", "movie=mov2",
                 f"flaky={flaky}", "--workers", "2", "--out", str(out)]) == 0
    assert flaky.exists()  # the second execution failed once, and its retry succeeded
    expected = [{"param:seed": 2, "param:movie": None, "param:flaky": None, "seed squared": 4, "movie": "mov1"},
                {"param:seed": 3, "param:movie": "mov2", "param:flaky": str(flaky), "seed squared": 9,
                 "movie": "mov2"}]
    assert _records(pd.read_csv(out / "tiny.csv")) == expected
    assert _records(pd.read_parquet(out / "tiny.parquet")) == expected
    for folder in ("00", "01"):
        assert (out / folder / "01_tiny.ipynb").exists()
        log = (out / folder / "papermill.log").read_text()
        assert "not specified with any extension" not in log, log
    assert not [w for w in recwarn if "extension" in str(w.message)]
    assert not list(out.glob("*.tmp")) and not list(out.glob(".*.tmp"))
    assert "param:seed" in capsys.readouterr().out


def test_a_failed_resweep_leaves_no_table_and_reads_only_its_own(tiny, tmp_path, capsys):
    """Into the folder of an earlier, complete sweep, on a running cluster (--scheduler): the
    execution publishes no table, and the earlier execution's table must not stand in for it."""
    from dask.distributed import LocalCluster

    out = tmp_path / "sweep"
    (out / "00").mkdir(parents=True)
    (out / "00" / "tiny.json").write_text('[{"seed squared": 4, "movie": "mov1"}]')
    (out / "tiny.csv").write_text("param:seed,seed squared,movie\n2,4,mov1\n")
    (out / "tiny.parquet").write_bytes(b"PAR1")
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        code = main([str(tiny), "--table", "tiny", "--set", "seed=5", "table=other",
                     "--scheduler", cluster.scheduler_address, "--out", str(out)])
    assert code == 1
    err = capsys.readouterr().err
    assert "1 of 1 executions of 01_tiny.py failed" in err and "did not publish the table 'tiny'" in err
    assert str(out / "00" / "01_tiny.ipynb") in err  # the failed execution's notebook is named
    assert not (out / "tiny.csv").exists() and not (out / "tiny.parquet").exists()
    assert not (out / "00" / "tiny.json").exists() and (out / "00" / "other.json").exists()


def test_a_failed_execution_names_its_notebook_and_error(tiny, tmp_path):
    with pytest.raises(ExecutionError) as err:
        execute(tiny, {"fail": True}, tmp_path / "00", "tiny")
    message = str(err.value)
    assert "01_tiny.py with {'fail': True} failed" in message and "asked to fail" in message
    assert str(tmp_path / "00" / "01_tiny.ipynb") in message
    assert str(tmp_path / "00" / "papermill.log") in message
