"""Progress bars: plain-text tqdm (no ipywidgets needed in notebooks), shown when a caller asks for
one and the environment does not switch them off.

tqdm reads ``TQDM_DISABLE`` (and the other ``TQDM_*`` variables) only for arguments not passed
explicitly; :func:`progress` therefore passes ``disable`` only to hide a bar, so that
``TQDM_DISABLE=1`` (set by ``tools/book``) keeps every bar out of the rendered chapters.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tqdm.std import tqdm


def progress(iterable: Iterable[Any] | None = None, *, show: bool = True, **kwargs: Any) -> tqdm:
    """A ``tqdm`` bar over ``iterable`` (or a manual one with ``total=``): hidden when ``show`` is
    false or ``TQDM_DISABLE`` is set; ``kwargs`` go to tqdm (``desc``, ``unit``, ``mininterval`` …)."""
    if "disable" in kwargs:
        raise TypeError("progress: pass show=False to hide the bar, not disable= (which would override "
                        "TQDM_DISABLE)")
    if not show:
        kwargs["disable"] = True
    return tqdm(iterable, **kwargs)
