"""JupyterLab: `bash tools/lab` serves the book's .py chapters as notebooks (through jupytext), and
the book build ignores the .ipynb twins that saving a chapter from JupyterLab writes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, token: str) -> tuple[int, bytes]:
    req = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_lab_serves_a_chapter_as_a_notebook_with_its_parameters_cell(tmp_path):
    if not (ROOT / ".venv" / "bin" / "jupyter").exists():
        pytest.skip("no .venv with jupyter: run bash tools/setup")
    pytest.importorskip("jupyterlab")
    pytest.importorskip("jupytext")
    port, token = _free_port(), "vist-test-token"
    env = {**os.environ, "VIST_LAB_NO_SETUP": "1", "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), "JUPYTER_DATA_DIR": str(tmp_path / "data")}
    log = open(tmp_path / "lab.log", "wb")
    proc = subprocess.Popen(
        ["bash", str(ROOT / "tools" / "lab"), "--no-browser", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, (tmp_path / "lab.log").read_text()
            try:
                if _get(f"{base}/api/status", token)[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "JupyterLab did not answer within 90 s:\n" + \
                (tmp_path / "lab.log").read_text()
            time.sleep(0.5)
        status, body = _get(f"{base}/api/contents/book/07_generalization.py?type=notebook&content=1", token)
        assert status == 200, body[:500]
        model = json.loads(body)
        assert model["type"] == "notebook" and model["format"] == "json"
        cells = model["content"]["cells"]
        tagged = [c for c in cells if "parameters" in c["metadata"].get("tags", [])]
        assert len(tagged) == 1 and "train_movie" in tagged[0]["source"]
        assert not (ROOT / "book" / "07_generalization.ipynb").exists() or \
            "07_generalization.ipynb" in (ROOT / ".gitignore").read_text()
        assert _get(f"{base}/lab", token)[0] == 200  # JupyterLab itself, not only the server
    finally:
        req = urllib.request.Request(f"{base}/api/shutdown", method="POST",
                                     headers={"Authorization": f"token {token}"})
        try:
            urllib.request.urlopen(req, timeout=10).close()
        except OSError:
            pass
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        log.close()
    assert proc.returncode is not None


def _config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text())


def test_book_build_ignores_ipynb_twins_of_chapters(tmp_path):
    """Sphinx finds a chapter's documents the way jupyter-book's build does (its final Sphinx
    configuration from _config.yml, and Sphinx's own discovery); a book/04_loss.ipynb saved from
    JupyterLab beside book/04_loss.py must not become a second file for the document."""
    config = pytest.importorskip("jupyter_book.config")
    project = pytest.importorskip("sphinx.project")
    src = tmp_path / "src"
    (src / "book").mkdir(parents=True)
    for name in ("_config.yml", "_toc.yml", "book/00_intro.md", "book/04_loss.py"):
        shutil.copy(ROOT / name, src / name)
    twin = json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    (src / "book" / "04_loss.ipynb").write_text(twin)
    sphinx_conf, _ = config.get_final_config(user_yaml=src / "_config.yml", sourcedir=src,
                                             cli_config={"latex_individualpages": False})
    suffixes = [".md", ".ipynb", ".py", ".rst"]  # what myst-nb registers with nb_custom_formats .py
    warnings = []
    proj = project.Project(str(src), suffixes)
    original = project.logger.warning  # Sphinx's "multiple files found for the document"
    project.logger.warning = lambda msg, *a, **k: warnings.append(msg % a if a else msg)
    try:
        docs = proj.discover(exclude_paths=sphinx_conf["exclude_patterns"])
    finally:
        project.logger.warning = original
    assert "book/04_loss" in docs
    assert not warnings, warnings
    assert str(proj.doc2path("book/04_loss", absolute=False)).endswith("04_loss.py")


def test_ipynb_twins_are_not_committed():
    lines = (ROOT / ".gitignore").read_text().split()
    assert "book/*.ipynb" in lines or "*.ipynb" in lines
    assert any("book/*.ipynb" in p for p in _config()["exclude_patterns"])
