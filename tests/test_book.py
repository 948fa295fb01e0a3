"""The chapters' papermill interface: one ``parameters`` cell per chapter, declaring only the
shared names (and the chapter's own) that the chapter uses, every one of which papermill can read (a line it cannot parse is silently left out of
``papermill --help-notebook`` and of its type inference)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext")
translators = pytest.importorskip("papermill.translators")

BOOK = Path(__file__).resolve().parents[1] / "book"
CHAPTERS = sorted(BOOK.glob("[0-9][0-9]_*.py"))
SHARED = ("data", "train_movie", "test_movie", "preset", "seed", "device", "backbone", "layer", "weights")


def test_the_book_has_chapters():
    assert len(CHAPTERS) >= 13, [c.name for c in CHAPTERS]


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_one_parameters_cell_with_the_shared_names_papermill_can_read(chapter):
    nb = jupytext.read(chapter)
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"{chapter.name}: expected one parameters cell, found {len(cells)}"
    source = cells[0].source
    assigned = [line.split("=", 1)[0].strip() for line in source.splitlines()
                if "=" in line and not line.lstrip().startswith("#")]
    parsed = [p.name for p in translators.PythonTranslator.inspect(cells[0])]
    assert parsed == assigned, f"{chapter.name}: papermill reads {parsed}, the cell assigns {assigned}"
    assert "seed" in parsed or "device" in parsed, f"{chapter.name}: no shared parameter at all ({parsed})"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_a_chapter_declares_only_the_parameters_it_uses(chapter):
    """A parameter that changes nothing misleads whoever sets it with papermill."""
    nb = jupytext.read(chapter)
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    declared = [p.name for p in translators.PythonTranslator.inspect(cells[0])]
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code" and c is not cells[0])
    read = {node.id for node in ast.walk(ast.parse(code))
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}
    unused = [n for n in declared if n not in read]
    assert not unused, f"{chapter.name}: declares {unused} but never uses them"


def _undisplayed_tables(source: str) -> list[int]:
    """Lines of ``table(...)`` calls whose value a notebook cell would not show: an expression
    statement that is not the cell's last top-level statement (inside an ``if``, a loop, or
    followed by more code), and not passed to ``display``."""
    tree = ast.parse(source)
    last = tree.body[-1] if tree.body else None
    lines = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
                and isinstance(node.value.func, ast.Name) and node.value.func.id == "table"
                and node is not last):
            lines.append(node.lineno)
    return lines


def test_an_undisplayed_table_is_found():
    assert _undisplayed_tables("if ok:\n    table(df, 'c')\nelse:\n    print(1)") == [2]
    assert _undisplayed_tables("table(df, 'c')\nx = 1") == [1]
    assert _undisplayed_tables("if ok:\n    display(table(df, 'c'))") == []
    assert _undisplayed_tables("x = 1\ntable(df, 'c')") == []


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_every_table_a_chapter_builds_is_shown(chapter):
    """A table (a pandas Styler) shows only as a cell's last expression or through ``display``."""
    nb = jupytext.read(chapter)
    hidden = {i: lines for i, c in enumerate(nb.cells)
              if c.cell_type == "code" and (lines := _undisplayed_tables(c.source))}
    assert not hidden, f"{chapter.name}: tables never shown (cell: lines in it) {hidden}"


FAST_CHAPTER = BOOK / "04_loss.py"


def test_a_fast_chapter_executes_with_no_stderr_output(tmp_path, monkeypatch):
    """What the rendered book shows: no progress bar, warning or traceback (nothing on stderr) in
    a chapter executed as ``tools/book`` executes it (``TQDM_DISABLE=1``, the book folder as cwd)."""
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("TQDM_DISABLE", "1")
    nb = jupytext.read(FAST_CHAPTER)
    nbclient.NotebookClient(nb, timeout=900, kernel_name="python3",
                            resources={"metadata": {"path": str(BOOK)}}).execute()
    stderr = [(i, "".join(o.get("text", ""))[:300]) for i, c in enumerate(nb.cells) if c.cell_type == "code"
              for o in c.get("outputs", []) if o.get("output_type") == "stream" and o.get("name") == "stderr"]
    errors = [(i, o.get("ename")) for i, c in enumerate(nb.cells) if c.cell_type == "code"
              for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not stderr, f"{FAST_CHAPTER.name}: stderr output in cells {stderr}"
    assert not errors, f"{FAST_CHAPTER.name}: errors in cells {errors}"
