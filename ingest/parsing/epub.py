"""EPUB: the chapters of the spine in reading order, each a section of its own.

The package is a zip (checked for bombs by the registry); its XML (container, OPF, NCX) is read
with defusedxml, its XHTML chapters with the HTML parser. A chapter's section is its own first
heading, else its entry in the table of contents, else its own <title>. Pages whose body holds no
text (a cover image) are left out.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from pathlib import Path
from urllib.parse import unquote
from xml.etree.ElementTree import Element

from bs4 import BeautifulSoup
from defusedxml import ElementTree as SafeElementTree

from ingest.errors import ParseFailure, SkipFile
from ingest.parsing.context import ParseContext, pick_title
from ingest.parsing.html_page import decode_html, html_to_builder
from ingest.parsing.markdown import BlockBuilder
from rag.types import ParsedFile

_MAX_CHAPTER_BYTES = 20 * 1024 * 1024
_HEADING_TAG = re.compile(r"<h[1-6][\s>]", re.IGNORECASE)
_HTML_TYPES = ("application/xhtml+xml", "text/html")
_FONT_OBFUSCATION = ("http://www.idpf.org/2008/embedding", "http://ns.adobe.com/pdf/enc#RC")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _xml(archive: zipfile.ZipFile, name: str) -> Element:
    try:
        data = archive.read(name)
    except KeyError as e:
        raise ParseFailure(f"The EPUB file lacks its {name} part; re-export it, or ingest a fresh copy.") from e
    root: Element = SafeElementTree.fromstring(data)
    return root


def _children(element: Element, name: str) -> list[Element]:
    return [e for e in element.iter() if _local(e.tag) == name]


def _toc_labels(
    archive: zipfile.ZipFile, base: str, manifest: dict[str, tuple[str, str, str]], toc_id: str
) -> dict[str, str]:
    """href (no fragment) -> table-of-contents label, from the EPUB 3 nav or the EPUB 2 NCX."""
    labels: dict[str, str] = {}
    nav = next((href for href, _, props in manifest.values() if "nav" in props.split()), None)
    try:
        if nav is not None:
            root = _xml(archive, nav)
            for anchor in _children(root, "a"):
                href = anchor.get("href", "")
                text = " ".join("".join(anchor.itertext()).split())
                if href and text:
                    target = posixpath.normpath(posixpath.join(posixpath.dirname(nav), unquote(href.split("#")[0])))
                    labels.setdefault(target, text)
        elif toc_id in manifest:
            ncx_href = manifest[toc_id][0]
            root = _xml(archive, ncx_href)
            for point in _children(root, "navPoint"):
                text_el = next(iter(_children(point, "text")), None)
                content = next(iter(_children(point, "content")), None)
                if text_el is None or content is None:
                    continue
                src = content.get("src", "").split("#")[0]
                target = posixpath.normpath(posixpath.join(posixpath.dirname(ncx_href), unquote(src)))
                labels.setdefault(target, " ".join((text_el.text or "").split()))
    except (ParseFailure, SafeElementTree.ParseError):
        return {}
    return labels


def parse_epub(path: Path, ctx: ParseContext) -> ParsedFile:
    """Parse an EPUB 2 or 3 book: chapters in spine order, headings as Markdown.

    Raises:
        SkipFile: The book is DRM-protected.
        ParseFailure: It has no readable package document.
    """
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        if "META-INF/encryption.xml" in names:
            encryption = _xml(archive, "META-INF/encryption.xml")
            methods = {m.get("Algorithm", "") for m in _children(encryption, "EncryptionMethod")}
            if any(m not in _FONT_OBFUSCATION for m in methods):
                raise SkipFile("The EPUB file is DRM-protected; ingest a copy without DRM.")
        container = _xml(archive, "META-INF/container.xml")
        rootfile = next((e.get("full-path") for e in _children(container, "rootfile") if e.get("full-path")), None)
        if not rootfile:
            raise ParseFailure("The EPUB file names no package document; re-export it, or ingest a fresh copy.")
        opf = _xml(archive, rootfile)
        base = posixpath.dirname(rootfile)
        manifest: dict[str, tuple[str, str, str]] = {}
        for item in _children(opf, "item"):
            href = posixpath.normpath(posixpath.join(base, unquote(item.get("href", ""))))
            manifest[item.get("id", "")] = (href, item.get("media-type", ""), item.get("properties", ""))
        spine = next(iter(_children(opf, "spine")), None)
        toc_id = spine.get("toc", "") if spine is not None else ""
        order = [ref.get("idref", "") for ref in _children(opf, "itemref") if ref.get("linear", "yes") != "no"]
        title_el = next((e for e in opf.iter() if _local(e.tag) == "title" and (e.text or "").strip()), None)
        labels = _toc_labels(archive, base, manifest, toc_id)

        builder = BlockBuilder()
        first = True
        for idref in order:
            if idref not in manifest:
                continue
            href, media, _ = manifest[idref]
            if media not in _HTML_TYPES or href not in names:
                continue
            if archive.getinfo(href).file_size > _MAX_CHAPTER_BYTES:
                continue
            markup = decode_html(archive.read(href))
            soup = BeautifulSoup(markup, "html.parser")
            if not (soup.body or soup).get_text(strip=True):
                continue  # a cover image or an empty page (its <title> in the head is no text of the book)
            builder.flush()
            # Each chapter opens a section: its own heading does that, else its table-of-contents entry,
            # else its own <title>; its file name ("wrap0000", "part0003") only when there is nothing else.
            if not _HEADING_TAG.search(markup):
                own = soup.title.get_text() if soup.title else None
                section = pick_title(labels.get(href), own, fallback="")  # placeholders ("Untitled") are none
                if section or not first:  # the first chapter may open the book without a section of its own
                    builder.heading(1, section or posixpath.splitext(posixpath.basename(href))[0])
            first = False
            html_to_builder(markup, builder)
    return ParsedFile(
        title=pick_title(title_el.text if title_el is not None else None, builder.first_heading, fallback=ctx.stem),
        blocks=tuple(builder.blocks()),
        format="epub",
    )
