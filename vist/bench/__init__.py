"""Benchmark commands: ``python -m vist.bench NAME [options]``.

Each benchmark lives in a module of this package exposing ``run(**options) -> BenchTable`` and
``add_arguments(parser)``; the command prints the table (medians, device named) and can save it
as JSON with ``--save PATH``. Chapters call the same ``run`` and show the table.

May import: vist.cache, vist.data, vist.env, vist.kernels, vist.losses, vist.metrics, vist.model,
vist.plots, vist.presets, vist.prior, vist.report, vist.train (it sits on top: nothing of vist
imports it).
"""

from vist.bench.common import BenchTable, median_time

__all__ = ["BenchTable", "median_time"]
