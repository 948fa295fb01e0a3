"""Publishing: the built site is self-contained (tools/check_site.py, which tools/book runs), and
the GitHub Pages workflow is valid and calls the same scripts as .ci/run."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import check_site  # noqa: E402

PAGE = """<!DOCTYPE html><html><head>
<link rel="stylesheet" href="../_static/style.css"><script src="../_static/app.js"></script>
<link rel="preconnect" href="https://fonts.example.org"></head><body>
<a href="../index.html">home</a> <a href="#results">here</a> <a href="02_prior.html#x">next</a>
<img src="../_images/fig.png" srcset="../_images/fig.png 1x, ../_images/fig.png 2x">
<div style="background: url('../_static/bg.png')"></div>
<a href="https://github.com/x/y/tree/main/work/notes">source</a> <a href="mailto:a@b.c">mail</a>
<pre>cc 0.31 on 90 cells; weights: untrained; 1/2 of the trials; a/tmp/b is not a path</pre>
{extra}
</body></html>"""


def _site(tmp_path: Path, extra: str = "") -> Path:
    root = tmp_path / "html"
    (root / "book").mkdir(parents=True)
    (root / "index.html").write_text('<a href="book/01_data.html">start</a> <a href="book/">book</a>')
    (root / "book" / "index.html").write_text('<a href="01_data.html">start</a>')
    for name in ("book/01_data.html", "book/02_prior.html"):
        (root / name).write_text(PAGE.format(extra=extra if name == "book/01_data.html" else ""))
    for name in ("_static/style.css", "_static/app.js", "_static/bg.png", "_images/fig.png"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"x")
    return root


def test_a_self_contained_site_passes(tmp_path):
    root = _site(tmp_path)
    assert check_site.check_site(root, forbidden=[str(tmp_path)]) == []
    assert check_site.main([str(root)]) == 0


@pytest.mark.parametrize("extra, found", [
    ("<pre>3 parameters; stored in /root/.cache/vist/runs/ab12cd</pre>", "/root/.cache/vist/runs/ab12cd"),
    ("<pre>/work/main/vist/train/loop.py:88: RuntimeWarning: divide</pre>", "/work/main/vist/train/loop.py:88:"),
    ('<img src="/tmp/fig.png">', "a path from the host's root (/tmp/fig.png)"),
    ('<a href="/book/02_prior.html">next</a>', "a path from the host's root (/book/02_prior.html)"),
    ('<a href="file:///home/me/vist/_build/html/index.html">x</a>', "a file: URL"),
    ('<a href="03_model.html">next</a>', "points to a file the site does not have (03_model.html)"),
    ('<img src="../../outside.png">', "points outside the site"),
    ("<pre>C:\\Users\\me\\vist\\book</pre>", "an absolute file path (C:\\Users"),
    ("<pre>cache: {machine}/cache/features</pre>", "a path of the build machine"),
])
def test_absolute_paths_and_broken_links_fail(tmp_path, extra, found, capsys, monkeypatch):
    machine = "/build/agent-7/vist"  # e.g. a CI runner's checkout
    monkeypatch.setattr(check_site, "machine_paths", lambda: [machine])
    root = _site(tmp_path, extra.format(machine=machine))
    problems = check_site.check_site(root, forbidden=[machine])
    assert len(problems) == 1 and found in problems[0], problems
    assert problems[0].startswith("book/01_data.html:9: ")
    assert check_site.main([str(root)]) == 1
    assert "not self-contained" in capsys.readouterr().err


def test_a_missing_site_fails(tmp_path, capsys):
    assert check_site.main([str(tmp_path / "nothing")]) == 1
    assert "expected a built site with an index.html" in capsys.readouterr().err


def test_tools_book_checks_the_site_after_building():
    book = (ROOT / "tools" / "book").read_text()
    build = book.index("jupyter-book build")
    check = book.index("tools/check_site.py _build/html")
    assert build < check


WORKFLOW = ROOT / ".github" / "workflows" / "book.yml"


def _steps() -> list[dict]:
    flow = yaml.safe_load(WORKFLOW.read_text())
    return [s for job in flow["jobs"].values() for s in job.get("steps", [])]


def test_workflow_is_a_valid_github_workflow():
    exe = shutil.which("check-jsonschema") or str(Path(sys.executable).parent / "check-jsonschema")
    if not Path(exe).exists():
        pytest.skip("check-jsonschema is not installed (the test extra)")
    done = subprocess.run([exe, "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_workflow_builds_with_the_ci_scripts_and_deploys_with_the_official_pages_actions():
    steps = _steps()
    uses = [s["uses"].split("@")[0] for s in steps if "uses" in s]
    for action in ("actions/checkout", "actions/configure-pages", "actions/upload-pages-artifact",
                   "actions/deploy-pages"):
        assert action in uses, uses
    assert uses.index("actions/upload-pages-artifact") < uses.index("actions/deploy-pages")
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-pages-artifact"))
    assert upload["with"]["path"] == "_build/html"
    runs = "\n".join(s.get("run", "") for s in steps)
    scripts = re.findall(r"\bbash (tools/\w+|\.ci/\w+)", runs)
    assert {"tools/setup", "tools/book"} <= set(scripts), scripts
    ci = (ROOT / ".ci" / "run").read_text()
    for script in scripts:  # the same scripts as CI, so the two cannot drift apart
        assert re.search(rf"\bbash {re.escape(script)}\b", ci), f"{script} is not run by .ci/run"
    assert runs.index("bash tools/setup") < runs.index("bash tools/book")
    flow = yaml.safe_load(WORKFLOW.read_text())
    perms = flow.get("permissions", {})
    assert perms.get("pages") == "write" and perms.get("id-token") == "write"
