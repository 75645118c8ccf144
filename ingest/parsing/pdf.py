"""PDF: one block per page via pypdf, with pypdfium2 for broken files and OCR page images."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pypdfium2 as pdfium
from pypdf import PasswordType, PdfReader

from ingest.errors import ParseFailure, SkipFile
from ingest.parsing.base import ParseOptions
from ingest.parsing.context import ParseContext, pick_title
from ingest.parsing.markdown import BlockBuilder, clean_text
from ingest.parsing.ocr import OcrUnavailable, ocr_pdf_pages
from ingest.parsing.quality import TextQuality, is_real_title, text_quality
from rag.types import ParsedFile

_PASSWORD_PROTECTED = "The PDF is password-protected; remove the password or ingest an unprotected copy."
_MAX_TITLE_CHARS = 120
_MAX_TITLE_WORDS = 15
_SENTENCE_BREAK = re.compile(r"[.?!]\s+\w")
"""A line with a sentence ending inside it is body text, not a heading."""
_TITLE_LINES = 6
_CONTINUES = frozenset(
    ("and", "or", "of", "the", "to", "for", "with", "a", "an", "in", "on", "by")
    + ("y", "o", "u", "e", "de", "del", "la", "el", "los", "las", "en", "con", "para", "por", "al", "que")
)
"""Words a heading does not end on: a line ending on one goes on in the next."""
_MEMO_HEADER = re.compile(
    r"^(to|from|cc|bcc|date|subject|re|attn|para|de|fecha|asunto|ref|referencia|a la atención de)\s*:\s*",
    re.IGNORECASE,
)
_SUBJECT_KEYS = frozenset({"subject", "re", "asunto", "ref", "referencia"})
_OCR_MARGIN = 0.05
"""OCR text replaces a text layer only when it scores clearly better: a dense table page can score low
either way, and its text layer, when it is not garbage, is more exact than OCR."""
_PDFIUM_PASSWORD_ERROR = 4  # FPDF_ERR_PASSWORD


def _pypdf_pages(path: Path, notes: list[str]) -> tuple[list[str], str | None]:
    """Extract text per page with pypdf in lenient mode.

    Raises:
        SkipFile: The PDF is encrypted with a password other than the empty one.
    """
    reader = PdfReader(path, strict=False)
    if reader.is_encrypted:
        try:
            unlocked = reader.decrypt("") != PasswordType.NOT_DECRYPTED
        except (NotImplementedError, ValueError) as e:
            raise SkipFile(_PASSWORD_PROTECTED) from e
        if not unlocked:
            raise SkipFile(_PASSWORD_PROTECTED)
    title: str | None = None
    try:
        raw_title = reader.metadata.title if reader.metadata else None
        title = str(raw_title) if raw_title else None
    except Exception:  # noqa: BLE001 - a broken Info dictionary only costs us the title
        title = None
    texts: list[str] = []
    for number, page in enumerate(reader.pages, start=1):
        try:
            texts.append(page.extract_text() or "")
        except Exception:  # noqa: BLE001 - one bad page must not lose the others
            notes.append(f"Page {number} text could not be extracted by pypdf.")
            texts.append("")
    return texts, title


def _pdfium_text(pdf: pdfium.PdfDocument, number: int) -> str:
    page = pdf[number - 1]
    try:
        textpage = page.get_textpage()
        try:
            return str(textpage.get_text_bounded())
        finally:
            textpage.close()
    finally:
        page.close()


def _open_pdfium(path: Path) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as e:
        if getattr(e, "err_code", None) == _PDFIUM_PASSWORD_ERROR:
            raise SkipFile(_PASSWORD_PROTECTED) from e
        raise ParseFailure(
            "The PDF is damaged beyond repair (no page could be read); re-export it from its "
            "source application or ingest a fresh copy."
        ) from e


def _heading_line(texts: list[str]) -> str | None:
    """The first line near the top of page 1 that reads as a heading, not a page mark or header.

    A line that opens two or more pages is a running header and never the title; so is a line
    that is a sentence rather than a heading (too long, too many words, or wrapped onto a next line
    that goes on in lower case) or noise (see ``quality.is_real_title``).
    """
    openers = Counter(_lines(t)[0] for t in texts if _lines(t))
    first = _lines(texts[0] if texts else "")
    for i, line in enumerate(first[:_TITLE_LINES]):
        if len(texts) > 1 and openers[line] > 1:
            continue
        if i + 1 < len(first) and first[i + 1][:1].islower() and not line.endswith(":"):
            continue  # wrapped onto a line that goes on in lower case: the start of a paragraph, not a heading
        header = _MEMO_HEADER.match(line)
        if header:  # a memo's or letter's header block: its subject is a title, the addressees are not
            if header.group(1).lower() not in _SUBJECT_KEYS:
                continue
            line = line[header.end() :].strip()
            if not line:
                continue
        if len(line) > _MAX_TITLE_CHARS or len(line.split()) > _MAX_TITLE_WORDS or _SENTENCE_BREAK.search(line):
            continue
        opening = next((c for c in line if c.isalpha()), "")
        if line[-1] in ".,;" or opening.islower():  # the end or the middle of a sentence ("‘the following:")
            continue
        if line.split()[-1].lower() in _CONTINUES:  # "..., NADLER, and": cut off mid-phrase
            continue
        if is_real_title(line):
            return line
    return None


def _lines(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def _ocr_plan(texts: list[str], options: ParseOptions) -> tuple[list[int], dict[int, TextQuality], list[str]]:
    """Which pages to OCR: image-only ones and those whose text layer looks unreadable, capped.

    Returns:
        The pages (1-based, in order, at most ``ocr_max_pages``), the quality of each unreadable
        layer, and notes.
    """
    wanted: list[int] = []
    garbled: dict[int, TextQuality] = {}
    for number, text in enumerate(texts, start=1):
        if len(text.strip()) < options.ocr_min_chars:
            wanted.append(number)
            continue
        quality = text_quality(text)
        if not quality.readable:
            garbled[number] = quality
            wanted.append(number)
    notes = []
    if len(wanted) > options.ocr_max_pages:
        notes.append(
            f"{len(wanted)} pages needed OCR; only the first {options.ocr_max_pages} were OCRed (ingest.ocr_max_pages)."
        )
        wanted = wanted[: options.ocr_max_pages]
    return wanted, garbled, notes


def parse_pdf(path: Path, ctx: ParseContext) -> ParsedFile:
    """Parse a PDF into one TEXT block per page that has text, numbered from 1.

    pypdf reads the text layer; when it cannot open the file at all, pypdfium2 (PDFium, the
    Chrome PDF engine, which repairs more) reads it instead. When OCR is on, pages with fewer
    than ``ocr_min_chars`` characters are rendered and OCRed, and so are pages whose text layer
    looks unreadable (``quality.text_quality``): for those the better-scoring text is kept and the
    choice is written to the notes, page by page. At most ``ocr_max_pages`` pages are OCRed.

    Raises:
        SkipFile: Password-protected, or image-only with OCR off or unavailable.
        ParseFailure: Neither engine can read the file.
    """
    options = ctx.options
    notes: list[str] = []
    pdf: pdfium.PdfDocument | None = None
    try:
        try:
            texts, metadata_title = _pypdf_pages(path, notes)
        except SkipFile:
            raise
        except Exception:  # noqa: BLE001 - fall back to the more forgiving engine
            pdf = _open_pdfium(path)
            texts = [_pdfium_text(pdf, n) for n in range(1, len(pdf) + 1)]
            metadata_title = pdf.get_metadata_dict().get("Title")
            notes.append("The PDF structure is damaged; its text was recovered with PDFium.")
        texts = [clean_text(t) for t in texts]

        sparse = [n for n, t in enumerate(texts, start=1) if len(t.strip()) < options.ocr_min_chars]
        wanted, garbled, plan_notes = _ocr_plan(texts, options) if options.ocr else ([], {}, [])
        ocr_pages: list[int] = []
        ocr_failed = False
        if wanted:
            notes += plan_notes
            pdf = pdf or _open_pdfium(path)
            try:
                recognised = ocr_pdf_pages(pdf, wanted, options.ocr_languages, options.ocr_dpi)
            except OcrUnavailable as e:
                ocr_failed = True
                notes.append(f"Pages {wanted} were not OCRed: {e}")
            else:
                for number, text in recognised.items():
                    text = clean_text(text)
                    layer = garbled.get(number)
                    if layer is None:  # image-only: OCR is all there is
                        if len(text.strip()) > len(texts[number - 1].strip()):
                            texts[number - 1] = text
                            ocr_pages.append(number)
                        continue
                    ocr = text_quality(text)
                    if ocr.score >= layer.score + _OCR_MARGIN:
                        texts[number - 1] = text
                        ocr_pages.append(number)
                        notes.append(
                            f"Page {number}: the text layer looked unreadable ({layer.describe()}); "
                            f"the OCR text was kept ({ocr.describe()})."
                        )
                    else:
                        notes.append(
                            f"Page {number}: the text layer looked unreadable ({layer.describe()}) but OCR was "
                            f"no better ({ocr.describe()}); the text layer was kept."
                        )
    finally:
        if pdf is not None:
            pdf.close()

    blocks = []
    for number, text in enumerate(texts, start=1):
        builder = BlockBuilder(page=number)
        builder.paragraph(text)
        blocks += builder.blocks()
    if not blocks and sparse and not ocr_pages:
        raise SkipFile(
            "The PDF has no text layer and OCR is off or unavailable; turn OCR on or install "
            "tesseract to ingest scanned documents."
            if not options.ocr or ocr_failed
            else "The PDF has no readable text, even after OCR; check that it is not blank."
        )
    return ParsedFile(
        title=pick_title(metadata_title, _heading_line(texts), fallback=ctx.stem),
        blocks=tuple(blocks),
        format="pdf",
        ocr_pages=tuple(ocr_pages),
        notes=tuple(notes),
    )
