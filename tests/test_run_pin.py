"""Same numbers before and after a refactor: a tiny real run on CPU, its summary pinned exactly.

The constants were computed once (floats written with ``repr``); a change that moves any score by
one ulp fails here. CRNN, small preset, 1 epoch, 12 simulated cells.

oneDNN and ATen pick their kernels by the CPU's instruction set, and an AVX-512 kernel sums in
another order than an AVX2 one: the same code gives other last digits on another x86 CPU. The run
therefore happens in a child process with both capped at AVX2 (``ONEDNN_MAX_CPU_ISA``,
``ATEN_CPU_CAPABILITY``, read when torch loads), which every x86-64 machine of this project has.
"""

from __future__ import annotations

import ast
import math
import os
import platform
import subprocess
import sys

import pytest

ISA_CAP = {"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}
"""The instruction-set caps under which the pinned numbers were computed."""

_CHILD = """
import sys
from vist.data.synthetic import simulate
from vist.train import RunSpec, train_run
root = sys.argv[1]
simulate("mov1", seed=0, trials=4, n_frames=120).cells(range(12)).save(root + "/rec.npz")
spec = RunSpec(model="crnn", data=root + "/rec.npz", preset="small", epochs=1, seed=5)
run = train_run(spec, device="cpu", progress=False, root=root + "/runs")
hexed = lambda v: float(v).hex() if isinstance(v, float) else v
print(repr(({k: hexed(v) for k, v in run.record["metrics"]["summary"].items()},
            [{k: hexed(v) for k, v in h.items()} for h in run.history])))
"""

PINNED_SUMMARY = {
    "cc": -0.06373105142071987,
    "cc_abs": 0.06373105142071987,
    "cc_positive": math.nan,  # no cell with r > 0
    "cells_undefined": 6,
    "sd_kl": 834.6647016518685,
    "cc_ceiling": 0.7124617938174914,
    "cc_normalised": -0.16649320696423212,
    "cells_without_ceiling": 9,
    "feve": 0.0,
}
PINNED_HISTORY = [{"epoch": 0, "loss": 0.08240567483007907, "lr": 0.002413125, "swa_n": 1,
                   "cc": -0.06373105142071987, "sd_kl": 834.6647016518685}]


def _unhex(v):
    """A float the child wrote with ``float.hex`` (``"nan"`` included), anything else as it is."""
    return float.fromhex(v) if isinstance(v, str) else v


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """``(summary, history)`` of the tiny run, made in a child process under :data:`ISA_CAP`."""
    if platform.machine() not in ("x86_64", "AMD64"):
        pytest.skip(f"the pinned numbers are for x86-64 kernels capped at AVX2; this is {platform.machine()}")
    root = tmp_path_factory.mktemp("pin")
    out = subprocess.run([sys.executable, "-c", _CHILD, str(root)], env={**os.environ, **ISA_CAP},
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    summary, history = ast.literal_eval(out.stdout.strip().splitlines()[-1])
    return ({k: _unhex(v) for k, v in summary.items()}, [{k: _unhex(v) for k, v in h.items()} for h in history])


def test_the_summary_of_a_tiny_run_is_unchanged(run):
    summary = run[0]
    assert list(summary) == list(PINNED_SUMMARY)
    for key, value in PINNED_SUMMARY.items():
        assert summary[key] == value or (math.isnan(summary[key]) and math.isnan(value)), key


def test_the_per_epoch_log_of_a_tiny_run_is_unchanged(run):
    history = run[1]
    assert len(history) == len(PINNED_HISTORY)
    for got, want in zip(history, PINNED_HISTORY, strict=True):
        assert got.keys() == want.keys()
        for key, value in want.items():
            assert got[key] == value or (math.isnan(got[key]) and math.isnan(value)), key
