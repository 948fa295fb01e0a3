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
    gpu.write_text('{"device": "NVIDIA H200", "torch": "2.11", "step": {"rows": [{"ms": 2.0}]}, '
                   '"check": {"pass": true}, "total_s": 3}')
    sections = stored_sections(gpu)
    assert [h for h, _ in sections] == ["gpu.json: NVIDIA H200 — torch 2.11", "[step]", "[check]"]
    assert list(sections[1][1]["ms"]) == [2.0]


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
