"""The package's import structure, enforced.

* every module of :mod:`vist` imports on its own, in a process that has imported nothing of vist
  before (an import cycle shows up as an error for some module imported first);
* imports sit at module top: an import inside a function is allowed only for an optional or
  slow third-party dependency, and says why on its line (``# lazy: <reason>``);
* the parts of the package import each other downwards only: what a subpackage may import is
  the "May import:" line of its ``__init__`` docstring, what a top-level module may import is
  :data:`TOP_LEVEL` below, and together they form no cycle.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "vist"
OPTIONAL = {"triton"}
"""Third-party packages vist runs without; a module that needs one is skipped where it is missing."""

TOP_LEVEL: dict[str, set[str]] = {
    "env": set(),
    "cache": set(),
    "progress": set(),
    "layers": set(),
    "presets": {"env"},
    "losses": {"kernels"},
    "report": {"cache", "plots"},
    "sweep": {"cache", "report"},
}
"""The modules directly under ``vist/`` and the parts of vist each may import (the package's
``vist/__init__.py``, constants only, may be imported by anything)."""


def _files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _module(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _unit(module: str) -> str:
    """The part of the package ``module`` belongs to: its subpackage or top-level module
    (``"vist"`` for the package itself)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "vist"


def _imports(tree: ast.AST) -> list[tuple[ast.stmt, list[str]]]:
    """Every import statement in ``tree`` with the modules it names (absolute)."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.append((node, [a.name for a in node.names]))
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.append((node, [node.module]))
    return out


# Imports every module named on stdin, each in a child forked from a process that has imported
# the third-party modules vist imports at module top but nothing of vist: each child starts with
# no vist module loaded (as a fresh interpreter), without paying for torch again.
_FRESH_IMPORTS = r"""
import importlib, json, os, sys, traceback
request = json.load(sys.stdin)
for name in request["preload"]:
    try:
        importlib.import_module(name)
    except Exception:
        pass
assert not [m for m in sys.modules if m == "vist" or m.startswith("vist.")], "vist imported by a preload"
results = {}
for module in request["modules"]:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            importlib.import_module(module)
            message, code = "", 0
        except ModuleNotFoundError as err:
            message, code = f"missing {err.name}\n" + traceback.format_exc(), 2
        except BaseException:
            message, code = traceback.format_exc(), 1
        os.write(write, message.encode())
        os._exit(code)
    os.close(write)
    chunks = []
    while chunk := os.read(read, 65536):
        chunks.append(chunk)
    os.close(read)
    _, status = os.waitpid(pid, 0)
    results[module] = [os.waitstatus_to_exitcode(status), b"".join(chunks).decode()]
print(json.dumps(results))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_every_module_imports_on_its_own():
    modules = [_module(p) for p in _files()]
    preload = set()
    for path in _files():
        tree = ast.parse(path.read_text())
        for node in tree.body:
            for _, names in _imports(ast.Module(body=[node], type_ignores=[])):
                preload.update(n for n in names if n.split(".")[0] not in ("vist", "__future__"))
    env = {**os.environ, "MPLBACKEND": "Agg"}
    out = subprocess.run([sys.executable, "-c", _FRESH_IMPORTS], input=json.dumps(
        {"preload": sorted(preload), "modules": modules}), capture_output=True, text=True,
        cwd=PACKAGE.parent, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    results = json.loads(out.stdout.strip().splitlines()[-1])
    failed = {}
    for module, (code, message) in results.items():
        missing = message.split("\n", 1)[0].removeprefix("missing ") if code == 2 else ""
        if code and missing.split(".")[0] not in OPTIONAL:
            failed[module] = message[-1500:]
    assert not failed, "modules that do not import on their own:\n" + "\n".join(
        f"--- {m}\n{msg}" for m, msg in failed.items())
    assert len(results) == len(modules) > 50


def test_imports_inside_functions_are_marked_lazy():
    unmarked = set()
    for path in _files():
        source = path.read_text()
        lines = source.splitlines()
        for fn in ast.walk(ast.parse(source)):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                if not isinstance(node, (ast.Import, ast.ImportFrom)):
                    continue
                text = "\n".join(lines[node.lineno - 1:node.end_lineno])
                if not re.search(r"#\s*lazy: \S", text):
                    unmarked.add(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {lines[node.lineno - 1].strip()}")
    assert not unmarked, ("imports inside functions without '# lazy: <reason>' (move them to the module "
                          "top; only optional or slow third-party imports may stay):\n" + "\n".join(sorted(unmarked)))


def _declared() -> dict[str, set[str]]:
    """What each part of the package may import: the ``vist.X`` named in the subpackages' "May
    import:" paragraphs (outside parentheses) and :data:`TOP_LEVEL`."""
    allowed = {k: set(v) for k, v in TOP_LEVEL.items()}
    for init in sorted(PACKAGE.glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text())) or ""
        found = re.search(r"May import:(.*?)(?:\n\s*\n|\Z)", doc, re.S)
        assert found, f"{init.relative_to(PACKAGE.parent)}: the docstring has no 'May import:' line"
        listed = re.sub(r"\([^)]*\)", "", found.group(1))  # asides in parentheses name no permission
        allowed[init.parent.name] = set(re.findall(r"vist\.(\w+)", listed))
    return allowed


def test_parts_import_only_what_their_docstring_allows():
    allowed = _declared()
    wrong = []
    for path in _files():
        unit = _unit(_module(path))
        if unit == "vist":
            continue
        assert unit in allowed, f"{path}: a new top-level module; add it to TOP_LEVEL"
        for node, names in _imports(ast.parse(path.read_text())):
            for name in names:
                target = _unit(name) if name.split(".")[0] == "vist" else None
                if target not in (None, "vist", unit) and target not in allowed[unit]:
                    wrong.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: vist.{unit} imports "
                                 f"vist.{target} (allowed: {sorted(allowed[unit])})")
    assert not wrong, "\n".join(wrong)


def test_the_declared_layers_form_no_cycle():
    allowed = _declared()
    done: set[str] = set()

    def visit(unit: str, path: tuple[str, ...]) -> None:
        assert unit not in path, "import cycle: " + " → ".join((*path, unit))
        if unit in done:
            return
        for target in sorted(allowed.get(unit, ())):
            visit(target, (*path, unit))
        done.add(unit)

    for unit in sorted(allowed):
        visit(unit, ())
    assert set().union(*allowed.values()) <= set(allowed), "a 'May import' names no part of vist"
