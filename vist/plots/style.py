"""The book's look: one figure style, figures with a caption under them, tables for readers.

Every chapter calls :func:`book_style` once, shows each figure with ``show(fig, caption)`` and each
table with ``table(df, caption)``; the caption names the data, prior and preset (:func:`source`).

Sizes are chosen for the rendered book: its text column is about ``COLUMN_INCHES × DPI`` = 720 CSS
pixels wide, a figure is drawn at ``DPI`` pixels per inch (and stored at twice that, for high-density
screens), so a font of ``n`` points in matplotlib is ``n`` points on the page as long as the figure
is no wider than the column — :func:`show` narrows wider figures to the column before drawing them.
"""

from __future__ import annotations

import base64
import html
import io
import struct
import warnings
from collections.abc import Mapping
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from tqdm.std import TqdmWarning

from vist.data import describe

COLUMN_INCHES = 7.2
"""Width of the book's text column at ``DPI`` (inches); wider figures are narrowed to it."""
DPI = 100
"""CSS pixels per figure inch (matplotlib's ``figure.dpi`` inline)."""
RETINA = 2
"""Stored pixels per CSS pixel (sharp on high-density screens)."""
FONT_SCALE = 0.85
"""Seaborn's "notebook" context scaled to a base font of about 10 pt at the column width; tick
labels and legends are drawn at the base size too (:func:`book_style`)."""

KNOWN_WARNINGS: tuple[tuple[str, type[Warning]], ...] = (
    # matplotlib, when a figure is too crowded for tight_layout: the figure is still drawn.
    (r"Tight layout not applied", UserWarning),
    (r"The figure layout has changed to tight", UserWarning),
    # tqdm.autonotebook, imported by huggingface_hub (which timm imports) inside a kernel without
    # ipywidgets; the book's own bars are plain text (vist.progress) and TQDM_DISABLE hides them.
    (r"IProgress not found", TqdmWarning),
)
"""``(message regex, category)`` of the warnings the book does not show: each is harmless here."""


def book_style(context: str = "notebook", font_scale: float = FONT_SCALE) -> None:
    """Set the style of every figure in the book (call once at the top of a chapter).

    Seaborn's theme (``context`` "notebook" or "paper", white grid), font sizes ≥ 9 pt at the
    rendered size with tick labels, legends and titles at the base font size (``font.size``,
    about 10 pt), ``DPI`` inline and high-density ("retina") inline images inside IPython, and
    only :data:`KNOWN_WARNINGS` silenced.

    Raises:
        ValueError: ``context`` is not "notebook" or "paper".
    """
    if context not in ("notebook", "paper"):
        raise ValueError(f"context: expected 'notebook' or 'paper', found {context!r}")
    if context == "paper":  # seaborn's paper context is 0.8 × notebook: keep the smallest text ≥ 9 pt
        font_scale = max(font_scale, FONT_SCALE / 0.8)
    sns.set_theme(context=context, style="whitegrid", font_scale=font_scale)
    base = plt.rcParams["font.size"]
    plt.rcParams.update({
        "xtick.labelsize": base,
        "ytick.labelsize": base,
        "legend.fontsize": base,
        "legend.title_fontsize": base,
        "figure.dpi": DPI,
        "savefig.dpi": DPI * RETINA,
        "figure.figsize": (COLUMN_INCHES * 0.85, 3.4),
        "axes.titlesize": plt.rcParams["axes.labelsize"],
        "figure.titlesize": plt.rcParams["axes.labelsize"],
        "legend.framealpha": 0.8,
    })
    for message, category in KNOWN_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category)
    ip = _ipython()
    if ip is not None and getattr(ip, "kernel", None) is not None:
        from matplotlib_inline.backend_inline import set_matplotlib_formats  # lazy: kernel only

        set_matplotlib_formats("retina")


def source(data: Any = None, prior: Any = None, preset: Any = None, **more: Any) -> str:
    """``"data: … · prior: … · preset: …"``, the line each caption carries.

    Each argument may be a string, or an object the book already has: a ``Recording`` (its
    description), a prior (its ``label``), a run or anything with a ``labels`` mapping (its data,
    prior and preset, used for the arguments not given), or a preset (its ``name``). ``more``
    adds further ``key: value`` parts (e.g. ``device=``), in order. ``None`` parts are left out.
    """
    parts: dict[str, Any] = {"data": data, "prior": prior, "preset": preset}
    for value in (data, prior, preset):
        labels = getattr(value, "labels", None)
        if isinstance(labels, Mapping):
            for key in parts:
                if parts[key] is value or parts[key] is None:
                    parts[key] = labels.get(key)
    parts.update(more)
    return " · ".join(f"{k}: {_text(v)}" for k, v in parts.items() if v is not None)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if hasattr(value, "frames") and hasattr(value, "meta"):  # a Recording
        return describe(value)
    for attr in ("label", "name"):
        if isinstance(getattr(value, attr, None), str):
            return getattr(value, attr)
    return str(value)


def fit_column(fig: Figure, width: float = COLUMN_INCHES) -> Figure:
    """Narrow ``fig`` to ``width`` inches if it is wider (height kept) and lay it out again."""
    if fig.get_figwidth() > width + 1e-6:
        fig.set_figwidth(width)
        if fig.get_layout_engine() is None:
            with warnings.catch_warnings():
                for message, category in KNOWN_WARNINGS:
                    warnings.filterwarnings("ignore", message=message, category=category)
                fig.tight_layout()
    return fig


def figure_html(fig: Figure, caption: str) -> str:
    """``fig`` as an HTML ``<figure>``: a PNG at ``RETINA × DPI``, shown ``DPI`` px per inch (at most
    the column's width), with ``caption`` under it."""
    if not caption or not caption.strip():
        raise ValueError("caption: expected the text under the figure (what it shows, on which data, "
                         "prior and preset), found an empty string")
    fit_column(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI * RETINA, bbox_inches="tight", facecolor="white")
    png = buf.getvalue()
    width, height = struct.unpack(">II", png[16:24])  # the PNG header's IHDR chunk
    data = base64.b64encode(png).decode("ascii")
    text = html.escape(caption)
    return (f'<figure class="vist-figure" style="margin: 0.5em 0 1.5em 0; max-width: 100%;">'
            f'<img src="data:image/png;base64,{data}" width="{round(width / RETINA)}" '
            f'height="{round(height / RETINA)}" alt="{text}" style="max-width: 100%; height: auto;">'
            f'<figcaption style="font-size: 0.9em; color: #444; margin-top: 0.3em;">{text}</figcaption>'
            f"</figure>")


def show(fig: Figure, caption: str) -> None:
    """Display ``fig`` with ``caption`` under it (HTML ``<figure>``/``<figcaption>``, rendered alike in
    JupyterLab and the HTML book) and close it, so it is not shown a second time. Outside IPython
    the figure is only closed."""
    markup = figure_html(fig, caption)
    plt.close(fig)
    if _ipython() is not None:
        from IPython.display import HTML, display  # lazy: IPython, not required

        display(HTML(markup))


TITLES: dict[str, str] = {
    # vist.metrics.Scores fields, as the chapters label them
    "cc": "CC (signed mean, headline)",
    "cc_abs": "CC (mean |r|, authors' logs)",
    "cc_positive": "CC (mean of r>0, authors' prediction code)",
    "cells_undefined": "cells with undefined r",
    "cells_without_ceiling": "cells without a usable ceiling",
}
"""Column (or score) key → the title a chapter shows for it; keys not listed are shown as they are.
Data keys are snake_case everywhere else; only a table shown to readers uses these titles."""


def titled(df: pd.DataFrame, titles: Mapping[str, str] | None = None) -> pd.DataFrame:
    """``df`` with its columns retitled by :data:`TITLES` (then ``titles``, for a chapter's own)."""
    return df.rename(columns={**TITLES, **(titles or {})})


def table(df: pd.DataFrame, caption: str, precision: int = 3,
          formats: Mapping[str, str] | None = None, max_columns: int = 8) -> Any:
    """``df`` for readers: index hidden, floats to ``precision`` digits (``formats`` per column, e.g.
    ``{"ms": "{:.1f}"}``), missing values as "–", ``caption`` under it.

    Raises:
        ValueError: more than ``max_columns`` columns (a page column fits about 8), or no caption.
    """
    if df.shape[1] > max_columns:
        raise ValueError(f"table: expected at most {max_columns} columns to fit the page, found "
                         f"{df.shape[1]} ({list(df.columns)}); split the table or move columns into "
                         "the caption")
    if not caption or not caption.strip():
        raise ValueError("caption: expected the text under the table, found an empty string")
    styler = df.style.hide(axis="index").format(precision=precision, na_rep="–", thousands=None)
    if formats:  # only these columns: a dict alone would reset the others to pandas' 6 digits
        styler = styler.format(dict(formats), subset=list(formats), na_rep="–")
    return (styler.set_caption(html.escape(caption))
            .set_table_styles([{"selector": "caption",
                                "props": "caption-side: bottom; font-size: 0.9em; color: #444; "
                                         "text-align: left; padding-top: 0.3em;"},
                               {"selector": "", "props": "font-size: 0.9em;"},
                               # air between columns: numbers of neighbouring columns do not touch
                               {"selector": "th, td", "props": "padding: 0.2em 0.5em;"}]))


def _ipython() -> Any:
    try:
        from IPython import get_ipython  # lazy: present wherever the book runs, not required
    except ImportError:
        return None
    return get_ipython()
