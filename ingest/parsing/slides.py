"""PPTX: per slide, the title as a heading, text frames, tables and speaker notes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE

from ingest.parsing.context import ParseContext, pick_title
from ingest.parsing.markdown import BlockBuilder
from rag.types import Block, ParsedFile


def _position(shape: Any) -> tuple[int, int]:
    # Placeholders without their own offsets inherit them from the layout; a broken
    # inheritance chain raises or yields None, and such shapes simply go last.
    try:
        return (shape.top if shape.top is not None else 10**12, shape.left or 0)
    except (AttributeError, KeyError, ValueError):
        return (10**12, 0)


def _reading_order(shapes: Iterable[Any]) -> list[Any]:
    """Top-to-bottom, then left-to-right: z-order is drawing order, not reading order."""
    return sorted(shapes, key=_position)


def _leaf_shapes(shapes: Iterable[Any]) -> Iterator[Any]:
    for shape in _reading_order(shapes):
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
            yield from _leaf_shapes(shape.shapes)
        else:
            yield shape


def _emit_shape(shape: Any, builder: BlockBuilder) -> None:
    if getattr(shape, "has_table", False):
        rows = [[cell.text for cell in row.cells] for row in shape.table.rows]
        builder.table(rows)
    elif getattr(shape, "has_text_frame", False):
        for paragraph in shape.text_frame.paragraphs:
            text = paragraph.text.replace("\v", "\n")
            if paragraph.level > 0:
                builder.list_item(text, paragraph.level - 1)
            else:
                # A slide's paragraphs are its points, never one sentence wrapped over lines: set off by a
                # blank line, each stays a sentence of its own for evidence selection and citations.
                builder.paragraph(text)
        builder.line("")


def _slide_blocks(slide: Any, number: int) -> tuple[str | None, list[Block]]:
    builder = BlockBuilder(slide=number)
    title_shape = slide.shapes.title
    title = " ".join(title_shape.text_frame.text.split()) if title_shape is not None else ""
    if title:
        builder.heading(1, title)
    title_id = title_shape.shape_id if title_shape is not None else None
    for shape in _leaf_shapes(slide.shapes):
        if shape.shape_id != title_id:
            _emit_shape(shape, builder)
    if slide.has_notes_slide:
        notes_frame = slide.notes_slide.notes_text_frame
        notes = notes_frame.text if notes_frame is not None else ""
        if notes.strip():
            builder.paragraph("Notes: " + notes)
    return title or None, builder.blocks()


def parse_pptx(path: Path, ctx: ParseContext) -> ParsedFile:
    """Parse a PowerPoint deck into blocks numbered by slide (from 1).

    Every slide starts with its title as a ``#`` heading; each top-level point is a paragraph of its
    own; indented bullets become list items;
    tables become TABLE blocks; speaker notes follow the slide text.
    """
    presentation = Presentation(str(path))
    blocks: list[Block] = []
    first_title: str | None = None
    for number, slide in enumerate(presentation.slides, start=1):
        title, slide_blocks = _slide_blocks(slide, number)
        first_title = first_title or title
        blocks += slide_blocks
    title = pick_title(presentation.core_properties.title, first_title, fallback=ctx.stem)
    return ParsedFile(title=title, blocks=tuple(blocks), format="pptx")
