"""Markdown and plain text files in any common encoding."""

from __future__ import annotations

import re
from pathlib import Path

from ingest.errors import ParseFailure, SkipFile
from ingest.parsing.context import ParseContext, pick_title
from ingest.parsing.encoding import decode_bytes
from ingest.parsing.markdown import BlockBuilder, clean_text, feed_markdown
from ingest.parsing.quality import strip_base64
from rag.types import ParsedFile

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_FRONT_TITLE = re.compile(r"^title:[ \t]*(.+?)[ \t]*$", re.MULTILINE)
_BINARY = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f]")
_BINARY_SHARE = 0.01
_BINARY_MIN = 8
"""Text with more control characters than both of these is binary data under a text name."""


def read_text(path: Path, label: str) -> str:
    """Decode a text file and refuse empty, whitespace-only or binary content.

    Raises:
        SkipFile: Nothing but whitespace.
        ParseFailure: The bytes are not text.
    """
    text = decode_bytes(path.read_bytes())
    if not text.strip():
        raise SkipFile(f"The {label} file contains only whitespace; nothing was ingested.")
    sample = text[:100_000]
    controls = len(_BINARY.findall(sample))
    if controls > _BINARY_MIN and controls > _BINARY_SHARE * len(sample):
        raise ParseFailure(f"The {label} file holds binary data, not text; check that it has the right extension.")
    return text


def parse_text(path: Path, ctx: ParseContext) -> ParsedFile:
    """Parse a plain text file into a single TEXT block; its title is the file name.

    Base64 blobs are not text: one that decodes to readable text is replaced by it, any other is
    left out (with a note).

    Raises:
        SkipFile: Nothing but base64 data that is not text.
    """
    text, notes = strip_base64(read_text(path, "text"))
    text = clean_text(text)
    if not text.strip():
        raise SkipFile("The text file holds only base64-encoded binary data, not text; nothing was ingested.")
    builder = BlockBuilder()
    builder.paragraph(text)
    return ParsedFile(title=ctx.stem, blocks=tuple(builder.blocks()), format="txt", notes=tuple(notes))


def parse_markdown(path: Path, ctx: ParseContext) -> ParsedFile:
    """Parse Markdown: pipe tables become TABLE blocks, YAML front matter gives the title."""
    text, notes = strip_base64(read_text(path, "Markdown"))
    text = clean_text(text)
    front_title: str | None = None
    front = _FRONT_MATTER.match(text)
    if front:
        found = _FRONT_TITLE.search(front.group(1))
        front_title = found.group(1).strip("\"'") if found else None
        text = text[front.end() :]
    builder = BlockBuilder()
    feed_markdown(text, builder)
    return ParsedFile(
        title=pick_title(front_title, builder.first_heading, fallback=ctx.stem),
        blocks=tuple(builder.blocks()),
        format="md",
        notes=tuple(notes),
    )
