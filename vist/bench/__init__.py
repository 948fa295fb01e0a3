"""Benchmark commands: ``python -m vist.bench NAME [options]``.

Each benchmark lives in a module of this package exposing ``run(**options) -> BenchTable`` and
``add_arguments(parser)``; the command prints the table (medians, device named) and can save it
as JSON with ``--save PATH``. Chapters call the same ``run`` and show the table.
"""

from vist.bench.common import BenchTable, median_time

__all__ = ["BenchTable", "median_time"]
