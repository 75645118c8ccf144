"""XML: the text content of any XML file, read with defusedxml (entity bombs and external entities refused).

XHTML goes to the HTML parser. For any other vocabulary (RSS, DocBook, TEI, a data export), every
element's own text becomes a line, in document order; an element whose children are all
elements (a record, a section) closes a paragraph. A ``title`` element gives the title.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeElementTree

from ingest.parsing.context import ParseContext, pick_title
from ingest.parsing.encoding import sniff_bom
from ingest.parsing.html_page import html_to_builder
from ingest.parsing.markdown import BlockBuilder, clean_text
from ingest.parsing.quality import strip_base64
from rag.errors import ParseFailure, SkipFile
from rag.types import ParsedFile

_MAX_DEPTH = 200
_DECLARED_ENCODING = re.compile(rb"""^(<\?xml[^>]*?)\s+encoding\s*=\s*["'][^"']*["']""")


def _as_declared(data: bytes) -> bytes:
    """The XML in UTF-8 when a byte-order mark says what it really is.

    Files saved as UTF-16 by one tool keep the ``encoding="UTF-8"`` of the tool before (unstructured's
    factbook-utf-16.xml); expat trusts the declaration and gives up, so the mark wins and the
    declaration is dropped.
    """
    codec = sniff_bom(data)
    if codec is None:
        return data
    text = data.decode(codec, errors="replace").lstrip("\ufeff").encode("utf-8")
    return _DECLARED_ENCODING.sub(rb"\1", text, count=1)


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def _walk(element: Element, builder: BlockBuilder, depth: int = 0) -> None:
    if depth > _MAX_DEPTH:
        return
    own = " ".join((element.text or "").split())
    if own:
        builder.line(own)
    children = list(element)
    for child in children:
        _walk(child, builder, depth + 1)
        tail = " ".join((child.tail or "").split())
        if tail:
            builder.line(tail)
    if children and not own:
        builder.line("")  # a container ends: a paragraph break


def parse_xml(path: Path, ctx: ParseContext) -> ParsedFile:
    """Parse an XML file's text content.

    Raises:
        ParseFailure: The XML is malformed, or declares entities (possible entity bomb) or external ones.
        SkipFile: It holds no text.
    """
    data = _as_declared(path.read_bytes())
    try:
        root: Element = SafeElementTree.fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as e:
        raise ParseFailure(
            "The XML file declares entities (a possible entity bomb) or external references, which are refused; "
            "check where it came from before ingesting it."
        ) from e
    except SafeElementTree.ParseError as e:
        raise ParseFailure(f"The XML file is malformed ({e}); fix or re-export it.") from e
    builder = BlockBuilder()
    if _local(root.tag) == "html":
        title = html_to_builder(data.decode("utf-8", "replace"), builder)
    else:
        title_el = next((e for e in root.iter() if _local(e.tag) == "title" and (e.text or "").strip()), None)
        title = title_el.text if title_el is not None else None
        _walk(root, builder)
    blocks = builder.blocks()
    notes: list[str] = []
    cleaned = []
    for block in blocks:
        text, found = strip_base64(block.text)
        notes += found
        text = clean_text(text)
        if text.strip():
            cleaned.append(dataclasses.replace(block, text=text))
    if not cleaned:
        raise SkipFile("The XML file holds no text (only markup and attributes); nothing was ingested.")
    return ParsedFile(
        title=pick_title(title, fallback=ctx.stem), blocks=tuple(cleaned), format="xml", notes=tuple(notes)
    )
