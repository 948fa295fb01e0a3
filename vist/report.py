"""Tables a chapter publishes, so that a sweep over parameter sets can gather them.

A chapter ends with ``publish(table, "name")``: it returns the table for display and, when the
environment variable ``VIST_REPORT_DIR`` is set (as ``python -m vist.sweep`` does for each
execution), also writes it there as ``name.json``.

The book's look — :func:`book_style`, ``show(fig, caption)``, ``table(df, caption)``, the caption
line :func:`source` and the display titles of data keys (:data:`TITLES`, :func:`titled`) — lives in :mod:`vist.plots.style` and is re-exported here.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from vist.cache import write_json_atomic
from vist.plots.style import TITLES, book_style, figure_html, show, source, table, titled

__all__ = ["REPORT_ENV", "TITLES", "book_style", "figure_html", "publish", "read", "show", "source", "table",
           "titled"]

REPORT_ENV = "VIST_REPORT_DIR"


def publish(table: Any, name: str) -> Any:
    """Write ``table`` (a pandas DataFrame or a list of row dicts) to ``$VIST_REPORT_DIR/name.json``
    if that variable is set; return ``table`` unchanged."""
    folder = os.environ.get(REPORT_ENV)
    if folder:
        rows = table.to_dict(orient="records") if hasattr(table, "to_dict") else list(table)
        path = Path(folder) / f"{name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(path, rows, indent=1, default=str)  # strict JSON: NaN written as null
    return table


def read(folder: str | os.PathLike[str], name: str) -> list[dict[str, Any]]:
    """The rows a chapter published under ``name`` in ``folder``."""
    path = Path(folder) / f"{name}.json"
    if not path.exists():
        raise FileNotFoundError(f"expected a published table {name!r} at {path}; the chapter did not publish it")
    return json.loads(path.read_text())
