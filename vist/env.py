"""The machine a result comes from: device choice, bf16 support, device name, git commit, provenance.

A low-level module (it imports only the standard library, NumPy and PyTorch, and of vist only the
version): training (:mod:`vist.train`), the priors (:mod:`vist.prior`) and the benchmarks
(:mod:`vist.bench`) all take their device and provenance helpers from here.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import torch

import vist

__all__ = ["bf16_supported", "device_name", "git_commit", "provenance", "resolve_device"]


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``"auto"``/``None`` → CUDA when available, else CPU; anything else → ``torch.device``."""
    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def bf16_supported(device: torch.device) -> bool:
    """Whether bf16 autocast is fast on ``device`` (CUDA with bf16, or a CPU with native bf16)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        try:
            return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        except (AttributeError, RuntimeError):
            return False
    return False


def device_name(device: str = "cpu") -> str:
    """A human description of the machine a benchmark ran on, e.g. ``"CPU: 2 cores (x86_64 …)"``."""
    if str(device).startswith("cuda"):
        return f"GPU: {torch.cuda.get_device_name(torch.device(device))}"
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"CPU: {cores} cores ({model})"


def git_commit(cwd: str | os.PathLike[str] | None = None) -> str:
    """The current commit of the source tree, ``"<commit>-dirty"`` when tracked files differ from
    it (a lent GPU machine receives the working tree over an older checkout), ``"unknown"``
    outside a git checkout. ``cwd``: a folder of the checkout (default: this package's)."""
    where = Path(cwd) if cwd is not None else Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, cwd=where, timeout=5)
        commit = out.stdout.strip()
        if not commit:
            return "unknown"
        dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--"], capture_output=True, cwd=where, timeout=10)
        return commit + ("-dirty" if dirty.returncode == 1 else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def provenance(device: torch.device) -> dict[str, Any]:
    """Device, date, commit and versions of the machine producing a result."""
    return {"device": device_name(str(device)), "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "commit": git_commit(), "vist": vist.__version__, "torch": torch.__version__,
            "numpy": np.__version__, "python": platform.python_version(), "host": platform.node(),
            "torch_threads": torch.get_num_threads()}
