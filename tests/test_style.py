"""The book's figure style, captions and reader tables (vist.plots.style)."""

from __future__ import annotations

import base64
import re
import struct
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.font_manager import FontProperties  # noqa: E402

from vist.plots import style  # noqa: E402
from vist.report import book_style, figure_html, source, table  # noqa: E402


@pytest.fixture(autouse=True)
def _restore_rc():
    with matplotlib.rc_context(), warnings.catch_warnings():
        yield
    plt.close("all")


@pytest.mark.parametrize("context", ["notebook", "paper"])
def test_book_style_text_is_at_least_9_points_and_100_dpi(context):
    book_style(context)
    rc = plt.rcParams
    for key in ("axes.labelsize", "axes.titlesize", "xtick.labelsize", "ytick.labelsize", "legend.fontsize",
                "figure.titlesize"):
        size = FontProperties(size=rc[key]).get_size_in_points()
        assert size >= 9, f"{key} = {size} pt with context {context}"
    for key in ("xtick.labelsize", "ytick.labelsize", "legend.fontsize", "legend.title_fontsize"):
        assert FontProperties(size=rc[key]).get_size_in_points() >= rc["font.size"], key
    assert rc["figure.dpi"] >= 100
    assert rc["savefig.dpi"] >= 200


def test_book_style_rejects_unknown_context():
    with pytest.raises(ValueError, match="'notebook' or 'paper'.*'talkative'"):
        book_style("talkative")


def test_book_style_silences_only_the_named_warnings():
    book_style()
    with warnings.catch_warnings(record=True) as caught:
        warnings.warn("Tight layout not applied. tight_layout cannot make axes width small enough",
                      UserWarning, stacklevel=1)
        warnings.warn("something else went wrong", UserWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == ["something else went wrong"]


def _png_of(markup: str) -> bytes:
    data = re.search(r'src="data:image/png;base64,([^"]+)"', markup).group(1)
    return base64.b64decode(data)


def test_figure_html_has_the_caption_under_a_retina_png_no_wider_than_the_column():
    book_style()
    fig, ax = plt.subplots(figsize=(14, 3))  # wider than the column: narrowed to it
    ax.plot(np.arange(10), np.arange(10) ** 2)
    ax.set_xlabel("time (s)")
    markup = figure_html(fig, "rates <of> cells — data: x · prior: y · preset: z")
    assert markup.index("<img") < markup.index("<figcaption")  # the caption is under the figure
    assert "rates &lt;of&gt; cells — data: x · prior: y · preset: z</figcaption>" in markup
    png = _png_of(markup)
    width, height = struct.unpack(">II", png[16:24])
    css_width = int(re.search(r'width="(\d+)"', markup).group(1))
    assert css_width == round(width / style.RETINA)
    assert css_width <= style.COLUMN_INCHES * style.DPI + 1
    assert css_width >= 0.9 * style.COLUMN_INCHES * style.DPI  # bbox "tight" trims only the margins
    assert fig.get_figwidth() == pytest.approx(style.COLUMN_INCHES)


def test_figure_html_needs_a_caption():
    fig, _ = plt.subplots()
    with pytest.raises(ValueError, match="caption"):
        figure_html(fig, "  ")


def test_show_closes_the_figure_so_it_is_not_drawn_twice():
    fig, _ = plt.subplots()
    style.show(fig, "a caption")
    assert not plt.fignum_exists(fig.number)


class _Rec:
    frames = np.zeros((1, 2, 2))
    meta = {"description": "virtual retina, movie 1"}
    name, source = "mov1", "synthetic"


class _Prior:
    label = "DINOv2 ViT-S/14, untrained"


class _Run:
    labels = {"data": "virtual retina → mov2", "prior": "DINOv2 ViT-L/14", "preset": "small"}


def test_source_reads_the_objects_the_chapters_have():
    assert source(_Rec(), _Prior(), "small") == \
        "data: virtual retina, movie 1 · prior: DINOv2 ViT-S/14, untrained · preset: small"
    assert source(_Run()) == "data: virtual retina → mov2 · prior: DINOv2 ViT-L/14 · preset: small"
    assert source(_Run(), preset="paper", device="cpu") == \
        "data: virtual retina → mov2 · prior: DINOv2 ViT-L/14 · preset: paper · device: cpu"
    assert source("synthetic") == "data: synthetic"


def test_table_formats_hides_the_index_and_captions():
    df = pd.DataFrame({"kernel": ["a", "b"], "median ms": [1.23456, np.nan], "speed-up": [2.0, 10.5]})
    out = table(df, "CPU kernels · 2 cores", precision=2, formats={"speed-up": "{:.1f}×"}).to_html()
    assert "1.23" in out and "1.2346" not in out
    assert "10.5×" in out and "–" in out
    assert "CPU kernels · 2 cores" in out
    assert "caption-side: bottom" in out
    assert ">0<" not in out and ">1<" not in out  # no index column


def test_table_keeps_the_precision_of_columns_without_a_format():
    df = pd.DataFrame({"model": ["a"], "cc": [0.123456789], "range": [0.0123456], "steps": [240]})
    out = table(df, "caption", precision=3, formats={"steps": "{:d}"}).to_html()
    assert ">0.123<" in out and ">0.012<" in out and ">240<" in out
    assert "0.123457" not in out and "0.012346" not in out


def test_table_refuses_more_columns_than_the_page_fits():
    wide = pd.DataFrame(np.zeros((2, 9)), columns=[f"c{i}" for i in range(9)])
    with pytest.raises(ValueError, match="at most 8 columns.*found 9"):
        table(wide, "too wide")


def test_titled_applies_the_display_titles_and_a_chapters_own():
    from vist.report import TITLES, titled

    df = pd.DataFrame({"cc": [0.1], "sd_kl": [2.0], "seeds": [3]})
    out = titled(df, {"seeds": "seeds run"})
    assert list(out.columns) == [TITLES["cc"], "sd_kl", "seeds run"]
    assert list(df.columns) == ["cc", "sd_kl", "seeds"]  # the data frame keeps its keys
