"""A cited chunk (Office, HTML, e-mail, text files) as HTML: paragraphs, headings and real tables,
the quoted sentence marked.

Chunks hold the parser's Markdown: headings (``# ...``), list items, emphasis (``**``) and tables
(``| a | b |`` rows under a header row). Shown raw, a table is a line of pipes; so headings,
lists and tables become HTML, emphasis markers are dropped, and every character of the
document is HTML-escaped (a document is untrusted: nothing in it can become markup, a link or
an image). The quote is found with :mod:`ui.quote_match`; its characters are wrapped in
``<mark>``, and a table row holding any of them is marked as a whole.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from ui.quote_match import find_spans

_HEADING = re.compile(r"^(#{1,6})\s+")
_ITEM = re.compile(r"^\s*[-*+]\s+")
_EMPHASIS = re.compile(r"\*\*|__")
BACKSLASH = "\\"
_SEPARATOR = re.compile(r"^\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")

STYLE = """<style>
.fuente-source { font-size: 0.95rem; line-height: 1.5; }
.fuente-source mark { background: #ffe066; padding: 0 1px; border-radius: 2px; }
.fuente-source table { border-collapse: collapse; margin: 0.5rem 0; }
.fuente-source th, .fuente-source td { border: 1px solid #d0d0d0; padding: 4px 8px; text-align: left; vertical-align: top; }
.fuente-source th { background: #f2f2f2; }
.fuente-source tr.hit td { background: #fff3b0; }
.fuente-source h5 { margin: 0.6rem 0 0.2rem 0; }
</style>"""


@dataclass(frozen=True)
class ChunkHTML:
    html: str
    found: bool
    """Whether the quote was found (and so marked) in the chunk."""
    tables: int


def _run(text: str, start: int, end: int, marked: list[bool], skip: set[int]) -> str:
    """Characters ``start:end`` of ``text``, escaped, marked runs in ``<mark>``."""
    out: list[str] = []
    in_mark = False
    for i in range(start, end):
        if i in skip:
            continue
        if marked[i] != in_mark:
            out.append("<mark>" if marked[i] else "</mark>")
            in_mark = marked[i]
        out.append(html.escape(text[i]))
    if in_mark:
        out.append("</mark>")
    return "".join(out)


def _cells(line: str, offset: int) -> list[tuple[int, int]]:
    """The ``[start, end)`` of each cell of a table row (``\\|`` is a pipe inside a cell)."""
    body_start = offset + (len(line) - len(line.lstrip()))
    stripped = line.strip()
    if stripped.startswith("|"):
        stripped, body_start = stripped[1:], body_start + 1
    if stripped.endswith("|") and not stripped.endswith("\\|"):
        stripped = stripped[:-1]
    cells: list[tuple[int, int]] = []
    start = 0
    i = 0
    while i <= len(stripped):
        if i == len(stripped) or (stripped[i] == "|" and (i == 0 or stripped[i - 1] != "\\")):
            a, b = start, i
            while a < b and stripped[a].isspace():
                a += 1
            while b > a and stripped[b - 1].isspace():
                b -= 1
            cells.append((body_start + a, body_start + b))
            start = i + 1
        i += 1
    return cells


def _table(text: str, rows: list[tuple[int, str]], marked: list[bool], skip: set[int]) -> str:
    out = ["<table>"]
    header = True
    for offset, line in rows:
        if _SEPARATOR.match(line.strip()):
            continue
        cells = _cells(line, offset)
        tag = "th" if header else "td"
        hit = not header and any(any(marked[a:b]) for a, b in cells)
        for a, b in cells:
            if any(marked[a:b]):  # a cell is quoted whole ("75 €": the sign is not a letter or digit)
                marked[a:b] = [True] * (b - a)
        out.append("<tr class='hit'>" if hit else "<tr>")
        for a, b in cells:
            # An escaped pipe (``\\|``) shows as a pipe.
            escapes = {i for i in range(a, b - 1) if text[i] == BACKSLASH and text[i + 1] == "|"}
            out.append(f"<{tag}>{_run(text, a, b, marked, skip | escapes)}</{tag}>")
        out.append("</tr>")
        header = False
    out.append("</table>")
    return "".join(out)


def render_chunk(text: str, quote: str) -> ChunkHTML:
    """The chunk's text as safe HTML with ``quote`` marked (see the module docstring)."""
    text = text.replace("\r", "")
    marked = [False] * len(text)
    spans = find_spans(text, quote) if quote.strip() else []
    for start, end in spans:
        for i in range(start, end):
            marked[i] = True
    skip = {i for m in _EMPHASIS.finditer(text) for i in range(m.start(), m.end())}
    parts: list[str] = ["<div class='fuente-source'>"]
    lines: list[tuple[int, str]] = []
    pos = 0
    for line in text.split("\n"):
        lines.append((pos, line))
        pos += len(line) + 1
    paragraph: list[str] = []
    tables = 0

    def close_paragraph() -> None:
        if paragraph:
            parts.append("<p>" + "<br>".join(paragraph) + "</p>")
            paragraph.clear()

    i = 0
    while i < len(lines):
        offset, line = lines[i]
        if line.strip().startswith("|"):
            close_paragraph()
            rows = []
            while i < len(lines) and lines[i][1].strip().startswith("|"):
                rows.append(lines[i])
                i += 1
            parts.append(_table(text, rows, marked, skip))
            tables += 1
            continue
        if not line.strip():
            close_paragraph()
        elif m := _HEADING.match(line):
            close_paragraph()
            parts.append(f"<h5>{_run(text, offset + m.end(), offset + len(line), marked, skip)}</h5>")
        elif m := _ITEM.match(line):
            paragraph.append("• " + _run(text, offset + m.end(), offset + len(line), marked, skip))
        else:
            paragraph.append(_run(text, offset, offset + len(line), marked, skip))
        i += 1
    close_paragraph()
    parts.append("</div>")
    return ChunkHTML(STYLE + "".join(parts), bool(spans), tables)


def quote_line(quote: str) -> str:
    """A quote as one line of plain text: a table row quoted under its header row reads
    ``header: cell · header: cell`` instead of two lines of pipes; Markdown emphasis and heading marks go."""
    quote = _EMPHASIS.sub("", quote)
    quote = re.sub(r"(?m)(^|\s)#{1,6}\s+", r"\1", quote)  # also inside a snippet's collapsed lines
    if "\n" not in quote.strip() and quote.strip().startswith("|"):
        # A snippet is the chunk with its whitespace collapsed: "| a | b | |---|---| | c | d |".
        quote = re.sub(r"\|\s+\|", "|\n|", quote)
    rows = [
        [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        for line in quote.replace("\r", "").split("\n")
        if line.strip() and not _SEPARATOR.match(line.strip())
    ]
    if len(rows) > 2 and len(rows[-1]) != len(rows[0]):
        rows = rows[:-1]  # a snippet cut off in its last row
    tabular = [r for r in rows if len(r) > 1]
    if len(tabular) == len(rows) >= 2 and all(len(r) == len(rows[0]) for r in rows):
        header = rows[0]
        return " — ".join(" · ".join(f"{h}: {c}" if h else c for h, c in zip(header, r, strict=True)) for r in rows[1:])
    return " ".join(" ".join(" · ".join(c for c in r if c) for r in rows).split())
