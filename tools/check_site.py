"""Check that a built site (``_build/html``) is self-contained, so it works from any static host.

    python tools/check_site.py [_build/html]

Every ``.html`` file is read and each problem is printed as ``file:line: what``; the exit status
is 1 if there is any. Problems:

* a link (``href``, ``src``, ``srcset``, ``poster``, ``action``, ``data``, CSS ``url(...)``)
  that is a ``file:`` URL, a path from the host's root (``/x/...``: breaks when the site is
  served under a sub-path, e.g. GitHub Pages' ``/<repository>/``), or a relative path to a file
  the site does not have;
* an absolute file path anywhere in the page, text included (``/root/.cache/...`` printed by a
  chapter, a warning's ``/work/.../x.py:12``): one under a usual top-level folder (``/home``,
  ``/root``, ``/tmp``, ``/work``, ``/usr``, ...), a Windows ``C:\\Users\\...``, or one of the
  build machine's own folders (the repository, ``$HOME``, the temporary folder, Python's prefix).

``tools/book`` runs it after building.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Iterable
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

LINK_ATTRS = ("href", "src", "poster", "action", "data")
CSS_URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)'"\s]+))\s*\)""", re.I)
TOP = ("home", "root", "tmp", "work", "usr", "var", "opt", "mnt", "srv", "etc", "private", "Users",
       "Volumes", "proc", "nix", "scratch", "data", "gpfs", "lustre", "cluster")
# /top/... not preceded by a character that makes it part of a URL, a word or a relative path
ABS_PATH = re.compile(r"(?<![\w./:~%+=-])/(?:" + "|".join(TOP) + r")/[\w.~-]")
WIN_PATH = re.compile(r"\b[A-Za-z]:\\\\?(?:Users|Windows|Program Files|ProgramData)\b")
EXTERNAL = ("http:", "https:", "mailto:", "data:", "javascript:", "tel:", "ftp:", "about:", "blob:")


def machine_paths() -> list[str]:
    """This machine's folders that must not appear in a published page."""
    here = Path(__file__).resolve().parents[1]
    found = {str(here), str(Path.home()), tempfile.gettempdir(), sys.prefix, sys.base_prefix,
             os.environ.get("VIST_CACHE_DIR", ""), os.environ.get("VIST_RESULTS_DIR", "")}
    return sorted((p for p in found if len(p) > 1 and p != os.sep), key=len, reverse=True)


class _Links(HTMLParser):
    """Collects ``(line, attribute, url)`` of every link in the tags (and inline CSS) of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str, str]] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        line = self.getpos()[0]
        self._in_style = tag == "style"
        for name, value in attrs:
            if value is None:
                continue
            if name == "srcset":
                self.found += [(line, name, v.strip().split()[0]) for v in value.split(",") if v.strip()]
            elif name in LINK_ATTRS:
                self.found.append((line, name, value))
            elif name == "style":
                self._css(line, value)

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self._css(self.getpos()[0], data)

    def _css(self, line: int, css: str) -> None:
        for m in CSS_URL.finditer(css):
            self.found.append((line + css.count("\n", 0, m.start()), "url()",
                               next(g for g in m.groups() if g is not None)))


def _links(text: str) -> list[tuple[int, str, str]]:
    parser = _Links()
    parser.feed(text)
    parser.close()
    return parser.found


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def check_page(page: Path, root: Path, forbidden: Iterable[str] = ()) -> list[str]:
    """The problems of one page of the site under ``root`` (see the module docstring)."""
    text = page.read_text(encoding="utf-8", errors="replace")
    rel = page.relative_to(root)
    problems = []
    # the theme's Jinja templates copied into _static/ are not pages: their links are {{ ... }}
    links = [] if rel.parts[0] == "_static" else _links(text)
    reported: set[tuple[int, str]] = set()  # links already reported, not to be reported twice
    for line, attr, url in links:
        where = f"{rel}:{line}"
        low = url.strip().lower()
        if not low or low.startswith("#") or low.startswith(EXTERNAL) or low.startswith("//"):
            continue
        if low.startswith("file:"):
            problems.append(f"{where}: {attr} is a file: URL ({url})")
            reported.add((line, url))
            continue
        if re.match(r"^[a-z][a-z0-9+.-]*:", low):  # another scheme (e.g. vscode:): not ours
            continue
        path = unquote(urlsplit(url).path)
        if path.startswith("/"):
            problems.append(f"{where}: {attr} is a path from the host's root ({url}); expected a "
                            f"relative link")
            reported.add((line, url))
            continue
        if not path:
            continue
        target = (page.parent / path).resolve()
        if target.is_dir():
            target = target / "index.html"
        try:
            target.relative_to(root.resolve())
        except ValueError:
            problems.append(f"{where}: {attr} points outside the site ({url})")
            continue
        if not target.exists():
            problems.append(f"{where}: {attr} points to a file the site does not have ({url})")
    for pattern in (ABS_PATH, WIN_PATH):
        for m in pattern.finditer(text):
            line = _line(text, m.start())
            path = text[m.start():][:re.search(r"[\s\"'<>)\],;]|$", text[m.start():]).start()]
            if (line, path) not in reported:
                problems.append(f"{rel}:{line}: an absolute file path ({path[:120]})")
    for folder in forbidden:
        for m in re.finditer(r"(?<![\w./:~%+=-])" + re.escape(folder) + r"(?=$|[/\\\s\"'<>)\],;:])", text):
            if not ABS_PATH.match(text, m.start()):  # else reported above
                problems.append(f"{rel}:{_line(text, m.start())}: a path of the build machine ({folder})")
    return problems


def check_site(root: str | os.PathLike[str], forbidden: Iterable[str] | None = None) -> list[str]:
    """All problems of the site in ``root``; raises ``FileNotFoundError`` without an index.html."""
    root = Path(root)
    if not (root / "index.html").is_file():
        raise FileNotFoundError(f"expected a built site with an index.html in {root}, found none")
    forbidden = machine_paths() if forbidden is None else list(forbidden)
    problems = []
    for page in sorted(root.rglob("*.html")):
        problems += check_page(page, root, forbidden)
    return problems


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    root = Path(args[0] if args else "_build/html")
    try:
        problems = check_site(root)
    except FileNotFoundError as err:
        print(f"check_site: {err}", file=sys.stderr)
        return 1
    pages = len(list(root.rglob("*.html")))
    for p in problems:
        print(f"check_site: {root}/{p}", file=sys.stderr)
    if problems:
        print(f"check_site: {len(problems)} problem(s) in {pages} pages: the site is not "
              f"self-contained", file=sys.stderr)
        return 1
    print(f"check_site: {pages} pages in {root}, relative links only, no absolute file paths")
    return 0


if __name__ == "__main__":
    sys.exit(main())
