"""vist.bench helpers that change process state or read saved results."""

from __future__ import annotations

import os

import pytest

from vist.bench.common import BenchTable, environment, stored_sections


def test_environment_sets_then_restores_even_on_error(monkeypatch):
    monkeypatch.delenv("VIST_TEST_UNSET", raising=False)
    monkeypatch.setenv("VIST_TEST_SET", "before")
    with pytest.raises(RuntimeError):
        with environment(VIST_TEST_UNSET="1", VIST_TEST_SET="during"):
            assert os.environ["VIST_TEST_UNSET"] == "1" and os.environ["VIST_TEST_SET"] == "during"
            raise RuntimeError("inside")
    assert "VIST_TEST_UNSET" not in os.environ
    assert os.environ["VIST_TEST_SET"] == "before"


def test_stored_sections_reads_bench_tables_and_gpu_script_json(tmp_path):
    table = BenchTable("demo", "CPU: test", rows=[{"impl": "a", "ms": 1.5}], notes=["a note"])
    path = table.save(tmp_path / "demo.json")
    (heading, frame), (note, nothing) = stored_sections(path)
    assert heading.startswith("demo.json: CPU: test") and list(frame["ms"]) == [1.5]
    assert (note, nothing) == ("note: a note", None)
    gpu = tmp_path / "gpu.json"
    gpu.write_text('{"provenance_note": "code of commit abc", "device": "NVIDIA H200", "torch": "2.11", "step": {"rows": [{"ms": 2.0}]}, '
                   '"check": {"pass": true}, "profile": {"steps": 3, "table": "Name  Self CUDA"}, "total_s": 3}')
    sections = stored_sections(gpu)
    assert [h for h, _ in sections] == ["gpu.json: NVIDIA H200 — torch 2.11", "note: code of commit abc", "[step]",
                                        "[check]", "[profile]\nName  Self CUDA"]
    assert list(sections[2][1]["ms"]) == [2.0] and sections[4][1] is None


def test_authors_sdkl_variant_runs_and_differs_from_spec():
    """The timing twin of the authors' code: per-cell scores of their variant, not SPEC §5's."""
    pytest.importorskip("torchmetrics")
    import numpy as np

    from vist.bench.authors_sdkl import authors_sd_kl
    from vist.metrics import sd_kl

    rng = np.random.default_rng(0)
    t = rng.poisson(0.3, (400, 5)) / 4.0
    p = np.clip(t + rng.normal(0, 0.1, t.shape), 0, None)
    p[:, 4] = 0.0                                    # no peak: undefined → 1000
    got = authors_sd_kl(p, t)
    assert got.shape == (5,) and got[4] == 1000.0 and np.all(got[:4] > 0)
    assert np.all(authors_sd_kl(t, t) == 0)
    assert not np.allclose(got[:4], sd_kl(p, t)[:4], rtol=1e-3)


def test_kernels_benchmark_table_names_rows_and_device():
    """`python -m vist.bench kernels` in miniature: every row timed, labelled, on a named device."""
    from vist.bench.kernels import run

    table = run(device="cpu", repeat=1, long_repeat=1, no_tslearn=True, no_reference=True, no_compile_time=True)
    whats = [r["what"] for r in table.rows]
    assert whats == ["SD-KL per cell (CPU), noise-free rates", "SD-KL per cell (CPU), noisy prediction",
                     "SD-KL per cell (CPU), stored GPU run's predictions",
                     "Vi-ST soft-DTW term, windows 6+12, fwd+bwd", "soft-DTW value, fwd+bwd"]
    assert all(r["median_ms"] > 0 and r["speedup_vs_vist"] is None for r in table.rows)
    assert table.device.startswith("CPU") and any("noisy prediction" in n for n in table.notes)


def test_median_times_takes_turns_and_counts_calls():
    from vist.bench.common import median_times

    calls: list[str] = []
    times = median_times([lambda: calls.append("a"), lambda: calls.append("b")], repeat=4, warmup=1, rounds=2)
    assert len(times) == 2 and all(t >= 0 for t in times)
    # per round and function: 1 warm-up + 2 timed calls, in turns a a a, b b b, a a a, b b b
    assert "".join(calls) == "aaabbbaaabbb"


def test_git_commit_marks_a_modified_tree(tmp_path):
    import subprocess

    from vist.env import git_commit

    assert git_commit(tmp_path) == "unknown"
    run = lambda *a: subprocess.run(["git", "-C", str(tmp_path), *a], check=True, capture_output=True)  # noqa: E731
    run("init", "-q")
    (tmp_path / "f.txt").write_text("a")
    run("add", "f.txt")
    run("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "first")
    clean = git_commit(tmp_path)
    assert clean != "unknown" and not clean.endswith("-dirty")
    (tmp_path / "f.txt").write_text("b")
    assert git_commit(tmp_path) == clean + "-dirty"


def test_train_step_variants_are_independent_options():
    """Each variant name is its options joined in order, and parses back to them; bad ones are refused."""
    from vist.bench.train_step import VARIANTS, StepVariant

    assert StepVariant.parse("fast-compile-lowmem-graph") == StepVariant(compile=True, lowmem=True, graph=True)
    assert StepVariant.parse("reference").model == "reference"
    assert StepVariant(recompute=True, graph=True).name == "fast-recompute-graph"
    assert StepVariant.parse("fast-recompute").settings.recompute and not StepVariant().settings.recompute
    assert all(v.name == name for name, v in VARIANTS.items())
    for name in ("fast-graph-compile", "compile", "fast-nonsense"):
        with pytest.raises(ValueError, match="variant"):
            StepVariant.parse(name)
    with pytest.raises(ValueError, match="reference"):
        StepVariant("reference", graph=True)
    with pytest.raises(ValueError, match="lowmem"):
        StepVariant(lowmem=True)
