"""HTML: the main text of a page as Markdown, with data tables as TABLE blocks.

Also used for HTML e-mail bodies. Scripts, styles, navigation and hidden elements are dropped;
when the page marks its main content (``<main>``, ``role="main"``, a single ``<article>``),
only that is kept.
"""

from __future__ import annotations

import re
from pathlib import Path

from bs4 import BeautifulSoup, Comment, Declaration, Doctype, NavigableString, Tag
from bs4.element import CData, ProcessingInstruction

from ingest.parsing.context import ParseContext, pick_title
from ingest.parsing.encoding import decode_bytes, sniff_bom
from ingest.parsing.markdown import BlockBuilder
from rag.types import ParsedFile

_DROP = frozenset(
    {
        "script", "style", "noscript", "template", "svg", "canvas", "iframe", "object", "embed",
        "nav", "aside", "button", "select", "input", "textarea", "head", "title", "meta", "link",
        "map", "audio", "video",
    }
)  # fmt: skip
_BLOCK = frozenset(
    {
        "p", "div", "section", "article", "main", "blockquote", "ul", "ol", "dl", "dt", "dd",
        "figure", "figcaption", "address", "header", "footer", "center", "form", "fieldset", "details",
        "summary", "body", "html", "hr", "caption", "tr", "td", "th", "tbody", "thead", "tfoot",
    }
)  # fmt: skip
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_SKIPPED_STRINGS = (Comment, Declaration, Doctype, CData, ProcessingInstruction)
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_XML_ENCODING = re.compile(rb"""^<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""")


def _declared_charset(data: bytes) -> str | None:
    head = data[:4096]
    match = _META_CHARSET.search(head) or _XML_ENCODING.search(head)
    return match.group(1).decode("ascii") if match else None


def decode_html(data: bytes) -> str:
    """Decode HTML bytes: BOM, then valid UTF-8, then the declared charset, then detection."""
    if sniff_bom(data):
        return decode_bytes(data)
    return decode_bytes(data, declared=_declared_charset(data))


def _hidden(tag: Tag) -> bool:
    if tag.has_attr("hidden") or tag.get("aria-hidden") == "true":
        return True
    style = tag.get("style")
    return isinstance(style, str) and bool(_HIDDEN_STYLE.search(style))


def _direct_rows(table: Tag) -> list[Tag]:
    """Rows of this table only, not of tables nested in its cells."""
    return [tr for tr in table.find_all("tr") if tr.find_parent("table") is table]


def _data_rows(table: Tag) -> list[list[str]] | None:
    """Cell texts if ``table`` holds data; None if it only lays out the page.

    A table with nested tables, or with fewer than two rows or columns of text, is layout.
    """
    if table.find("table") is not None:
        return None
    rows: list[list[str]] = []
    for tr in _direct_rows(table):
        row: list[str] = []
        for cell in tr.find_all(["td", "th"], recursive=False):
            row.append(cell.get_text(" ", strip=True))
            span = str(cell.get("colspan", "1"))
            row += [""] * (min(int(span), 50) - 1 if span.isdigit() and int(span) > 1 else 0)
        rows.append(row)
    filled = [row for row in rows if any(row)]
    if len(filled) < 2 or max(sum(1 for c in row if c) for row in filled) < 2:
        return None
    return rows


class _Walker:
    """Depth-first walk that gathers inline text and flushes it at block boundaries."""

    def __init__(self, builder: BlockBuilder) -> None:
        self.builder = builder
        self.inline: list[str] = []
        self.prefix = ""
        self.list_depth = 0

    def flush(self, *, line: bool = False) -> None:
        text = " ".join("".join(self.inline).split())
        self.inline = []
        if not text:
            return
        if self.prefix:
            self.builder.line(self.prefix + text)
            self.prefix = ""
        elif line:
            self.builder.line(text)
        else:
            self.builder.paragraph(text)

    def walk(self, node: Tag) -> None:
        for child in node.children:
            if isinstance(child, _SKIPPED_STRINGS):
                continue
            if isinstance(child, NavigableString):
                self.inline.append(str(child))
                continue
            if not isinstance(child, Tag) or child.name in _DROP or _hidden(child):
                continue
            self.element(child)

    def element(self, tag: Tag) -> None:
        name = tag.name
        if name in _HEADINGS:
            self.flush()
            self.builder.heading(_HEADINGS[name], tag.get_text(" ", strip=True))
        elif name == "br":
            self.flush(line=True)
        elif name == "pre":
            self.flush()
            self.builder.paragraph(tag.get_text())
        elif name == "li":
            self.flush()
            self.prefix = "  " * max(self.list_depth - 1, 0) + "- "
            self.walk(tag)
            self.flush()
            self.prefix = ""
        elif name in ("ul", "ol"):
            self.flush()
            self.list_depth += 1
            self.walk(tag)
            self.list_depth -= 1
            self.flush()
        elif name == "table":
            self.flush()
            rows = _data_rows(tag)
            if rows is None:
                self.walk(tag)
                self.flush()
            else:
                caption = tag.find("caption")
                if caption is not None:
                    self.builder.paragraph(caption.get_text(" ", strip=True))
                self.builder.table(rows)
        elif name in _BLOCK:
            self.flush()
            self.walk(tag)
            self.flush()
        else:
            self.walk(tag)


def _content_root(soup: BeautifulSoup) -> Tag:
    main = soup.find("main") or soup.select_one('[role="main"]')
    if isinstance(main, Tag) and main.get_text(strip=True):
        return main
    articles = soup.find_all("article")
    if len(articles) == 1 and articles[0].get_text(strip=True):
        return articles[0]
    return soup.body or soup


def html_to_builder(markup: str, builder: BlockBuilder) -> str | None:
    """Feed the main content of an HTML document into ``builder``.

    Returns:
        The ``<title>`` text, if any.
    """
    soup = BeautifulSoup(markup, "html.parser")
    title_tag = soup.find("title")
    title = title_tag.get_text(" ", strip=True) if title_tag is not None else None
    walker = _Walker(builder)
    walker.walk(_content_root(soup))
    walker.flush()
    return title or None


def parse_html(path: Path, ctx: ParseContext) -> ParsedFile:
    """Parse an HTML page into Markdown text blocks and TABLE blocks."""
    builder = BlockBuilder()
    title = html_to_builder(decode_html(path.read_bytes()), builder)
    blocks = builder.blocks()
    return ParsedFile(
        title=pick_title(title, builder.first_heading, fallback=ctx.stem),
        blocks=tuple(blocks),
        format="html",
    )
