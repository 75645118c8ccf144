"""Markdown as the common output of every parser: clean text, tables, and block assembly."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from rag.types import Block, BlockKind

MAX_CELL_CHARS = 1000
"""A longer cell is cut: tables are for lookups, and one huge cell would swamp a chunk."""

# PDF text layers keep typographic ligatures; "ﬁnancial" would never match a search for
# "financial". Only these are mapped: full NFKC would also rewrite superscripts and the like.
_LIGATURES = str.maketrans({"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"})
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\ufeff]")
_BLANK_RUN = re.compile(r"\n{3,}")
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


def clean_text(text: str) -> str:
    """Normalise line ends, drop control characters, strip trailing spaces, collapse blank runs."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\v", "\n").replace("\f", "\n")
    text = _CONTROL.sub("", text).replace("\xa0", " ").translate(_LIGATURES)
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return _BLANK_RUN.sub("\n\n", text).strip("\n")


def cell_text(value: object) -> str:
    """Render one table cell on a single line, with pipes escaped and its length capped."""
    text = " ".join(str(value).split()) if value is not None else ""
    if len(text) > MAX_CELL_CHARS:
        text = text[: MAX_CELL_CHARS - 1] + "…"
    return text.replace("|", "\\|")


def render_table(rows: Iterable[Sequence[object]]) -> str:
    """Render rows as a Markdown table whose header is the first non-empty row.

    Fully empty rows and columns are dropped; short rows are padded.

    Returns:
        The table, or ``""`` when no cell holds text.
    """
    cells = [[cell_text(v) for v in row] for row in rows]
    cells = [row for row in cells if any(row)]
    if not cells:
        return ""
    width = max(len(row) for row in cells)
    cells = [row + [""] * (width - len(row)) for row in cells]
    keep = [i for i in range(width) if any(row[i] for row in cells)]
    cells = [[row[i] for i in keep] for row in cells]
    lines = ["| " + " | ".join(row) + " |" for row in cells]
    lines.insert(1, "|" + "|".join("---" for _ in keep) + "|")
    return "\n".join(lines)


class BlockBuilder:
    """Collects headings, paragraphs and tables in reading order and cuts them into Blocks.

    Text accumulates into one TEXT block until a table interrupts it. Every block carries the
    location given at construction (``page=3``, ``slide=2``...) and the heading path in force
    where it begins; headings inside a TEXT block stay in its text as Markdown.
    """

    def __init__(self, **location: Any) -> None:
        self._location = location
        self._lines: list[str] = []
        self._stack: list[tuple[int, str]] = []
        self._text_path: tuple[str, ...] = ()
        self._blocks: list[Block] = []
        self.first_heading: str | None = None

    @property
    def heading_path(self) -> tuple[str, ...]:
        return tuple(title for _, title in self._stack)

    def _start_text(self) -> None:
        if not self._lines:
            self._text_path = self.heading_path

    def heading(self, level: int, text: str) -> None:
        """Add a Markdown heading (level 1-6) and make it the current section."""
        text = " ".join(text.split())
        if not text:
            return
        level = min(max(level, 1), 6)
        self._start_text()
        self._lines += ["", "#" * level + " " + text, ""]
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        self._stack.append((level, text))
        if self.first_heading is None:
            self.first_heading = text

    def paragraph(self, text: str) -> None:
        """Add a paragraph, set off by blank lines."""
        if text.strip():
            self._start_text()
            self._lines += [text, ""]

    def line(self, text: str) -> None:
        """Add one line with no blank line after it (list items, e-mail headers, raw Markdown)."""
        if text.strip() or self._lines:
            self._start_text()
            self._lines.append(text)

    def list_item(self, text: str, level: int = 0) -> None:
        if text.strip():
            self.line("  " * level + "- " + " ".join(text.split()))

    def table(self, rows: Iterable[Sequence[object]]) -> None:
        """Close the current text and add a TABLE block (nothing if every cell is empty)."""
        self.table_markdown(render_table(rows))

    def table_markdown(self, markdown: str) -> None:
        """Add an already rendered Markdown table as a TABLE block."""
        markdown = clean_text(markdown)
        if not markdown:
            return
        self.flush()
        self._blocks.append(Block(markdown, BlockKind.TABLE, heading_path=self.heading_path, **self._location))

    def flush(self) -> None:
        """Close the current TEXT block, if it has any text."""
        text = clean_text("\n".join(self._lines))
        self._lines = []
        if text.strip():
            self._blocks.append(Block(text, BlockKind.TEXT, heading_path=self._text_path, **self._location))

    def blocks(self) -> list[Block]:
        """Flush and return every block so far."""
        self.flush()
        return list(self._blocks)


def feed_markdown(text: str, builder: BlockBuilder) -> None:
    """Feed Markdown source into ``builder``: pipe tables become TABLE blocks, the rest text.

    Headings are tracked so tables know their section; fenced code is passed through untouched.
    """
    lines = text.split("\n")
    in_fence = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if _FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence:
            heading = _HEADING.match(line)
            if heading:
                builder.heading(len(heading.group(1)), heading.group(2))
                i += 1
                continue
            if "|" in line and i + 1 < len(lines) and _TABLE_RULE.match(lines[i + 1]) and "|" in lines[i + 1]:
                end = i + 2
                while end < len(lines) and lines[end].strip() and "|" in lines[end]:
                    end += 1
                builder.table_markdown("\n".join(lines[i:end]))
                i = end
                continue
        builder.line(line)
        i += 1
