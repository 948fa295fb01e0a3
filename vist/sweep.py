"""Re-execute one chapter for several parameter sets and gather its published tables.

    python -m vist.sweep book/07_generalization.py --table generalization \\
        --set train_movie=mov1 test_movie=mov2 --set train_movie=mov2 test_movie=mov1 \\
        --out sweeps/generalization

Each ``--set`` is one execution (``NAME=VALUE`` pairs, values parsed as Python literals when they
can be, else kept as strings). ``--grid NAME=V1,V2`` adds every combination. Each execution runs
``jupytext --to ipynb`` piped into ``papermill`` (as the README shows by hand), with
``VIST_REPORT_DIR`` pointing at its own folder; the chapter's published table (``vist.report``)
is read back, the parameters are added as columns, and all rows are written to
``<out>/<table>.csv`` and printed.
"""

from __future__ import annotations

import argparse
import ast
import itertools
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from vist.report import REPORT_ENV, read


def _value(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parameter_sets(sets: list[list[str]], grid: list[str]) -> list[dict[str, Any]]:
    """The executions asked for: each ``--set`` as is, times the combinations of ``--grid``."""
    base = [dict(_pair(p) for p in s) for s in sets] or [{}]
    axes = [(name, [_value(v) for v in values.split(",")]) for name, values in
            (g.split("=", 1) for g in grid)]
    out = []
    for b in base:
        for combo in itertools.product(*[vals for _, vals in axes]):
            out.append({**b, **{name: v for (name, _), v in zip(axes, combo, strict=True)}})
    return out


def _pair(text: str) -> tuple[str, Any]:
    if "=" not in text:
        raise ValueError(f"expected NAME=VALUE, found {text!r}")
    name, value = text.split("=", 1)
    return name, _value(value)


def execute(chapter: Path, params: dict[str, Any], folder: Path) -> Path:
    """Run ``chapter`` with ``params`` through jupytext | papermill; the executed notebook's path."""
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{chapter.stem}.ipynb"
    bindir = Path(sys.executable).parent
    args = [str(bindir / "papermill"), "-", str(out), "--cwd", str(chapter.parent)]
    for k, v in params.items():  # papermill -p turns "None", "True", "3", "0.5" into Python values
        args += ["-p", k, str(v)]
    env = {**os.environ, REPORT_ENV: str(folder)}
    nb = subprocess.run([str(bindir / "jupytext"), "--to", "ipynb", "--output", "-", str(chapter)],
                        check=True, capture_output=True)
    subprocess.run(args, input=nb.stdout, check=True, env=env)
    return out


def main(argv: list[str] | None = None) -> int:
    import pandas as pd

    p = argparse.ArgumentParser(prog="python -m vist.sweep", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("chapter", type=Path)
    p.add_argument("--table", required=True, help="name of the table the chapter publishes")
    p.add_argument("--set", action="append", nargs="+", default=[], metavar="NAME=VALUE")
    p.add_argument("--grid", action="append", default=[], metavar="NAME=V1,V2")
    p.add_argument("--out", type=Path, default=Path("sweeps"))
    a = p.parse_args(argv)
    if not a.chapter.exists():
        p.error(f"chapter: expected a book/NN_name.py file, found nothing at {a.chapter}")
    rows = []
    for i, params in enumerate(parameter_sets(a.set, a.grid)):
        folder = a.out / f"{i:02d}"
        print(f"[{i}] {a.chapter.name} with {params}", flush=True)
        execute(a.chapter.resolve(), params, folder.resolve())
        rows += [{**{f"param:{k}": v for k, v in params.items()}, **r} for r in read(folder, a.table)]
    table = pd.DataFrame(rows)
    a.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(a.out / f"{a.table}.csv", index=False)
    print(table.to_string())
    print(f"written to {a.out / (a.table + '.csv')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
