"""ODT (OpenDocument text): ``content.xml`` read with defusedxml, headings as Markdown."""

from __future__ import annotations

import zipfile
from pathlib import Path
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as SafeElementTree

from ingest.errors import ParseFailure, SkipFile
from ingest.parsing.context import ParseContext, pick_title
from ingest.parsing.markdown import BlockBuilder
from ingest.parsing.sheets import MAX_COLS, MAX_ROWS
from rag.types import ParsedFile

_NS = {
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "dc": "http://purl.org/dc/elements/1.1/",
}


def _q(name: str) -> str:
    prefix, local = name.split(":")
    return f"{{{_NS[prefix]}}}{local}"


_H, _P, _LIST = _q("text:h"), _q("text:p"), _q("text:list")
_TABLE, _ROW = _q("table:table"), _q("table:table-row")
_CELL, _COVERED = _q("table:table-cell"), _q("table:covered-table-cell")
_SPACE, _TAB, _BREAK = _q("text:s"), _q("text:tab"), _q("text:line-break")
# Left out: deleted text kept for change tracking, comments, the generated table of contents
# (it repeats the headings), and footnote markers (the note body is kept inline).
_SKIP = frozenset(
    {
        _q("text:tracked-changes"),
        _q("office:annotation"),
        _q("text:table-of-content"),
        _q("text:note-citation"),
        _q("text:sequence-decls"),
    }
)


def _inline(element: Element) -> str:
    """The text of a paragraph, with ODF's encoded spaces, tabs and line breaks restored."""
    parts = [element.text or ""]
    for child in element:
        if child.tag == _SPACE:
            parts.append(" " * int(child.get(_q("text:c"), "1")))
        elif child.tag == _TAB:
            parts.append("\t")
        elif child.tag == _BREAK:
            parts.append("\n")
        elif child.tag not in _SKIP:
            parts.append(_inline(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _repeat(element: Element, attribute: str, cap: int) -> int:
    value = element.get(_q(attribute), "1")
    return min(int(value), cap) if value.isdigit() else 1


def _table_rows(table: Element) -> list[list[str]]:
    rows: list[list[str]] = []
    for row in table.iter(_ROW):
        cells: list[str] = []
        for cell in row:
            if cell.tag not in (_CELL, _COVERED):
                continue
            text = " ".join(_inline(p) for p in cell.iter() if p.tag in (_P, _H))
            # Spreadsheet-style trailing cells repeat "empty" thousands of times: cap them.
            cells += [text] * _repeat(cell, "table:number-columns-repeated", MAX_COLS)
        # Only rows with text are worth repeating; blank ones would be dropped anyway.
        repeat = _repeat(row, "table:number-rows-repeated", MAX_ROWS) if any(cells) else 1
        rows += [cells] * repeat
        if len(rows) >= MAX_ROWS:
            break
    return rows[:MAX_ROWS]


def _walk(container: Element, builder: BlockBuilder, list_level: int = -1) -> None:
    for element in container:
        tag = element.tag
        if tag in _SKIP:
            continue
        if tag == _H:
            level = _repeat(element, "text:outline-level", 6)
            builder.heading(level, _inline(element))
        elif tag == _P:
            if list_level >= 0:
                builder.list_item(_inline(element), list_level)
            else:
                builder.paragraph(_inline(element))
        elif tag == _LIST:
            _walk(element, builder, list_level + 1)
        elif tag == _TABLE:
            builder.table(_table_rows(element))
        else:  # sections, list items, frames, soft page breaks...: look inside
            _walk(element, builder, list_level)


def _parse_xml(archive: zipfile.ZipFile, name: str) -> Element | None:
    try:
        data = archive.read(name)
    except KeyError:
        return None
    root: Element = SafeElementTree.fromstring(data)
    return root


def parse_odt(path: Path, ctx: ParseContext) -> ParsedFile:
    """Parse an OpenDocument text file: headings, paragraphs, lists and tables in order.

    Raises:
        SkipFile: The document is password-protected.
        ParseFailure: ``content.xml`` is missing (the zip is not an ODF document).
    """
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        manifest = archive.read("META-INF/manifest.xml") if "META-INF/manifest.xml" in names else b""
        if b"encryption-data" in manifest:  # ODF encrypts each part and lists how in the manifest
            raise SkipFile(
                "The OpenDocument (.odt) file is password-protected; remove the password or ingest an unprotected copy."
            )
        content = _parse_xml(archive, "content.xml")
        meta = _parse_xml(archive, "meta.xml")
    if content is None:
        raise ParseFailure(
            "The OpenDocument (.odt) file has no content.xml part; re-save it in its "
            "application, or ingest a fresh copy."
        )
    builder = BlockBuilder()
    body = content.find("office:body/office:text", _NS)
    _walk(body if body is not None else content, builder)
    meta_title = meta.findtext(".//dc:title", None, _NS) if meta is not None else None
    return ParsedFile(
        title=pick_title(meta_title, builder.first_heading, fallback=ctx.stem),
        blocks=tuple(builder.blocks()),
        format="odt",
    )
