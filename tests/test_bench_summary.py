"""The book's short speed tables read CPU (median_ms) and GPU (ms, several timings) files alike."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from vist.bench.common import BenchTable  # noqa: E402
from vist.bench.summary import (  # noqa: E402
    format_ms,
    kernel_speeds,
    small_preset_step,
    speed_table,
    train_step_speeds,
)
from vist.plots.speed import kernels_chart, train_step_chart  # noqa: E402


def _save(tmp_path, name, rows, device):
    return BenchTable("kernels", device, rows, date="2026-01-02T03:04:05+00:00", commit="abc1234").save(
        tmp_path / name)


def test_cpu_rows_and_speed_up_against_vist(tmp_path):
    rows = [{"what": "SD-KL per cell (CPU)", "shape": "[1600,90]", "impl": "vist sd_kl", "median_ms": 4.0},
            {"what": "SD-KL per cell (CPU)", "shape": "[1600,90]", "impl": "per-cell scipy, SPEC §5",
             "median_ms": 48.0},
            {"what": "soft-DTW value", "shape": "[90,800,1]", "impl": "vist (torch)", "median_ms": 1.0}]
    t = speed_table(_save(tmp_path, "kernels_cpu.json", rows, "CPU: 2 cores"), "sd-kl")
    assert list(t.frame["measurement"]) == ["SD-KL per cell", "SD-KL per cell"]
    assert list(t.frame["implementation"]) == ["vist sd_kl", "per-cell scipy"]
    assert list(t.frame["time (ms)"]) == [4.0, 48.0]
    assert np.isnan(t.frame["× slower than vist"][0]) and t.frame["× slower than vist"][1] == 12.0
    assert t.caption == "kernels_cpu.json: CPU: 2 cores, 2026-01-02, commit abc1234"
    assert t.frame.shape[1] <= 8


def test_gpu_file_uses_ms_keeps_the_graph_replay_and_leaves_sweeps_out(tmp_path):
    rows = [{"what": "Vi-ST soft-DTW term", "shape": "[16,128,90]", "impl": "vist (triton)",
             "how": "eager, synced, median", "ms": 0.66},
            {"what": "Vi-ST soft-DTW term", "shape": "[16,128,90]", "impl": "vist (triton)",
             "how": "CUDA graph replay of fwd+bwd, mean", "ms": 0.14},
            {"what": "Vi-ST term sweep: fwd+bwd graph replay", "shape": "[16,128,90]", "impl": "tile 16",
             "how": "CUDA graph replay, mean", "ms": 0.2},
            {"what": "tile kernel alone (soft-DTW)", "shape": "[16,128,90]", "impl": "vist",
             "how": "kernel only", "ms": 0.1}]
    t = speed_table(_save(tmp_path, "kernels_gpu.json", rows, "GPU: H100"), "soft-DTW term")
    assert len(t.frame) == 1
    assert t.frame["time (ms)"][0] == 0.14 and t.frame["timed as"][0].startswith("CUDA graph")
    assert not t.frame["time (ms)"].isna().any()


def test_no_matching_rows_or_no_time_column_is_a_clear_error(tmp_path):
    path = _save(tmp_path, "k.json", [{"what": "soft-DTW", "shape": "[1]", "impl": "vist", "median_ms": 1.0}],
                 "CPU")
    with pytest.raises(ValueError, match="contains 'SD-KL'.*soft-DTW"):
        speed_table(path, "SD-KL")
    path = _save(tmp_path, "k2.json", [{"what": "soft-DTW", "shape": "[1]", "impl": "vist", "seconds": 1.0}],
                 "CPU")
    with pytest.raises(ValueError, match="median_ms or ms"):
        speed_table(path, "soft-DTW")


def test_times_are_shown_with_three_digits_and_no_exponent():
    assert [format_ms(v) for v in (0.142816, 42.43, 1687.8)] == ["0.143", "42.4", "1688"]


def test_charts_of_the_stored_runs_name_device_and_commit(tmp_path):
    step = tmp_path / "train_step_gpu.json"
    step.write_text(json.dumps({"device": "NVIDIA H100", "torch": "2.11", "provenance_note": "the code measured "
                                "was commit 321019c", "train_step": {"rows": [
                                    {"impl": "reference", "ms_per_step": 400.0, "peak_mib": 10240},
                                    {"impl": "fast", "ms_per_step": 50.0, "peak_mib": 8192},
                                    {"impl": "fast-compile", "ms_per_step": None}]}}))
    speeds = train_step_speeds(step)
    assert speeds.caption == "train_step_gpu.json: NVIDIA H100, torch 2.11, date not recorded, commit 321019c"
    assert list(speeds.frame["variant"]) == ["reference", "fast"]
    assert list(speeds.frame["× faster than the reference"]) == [1.0, 8.0]
    assert speeds.formats["peak GiB"] == "{:.2f}" and "time (ms)" not in speeds.formats
    fig = train_step_chart(speeds.frame)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert " 400 ms, 10.0 GiB" in texts and " 50 ms (8.0× faster), 8.0 GiB" in texts
    assert len(fig.axes[0].patches) == 2
    rows = [{"what": "SD-KL per cell", "shape": "[1600,90]", "impl": "vist sd_kl", "median_ms": 4.0},
            {"what": "SD-KL per cell", "shape": "[1600,90]", "impl": "scipy", "median_ms": 40.0}]
    speeds = kernel_speeds(_save(tmp_path, "kernels_cpu.json", rows, "CPU: 2 cores"), ("SD-KL",))
    assert speeds.caption.endswith("CPU: 2 cores, 2026-01-02, commit abc1234")
    assert " 40 ms (10.0× vist)" in [t.get_text() for t in kernels_chart(speeds.frame).axes[0].texts]
    step.write_text(json.dumps({"train_step": {"rows": [{"impl": "fast", "ms_per_step": None}]}}))
    with pytest.raises(ValueError, match="train_step rows with ms_per_step"):
        train_step_speeds(step)


def test_stored_speed_tables_show_each_file_and_say_when_one_is_missing(tmp_path):
    from IPython.display import Markdown

    from vist.bench.summary import stored_speed_tables

    rows = [{"what": "SD-KL per cell (CPU)", "shape": "[1600,90]", "impl": "vist sd_kl", "median_ms": 4.0}]
    _save(tmp_path, "kernels_cpu.json", rows, "CPU: 2 cores")
    cpu, gpu = stored_speed_tables(tmp_path, "SD-KL", "SD-KL.")
    assert "SD-KL. kernels_cpu.json: CPU: 2 cores" in cpu.caption
    assert isinstance(gpu, Markdown) and "kernels_gpu.json" in gpu.data


def test_small_preset_step_reads_frames_per_second_and_names_the_machine(tmp_path):
    rows = [{"impl": "small preset before", "shape": "B2 T48 G16", "ms_per_step": 500.0, "frames_per_s": 192.0},
            {"impl": "small preset now", "shape": "B2 T48 G10", "ms_per_step": 125.0, "frames_per_s": 768.0}]
    path = BenchTable("train-step-small-presets", "CPU: 2 cores", rows, date="2026-01-02T03:04:05+00:00",
                      commit="abc1234").save(tmp_path / "step.json")
    t = small_preset_step(path)
    assert list(t.frame["step"]) == ["earlier", "now"]
    assert list(t.frame["× the earlier"]) == [1.0, 4.0]
    assert t.caption == "step.json: CPU: 2 cores, 2026-01-02, commit abc1234"
    BenchTable("x", "cpu", [{"impl": "a", "ms_per_step": 1.0}]).save(tmp_path / "bad.json")
    with pytest.raises(ValueError, match="frames_per_s"):
        small_preset_step(tmp_path / "bad.json")
