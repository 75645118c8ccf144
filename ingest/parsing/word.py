"""DOCX: body paragraphs and tables in reading order, headings as Markdown, via python-docx.

The body XML is walked directly (not ``Table.rows``/``cells``) because python-docx's cell grid
raises on tables whose spans do not add up, which real documents have; a cell-by-cell walk
keeps their text.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import docx
from docx.oxml.ns import qn
from docx.text.paragraph import Paragraph

from ingest.parsing.context import ParseContext, pick_title
from ingest.parsing.markdown import BlockBuilder
from rag.types import ParsedFile

_HEADING_STYLE = re.compile(r"^heading\s*([1-9])$", re.IGNORECASE)
_P, _TBL, _SDT = qn("w:p"), qn("w:tbl"), qn("w:sdt")


def _heading_level(paragraph: Paragraph) -> int | None:
    """Heading level from the style name ("Heading 2", "Title") or an explicit outline level."""
    try:
        style = paragraph.style
    except (KeyError, ValueError, AttributeError):
        style = None
    while style is not None:
        name = style.name or ""
        if name.lower() == "title":
            return 1
        match = _HEADING_STYLE.match(name)
        if match:
            return int(match.group(1))
        style = style.base_style
    ppr = paragraph._p.pPr
    outline = ppr.find(qn("w:outlineLvl")) if ppr is not None else None
    if outline is not None:
        value = outline.get(qn("w:val"), "")
        if value.isdigit() and int(value) < 9:
            return int(value) + 1
    return None


def _list_level(paragraph: Paragraph) -> int | None:
    """Nesting level (0-based) if the paragraph is a list item, else None."""
    ppr = paragraph._p.pPr
    numpr = ppr.find(qn("w:numPr")) if ppr is not None else None
    if numpr is None:
        return None
    ilvl = numpr.find(qn("w:ilvl"))
    value = ilvl.get(qn("w:val"), "0") if ilvl is not None else "0"
    return int(value) if value.isdigit() else 0


def _cell_text(tc: Any, parent: Any) -> str:
    return " ".join(Paragraph(p, parent).text for p in tc.iter(_P))


def _table_rows(tbl: Any, parent: Any) -> list[list[str]]:
    rows: list[list[str]] = []
    for tr in tbl.iterchildren(qn("w:tr")):
        row: list[str] = []
        for tc in tr.iterchildren(qn("w:tc")):
            # A cell continuing a vertical merge repeats nothing; its text lives in the cell above.
            row.append("" if tc.vMerge == "continue" else _cell_text(tc, parent))
            row += [""] * (max(tc.grid_span, 1) - 1)
        rows.append(row)
    return rows


def _walk(container: Any, parent: Any, builder: BlockBuilder) -> None:
    for child in container.iterchildren():
        if child.tag == _P:
            paragraph = Paragraph(child, parent)
            text = paragraph.text
            level = _heading_level(paragraph)
            list_level = _list_level(paragraph) if level is None else None
            if level is not None:
                builder.heading(level, text)
            elif list_level is not None:
                builder.list_item(text, list_level)
            else:
                builder.paragraph(text)
        elif child.tag == _TBL:
            builder.table(_table_rows(child, parent))
        elif child.tag == _SDT:  # content control: its paragraphs sit one level down
            content = child.find(qn("w:sdtContent"))
            if content is not None:
                _walk(content, parent, builder)


def parse_docx(path: Path, ctx: ParseContext) -> ParsedFile:
    """Parse a Word document: headings become ``#`` lines, tables TABLE blocks.

    Headers, footers, comments and text boxes are left out: they repeat or annotate the body.
    """
    document = docx.Document(str(path))
    builder = BlockBuilder()
    _walk(document.element.body, document, builder)
    blocks = builder.blocks()
    title = pick_title(document.core_properties.title, builder.first_heading, fallback=ctx.stem)
    return ParsedFile(title=title, blocks=tuple(blocks), format="docx")
