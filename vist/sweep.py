"""Re-execute one chapter for several parameter sets, on Dask, and gather its published tables.

    python -m vist.sweep book/07_generalization.py --table generalization \\
        --set train_movie=mov1 test_movie=mov2 --set train_movie=mov2 test_movie=mov1 \\
        --out sweeps/generalization --workers 2

Each ``--set`` is one execution (``NAME=VALUE`` pairs, values parsed as Python literals when they
can be, else kept as strings). ``--grid NAME=V1,V2`` adds every combination. Every name must be
one the chapter's ``parameters`` cell assigns; anything else is refused before anything runs.

Each execution is one Dask task: ``jupytext --to ipynb`` piped into ``papermill`` (as the README
shows by hand), run in its own, emptied folder ``<out>/<NN>/`` with ``VIST_REPORT_DIR`` pointing
there, so it reads back only the table it published itself (``vist.report``). The cache and
results stores (``VIST_CACHE_DIR``, ``VIST_RESULTS_DIR``) are shared as in a single execution:
the values set where the sweep is started are passed on to every task. Tasks run on a
``dask.distributed.LocalCluster`` of ``--workers N`` processes (default 1: one after another),
or on a running cluster with ``--scheduler ADDRESS`` (its workers must see the chapter and
``--out`` at the same paths, e.g. on a shared file system). A failed execution is retried once,
then reported with its notebook and log. When all succeed, the rows (the parameters as
``param:NAME`` columns) are written atomically to ``<out>/<table>.csv`` and ``.parquet`` and
printed; a sweep with a failure writes no table, and a previous sweep's table is removed first.
"""

from __future__ import annotations

import argparse
import ast
import itertools
import keyword
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from vist.cache import atomic_path, dumps_strict
from vist.report import REPORT_ENV, read

PASSED_ENV = ("VIST_CACHE_DIR", "VIST_RESULTS_DIR", "XDG_CACHE_HOME", "TQDM_DISABLE")
"""Environment variables of the submitting process that every execution gets, wherever it runs."""

PAPERMILL_WARNING = "the file is not specified with any extension"
"""papermill warns so for the ``-`` (stdin) input on every run; the pipe gives it a notebook."""


class SweepError(RuntimeError):
    """One or more executions failed (after their retry); the message names their notebooks."""


class ExecutionError(RuntimeError):
    """One execution failed; the message names the chapter, the parameters, notebook and log."""


def _value(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _name(name: str, text: str) -> str:
    if not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f"expected NAME=VALUE with NAME a Python identifier, found {text!r}")
    return name


def _pair(text: str) -> tuple[str, Any]:
    if "=" not in text:
        raise ValueError(f"expected NAME=VALUE, found {text!r}")
    name, value = text.split("=", 1)
    return _name(name, text), _value(value)


def parameter_sets(sets: list[list[str]], grid: list[str]) -> list[dict[str, Any]]:
    """The executions asked for: each ``--set`` as is, times the combinations of ``--grid``.

    Raises:
        ValueError: a pair is not ``NAME=VALUE`` (with ``NAME`` an identifier), or a grid has
            no values.
    """
    base = [dict(_pair(p) for p in s) for s in sets] or [{}]
    axes = []
    for g in grid:
        if "=" not in g:
            raise ValueError(f"expected NAME=V1,V2,..., found {g!r}")
        name, values = g.split("=", 1)
        if not values:
            raise ValueError(f"expected NAME=V1,V2,... with at least one value, found {g!r}")
        axes.append((_name(name, g), [_value(v) for v in values.split(",")]))
    out = []
    for b in base:
        for combo in itertools.product(*[vals for _, vals in axes]):
            out.append({**b, **{name: v for (name, _), v in zip(axes, combo, strict=True)}})
    return out


def chapter_parameters(chapter: str | os.PathLike[str]) -> list[str]:
    """The names assigned in ``chapter``'s cell tagged ``parameters`` (the names papermill sets).

    Raises:
        ValueError: the chapter has no such cell, or more than one.
    """
    import jupytext  # lazy: optional (book and test extras)

    nb = jupytext.read(Path(chapter))
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    if len(cells) != 1:
        raise ValueError(f"{chapter}: expected one cell tagged 'parameters', found {len(cells)}")
    names: list[str] = []
    for node in ast.parse(cells[0].source).body:
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, ast.AnnAssign) else []
        names += [t.id for t in targets if isinstance(t, ast.Name) and t.id not in names]
    return names


def check_names(sets: Sequence[dict[str, Any]], known: Sequence[str], chapter: Any = "") -> None:
    """Raise ``ValueError`` naming every parameter in ``sets`` that is not in ``known``."""
    unknown = sorted({k for s in sets for k in s if k not in known})
    if unknown:
        raise ValueError(f"{chapter}: unknown parameter(s) {unknown}; its parameters cell "
                         f"assigns {list(known)}")


def execute(chapter: str | os.PathLike[str], params: dict[str, Any], folder: str | os.PathLike[str],
            table: str | None = None, env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Run ``chapter`` with ``params`` through jupytext | papermill in the emptied ``folder``.

    The executed notebook is ``folder/<chapter stem>.ipynb`` and papermill's output goes to
    ``folder/papermill.log``. Returns the rows the execution published as ``table`` (``[]``
    without a table).

    Raises:
        ExecutionError: jupytext or papermill failed, or the table was not published; the
            message names the notebook and the log.
    """
    chapter, folder = Path(chapter), Path(folder)
    if folder.exists():  # this execution reads only what it writes itself
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    out = folder / f"{chapter.stem}.ipynb"
    log = folder / "papermill.log"
    py = sys.executable
    args = [py, "-W", f"ignore:{PAPERMILL_WARNING}", "-m", "papermill", "-", str(out),
            "--cwd", str(chapter.parent), "--no-progress-bar"]
    for k, v in params.items():  # papermill -p turns "None", "True", "3", "0.5" into Python values
        args += ["-p", k, str(v)]
    run_env = {**os.environ, **(env or {}), REPORT_ENV: str(folder)}
    what = f"{chapter.name} with {params}"
    nb = subprocess.run([py, "-m", "jupytext", "--to", "ipynb", "--output", "-", str(chapter)],
                        capture_output=True, env=run_env)
    if nb.returncode:
        raise ExecutionError(f"{what}: jupytext failed (exit {nb.returncode}): "
                             f"{nb.stderr.decode(errors='replace')[-2000:]}")
    with open(log, "wb") as fh:
        done = subprocess.run(args, input=nb.stdout, stdout=fh, stderr=subprocess.STDOUT, env=run_env)
    if done.returncode:
        tail = log.read_text(errors="replace").strip().splitlines()[-15:]
        raise ExecutionError(f"{what} failed (papermill exit {done.returncode}); executed notebook "
                             f"{out}, log {log}:\n  " + "\n  ".join(tail))
    if table is None:
        return []
    try:
        return read(folder, table)
    except FileNotFoundError as err:
        raise ExecutionError(f"{what}: ran, but did not publish the table {table!r} "
                             f"(executed notebook {out})") from err


def _client(workers: int, scheduler: str | None):
    from dask.distributed import Client, LocalCluster  # lazy: dask.distributed, seconds to import

    if scheduler:
        return Client(scheduler), None
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           dashboard_address=None, silence_logs=logging.ERROR)
    return Client(cluster), cluster


def _progress_disabled() -> bool:
    return os.environ.get("TQDM_DISABLE", "").strip().lower() not in ("", "0", "false", "no")


def run_sweep(chapter: str | os.PathLike[str], table: str, sets: Sequence[dict[str, Any]],
              out: str | os.PathLike[str], workers: int = 1, scheduler: str | None = None):
    """Execute ``chapter`` once per parameter set on Dask and gather the published ``table``.

    Returns the gathered :class:`pandas.DataFrame` (also written to ``out/<table>.csv`` and
    ``out/<table>.parquet``).

    Raises:
        ValueError: a parameter name the chapter's parameters cell does not assign (before
            anything runs).
        SweepError: an execution failed after its retry; then no table is written.
    """
    from dask.distributed import as_completed  # lazy: dask.distributed, seconds to import

    check_names(sets, chapter_parameters(chapter), chapter)
    chapter, out = Path(chapter).resolve(), Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    for suffix in (".csv", ".parquet"):  # a failed sweep must not leave an old table behind
        (out / f"{table}{suffix}").unlink(missing_ok=True)
    env = {k: os.environ[k] for k in PASSED_ENV if k in os.environ}
    if scheduler is None and "OMP_NUM_THREADS" not in os.environ:  # share the cores, not oversubscribe
        env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // max(1, workers)))
    width = max(2, len(str(len(sets) - 1)))
    folders = [out / f"{i:0{width}d}" for i in range(len(sets))]
    client, cluster = _client(workers, scheduler)
    try:
        futures = {client.submit(execute, chapter, params, folder, table, env, retries=1, pure=False,
                                 key=f"vist-sweep-{chapter.stem}-{folder.name}-{os.getpid()}"): i
                   for i, (params, folder) in enumerate(zip(sets, folders, strict=True))}
        results: dict[int, list[dict[str, Any]]] = {}
        failures: list[str] = []
        bar = tqdm(total=len(futures), desc=f"{chapter.name} executions", unit="run",
                   disable=_progress_disabled(), file=sys.stderr)
        for fut in as_completed(futures):
            i = futures[fut]
            try:
                results[i] = fut.result()
            except Exception as err:  # the execution's own error, re-raised here by Dask
                failures.append(f"[{folders[i].name}] {err}")
                bar.write(f"failed: [{folders[i].name}] {chapter.name} with {sets[i]}; see {folders[i]}",
                          file=sys.stderr)
            bar.update(1)
        bar.close()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    if failures:
        raise SweepError(f"{len(failures)} of {len(sets)} executions of {chapter.name} failed "
                         f"(each tried twice); no table written:\n" + "\n".join(failures))
    rows = [{**{f"param:{k}": v for k, v in sets[i].items()}, **r}
            for i in range(len(sets)) for r in results[i]]
    frame = pd.DataFrame(rows)
    with atomic_path(out / f"{table}.csv") as tmp:
        frame.to_csv(tmp, index=False)
    with atomic_path(out / f"{table}.parquet") as tmp:
        _parquet_ready(frame).to_parquet(tmp, index=False)
    return frame


def _parquet_ready(frame):
    """``frame`` with each object column of mixed types (``None`` and ``3``, ``"mov1"``, lists)
    written as JSON text, which Parquet can hold; uniform columns stay as they are."""
    frame = frame.copy()
    for col in frame.columns:
        if frame[col].dtype != object:
            continue
        kinds = {type(v) for v in frame[col] if not (v is None or isinstance(v, float) and v != v)}
        if len(kinds) > 1 or kinds & {list, dict, tuple}:
            frame[col] = [None if v is None else v if isinstance(v, str) else
                          dumps_strict(v, default=str) for v in frame[col]]
    return frame


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m vist.sweep", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("chapter", type=Path)
    p.add_argument("--table", required=True, help="name of the table the chapter publishes")
    p.add_argument("--set", action="append", nargs="+", default=[], metavar="NAME=VALUE")
    p.add_argument("--grid", action="append", default=[], metavar="NAME=V1,V2")
    p.add_argument("--out", type=Path, default=Path("sweeps"))
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=1,
                       help="worker processes of a local Dask cluster (default 1)")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="a running Dask scheduler, e.g. tcp://10.0.0.1:8786 (then --workers "
                            "does not apply)")
    a = p.parse_args(argv)
    if not a.chapter.is_file():
        p.error(f"chapter: expected a book/NN_name.py file, found nothing at {a.chapter}")
    if a.workers < 1:
        p.error(f"--workers: expected a positive number of workers, found {a.workers}")
    try:
        sets = parameter_sets(a.set, a.grid)
        check_names(sets, chapter_parameters(a.chapter), a.chapter)
    except ValueError as err:
        p.error(str(err))
    try:
        table = run_sweep(a.chapter, a.table, sets, a.out, workers=a.workers, scheduler=a.scheduler)
    except SweepError as err:
        print(f"vist.sweep: {err}", file=sys.stderr)
        return 1
    print(table.to_string())
    print(f"written to {a.out / (a.table + '.csv')} and {a.out / (a.table + '.parquet')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
