"""Compare two rendered packs page by page, as the text a reader sees.

    python benchmarks/compare_packs.py OLD/2026Q3 NEW/2026Q3 [--lines N]

For every ``*.html`` in OLD, prints the lines of visible text (scripts and styles left out,
images ignored) that differ in NEW, with a few lines of context. Used to check that a change
of code layout renders the same numbers (see benchmarks/results_architecture.md).
"""

from __future__ import annotations

import argparse
import difflib
from html.parser import HTMLParser
from pathlib import Path


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.lines.append(" ".join(data.split()))


def page_text(path: Path) -> list[str]:
    """The visible text of one page, one line per text node."""
    parser = _Text()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser.lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--lines", type=int, default=20, help="changed lines shown per page")
    args = parser.parse_args()
    pages = sorted(args.old.glob("*.html"))
    differing = 0
    for old in pages:
        new = args.new / old.name
        if not new.is_file():
            print(f"== {old.name}: missing in {args.new}")
            differing += 1
            continue
        a, b = page_text(old), page_text(new)
        changes = difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes()
        shown = [(i1, a[i1:i2], b[j1:j2]) for op, i1, i2, j1, j2 in changes if op != "equal"]
        if not shown:
            continue
        differing += 1
        print(f"== {old.name}: {len(shown)} change(s)")
        for i1, before, after in shown[: args.lines]:
            context = " / ".join(a[max(0, i1 - 2) : i1])
            print(f"   after «{context}»: {before} -> {after}")
    print(f"{differing} of {len(pages)} pages differ")


if __name__ == "__main__":
    main()
