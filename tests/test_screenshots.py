"""tools/screenshots.py fails on what a reader would see broken: a page wider than the window, an
output cut off or sticking out of the text column, an image that did not load; it passes a page
that fits. Needs Debian's Chromium (skipped where it is not installed)."""

from __future__ import annotations

import base64
import importlib.util
import sys
from pathlib import Path

import pytest

pytest.importorskip("playwright.sync_api")
TOOL = Path(__file__).resolve().parents[1] / "tools" / "screenshots.py"
spec = importlib.util.spec_from_file_location("screenshots", TOOL)
screenshots = importlib.util.module_from_spec(spec)
sys.modules["screenshots"] = screenshots  # dataclasses look their module up
spec.loader.exec_module(screenshots)
if not Path(screenshots.CHROMIUM).exists():
    pytest.skip(f"no Chromium at {screenshots.CHROMIUM}", allow_module_level=True)

# a 1×1 PNG
PIXEL = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005"
    "0001ff5e3a6b0e0000000049454e44ae426082")).decode()


def page(body: str) -> str:
    return (f"<html><body style='margin:0'><main><article class='bd-article' style='width:700px'>{body}"
            f"</article></main></body></html>")


@pytest.fixture
def book(tmp_path):
    html = tmp_path / "html"
    (html / "book").mkdir(parents=True)
    cells = "".join(f"<td>{i:06d}</td>" for i in range(60))
    (html / "book" / "01_fine.html").write_text(page(
        f"<p>prose</p><img src='data:image/png;base64,{PIXEL}' width='600'>"
        "<div class='cell_input'><pre style='overflow:auto'>" + "x" * 400 + "</pre></div>"))
    (html / "book" / "02_wide_table.html").write_text(page(
        f"<div class='cell_output' style='overflow:auto'><div><table><tr>{cells}</tr></table></div></div>"))
    (html / "book" / "03_page_overflow.html").write_text(page("<div style='width:3000px'>wide</div>"))
    (html / "book" / "04_broken_image.html").write_text(page("<img src='missing.png' alt='rates'>"))
    (html / "book" / "05_cut_off_print.html").write_text(page(
        "<div class='cell_output'><pre style='overflow:auto'>" + "y" * 400 + "</pre></div>"))
    return html


def test_each_kind_of_breakage_is_named_and_a_fitting_page_passes(book, tmp_path):
    out = tmp_path / "shots"
    reports = {r.page: r for r in screenshots.check_pages(screenshots.chapter_pages(book), out)}
    assert reports["01_fine.html"].problems == []
    assert any("code input scrolls" in n for n in reports["01_fine.html"].notes)
    assert any("cut off" in p and "000000" in p for p in reports["02_wide_table.html"].problems)
    assert any("page scrolls sideways" in p for p in reports["03_page_overflow.html"].problems)
    assert any("image did not load" in p and "rates" in p for p in reports["04_broken_image.html"].problems)
    assert any("cut off" in p and "pre" in p for p in reports["05_cut_off_print.html"].problems)
    for name in reports:
        shot = out / name.replace(".html", ".png")
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_main_exits_1_on_problems_and_0_when_all_fit(book, tmp_path, capsys):
    assert screenshots.main(["--html", str(book), "--out", str(tmp_path / "a")]) == 1
    assert "FAIL" in capsys.readouterr().out
    for p in (book / "book").glob("0[2-5]_*.html"):
        p.unlink()
    assert screenshots.main(["--html", str(book), "--out", str(tmp_path / "b")]) == 0


def test_no_pages_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="book/NN_.*tools/book"):
        screenshots.chapter_pages(tmp_path)


def test_a_wide_table_in_a_collapsed_section_is_allowed(tmp_path):
    html = tmp_path / "html"
    (html / "book").mkdir(parents=True)
    cells = "".join(f"<td>{i:06d}</td>" for i in range(60))
    (html / "book" / "01_collapsed.html").write_text(page(
        f"<details><summary>all rows</summary><div class='cell_output' style='overflow:auto'>"
        f"<div><table><tr>{cells}</tr></table></div></div></details>"))
    (report,) = screenshots.check_pages(screenshots.chapter_pages(html), tmp_path / "shots")
    assert report.problems == []
