"""XML: the text content of any XML file, read with defusedxml (entity bombs and external entities refused).

XHTML goes to the HTML parser; an office document saved as XML (flat OpenDocument, Word 2003 XML,
Excel 2003 XML) goes to LibreOffice, like the legacy formats, so its settings and styles are not
read as text and its pages, tables and sheets are kept. For any other vocabulary (RSS, DocBook, TEI, a data export), every
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

from ingest.errors import ParseFailure, SkipFile
from ingest.parsing.context import ParseContext, pick_title
from ingest.parsing.encoding import sniff_bom
from ingest.parsing.html_page import html_to_builder
from ingest.parsing.markdown import BlockBuilder, clean_text
from ingest.parsing.quality import strip_base64
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


_ODF = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_FLAT_ODF = {
    "application/vnd.oasis.opendocument.text": (".fodt", "docx", "flat OpenDocument text"),
    "application/vnd.oasis.opendocument.spreadsheet": (".fods", "xlsx", "flat OpenDocument spreadsheet"),
    "application/vnd.oasis.opendocument.presentation": (".fodp", "pptx", "flat OpenDocument presentation"),
}
_MS_XML = {
    ("http://schemas.microsoft.com/office/word/2003/wordml", "wordDocument"): (".xml", "docx", "Word 2003 XML"),
    ("urn:schemas-microsoft-com:office:spreadsheet", "Workbook"): (".xml", "xlsx", "Excel 2003 XML"),
}


def _office_kind(root: Element) -> tuple[str, str, str] | None:
    """(suffix for LibreOffice, modern target, label) when the XML is an office document."""
    tag = root.tag if isinstance(root.tag, str) else ""
    namespace = tag[1:].split("}", 1)[0] if tag.startswith("{") else ""
    local = tag.rsplit("}", 1)[-1]
    if namespace == _ODF and local == "document":
        return _FLAT_ODF.get(root.get(f"{{{_ODF}}}mimetype", ""))
    return _MS_XML.get((namespace, local))


def _as_office(path: Path, ctx: ParseContext, root: Element) -> ParsedFile | None:
    """The office document parsed through LibreOffice, or None to read it as plain XML instead."""
    kind = _office_kind(root)
    if kind is None:
        return None
    from ingest.parsing.convert import soffice_path
    from ingest.parsing.legacy import convert_and_parse

    if soffice_path() is None:
        return None  # its text content is still better than nothing
    suffix, target, label = kind
    return dataclasses.replace(convert_and_parse(path, ctx, suffix, target, "xml", label), format="xml")


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
    office = _as_office(path, ctx, root)
    if office is not None:
        return office
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
