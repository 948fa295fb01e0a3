"""Look at the built book as a reader would: a full-page screenshot of every chapter page, and a
failure for what a reader would see broken.

    .venv/bin/python tools/screenshots.py [--html _build/html] [--out _build/screenshots]

Opens each chapter page (``book/NN_name.html``) of the built HTML in headless Chromium (Debian's
``/usr/bin/chromium``, driven by playwright; no browser is downloaded), saves
``OUT/NN_name.png`` and exits 1, naming page and element, when

* the page is wider than the window (horizontal scrolling of the whole page);
* an element of the chapter's text column sticks out of it on the right, or a visible output
  (printed text, table, figure) is cut off inside a scrolling box — tables and printed lines must
  fit (collapsed sections, opened only on request, may hold wide machine tables);
* an image did not load (``naturalWidth == 0``).

Code cells' input may scroll sideways (that is how code is shown); they are listed, not failed.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1280, "height": 900}

# Runs in the page: what is too wide, what did not load. Elements are named by tag, id/classes and
# the start of their text, so that a failure says where to look.
CHECK = """
() => {
  const name = (el) => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += '#' + el.id;
    const cls = (el.getAttribute('class') || '').trim().split(/\\s+/).filter(Boolean).slice(0, 3);
    if (cls.length) s += '.' + cls.join('.');
    const text = (el.innerText || el.getAttribute('alt') || '').trim().replace(/\\s+/g, ' ').slice(0, 60);
    return text ? `${s} "${text}"` : s;
  };
  const doc = document.documentElement;
  const out = {page: null, sticking_out: [], cut_off: [], code_scrolls: [], images: []};
  if (doc.scrollWidth > window.innerWidth) out.page = `${doc.scrollWidth} px > window ${window.innerWidth} px`;
  const column = document.querySelector('article.bd-article') || document.querySelector('main') || document.body;
  const right = column.getBoundingClientRect().right;
  const flagged = new Set(), clipped = new Set();  // report the outermost element only
  for (const el of column.querySelectorAll('*')) {
    const p = el.parentElement;
    if (flagged.has(p)) { flagged.add(el); continue; }
    if (clipped.has(p)) { clipped.add(el); continue; }  // inside a scrolling box: see cut_off
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > right + 1 && el.closest('.MathJax, mjx-container') === null) {
      flagged.add(el);
      out.sticking_out.push(`${name(el)}: right edge ${Math.round(r.right)} px > column ${Math.round(right)} px`);
    }
    if (getComputedStyle(el).overflowX !== 'visible') clipped.add(el);
  }
  for (const el of column.querySelectorAll('pre, table, .output, .cell_output > div, figure, .table-wrapper')) {
    if (el.scrollWidth <= el.clientWidth + 1) continue;
    if (!el.checkVisibility()) continue;  // in a collapsed section: shown only on request
    const msg = `${name(el)}: ${el.scrollWidth} px of content in ${el.clientWidth} px`;
    if (el.closest('.cell_input')) out.code_scrolls.push(msg); else out.cut_off.push(msg);
  }
  for (const img of document.images)
    if (!img.complete || img.naturalWidth === 0) out.images.push(name(img) + ' ' + (img.currentSrc || img.src).slice(0, 80));
  return out;
}
"""


@dataclass
class PageReport:
    """What one page shows a reader: its screenshot and the problems found (empty: fine)."""

    page: str
    screenshot: Path
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def chapter_pages(html: Path) -> list[Path]:
    """The chapter pages of a built book, ``book/NN_name.html``, in order.

    Raises:
        FileNotFoundError: no chapter page under ``html`` (the book was not built there).
    """
    pages = sorted((html / "book").glob("[0-9][0-9]_*.html"))
    if not pages:
        raise FileNotFoundError(f"expected chapter pages book/NN_*.html under {html}, found none; "
                                "build the book first (bash tools/book)")
    return pages


def check_pages(pages: list[Path], out: Path, chromium: str = CHROMIUM) -> list[PageReport]:
    """Screenshot every page into ``out/<page stem>.png`` and report what is too wide or missing."""
    # playwright comes with the book extra; only this tool needs it
    from playwright.sync_api import sync_playwright

    if not Path(chromium).exists():
        raise FileNotFoundError(f"expected Chromium at {chromium}; install Debian's package: apt-get install -y chromium")
    out.mkdir(parents=True, exist_ok=True)
    reports = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=FLAGS)
        page = browser.new_page(viewport=VIEWPORT)
        for path in pages:
            page.goto(path.resolve().as_uri(), wait_until="load")
            found = page.evaluate(CHECK)
            shot = out / f"{path.stem}.png"
            tmp = shot.with_suffix(".tmp.png")
            page.screenshot(path=str(tmp), full_page=True)
            tmp.replace(shot)
            report = PageReport(path.name, shot)
            if found["page"]:
                report.problems.append(f"the page scrolls sideways: {found['page']}")
            report.problems += [f"sticks out of the text column: {m}" for m in found["sticking_out"]]
            report.problems += [f"cut off (scrolls sideways): {m}" for m in found["cut_off"]]
            report.problems += [f"image did not load: {m}" for m in found["images"]]
            report.notes += [f"code input scrolls sideways: {m}" for m in found["code_scrolls"]]
            reports.append(report)
        browser.close()
    return reports


def main(argv: list[str] | None = None) -> int:
    root = Path(__file__).resolve().parents[1]
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--html", type=Path, default=root / "_build" / "html", help="the built book")
    ap.add_argument("--out", type=Path, default=root / "_build" / "screenshots", help="where the PNGs go")
    ap.add_argument("--chromium", default=CHROMIUM, help="the Chromium executable")
    args = ap.parse_args(argv)
    reports = check_pages(chapter_pages(args.html), args.out, args.chromium)
    failed = 0
    for r in reports:
        print(f"{r.page}: {'ok' if not r.problems else f'{len(r.problems)} problem(s)'} -> {r.screenshot}")
        for m in r.problems[:20]:
            print(f"  FAIL {m}")
        if len(r.problems) > 20:
            print(f"  … and {len(r.problems) - 20} more")
        for m in r.notes[:5]:
            print(f"  note {m}")
        failed += bool(r.problems)
    print(f"{len(reports)} pages, {failed} with problems; screenshots in {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
