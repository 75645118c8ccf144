"""PDF: one block per page via pypdf, with pypdfium2 for broken files and OCR page images."""

from __future__ import annotations

from pathlib import Path

import pypdfium2 as pdfium
from pypdf import PasswordType, PdfReader

from ingest.parsing.context import ParseContext, pick_title
from ingest.parsing.markdown import BlockBuilder, clean_text
from ingest.parsing.ocr import OcrUnavailable, ocr_pdf_pages
from rag.errors import ParseFailure, SkipFile
from rag.types import ParsedFile

_PASSWORD_PROTECTED = "The PDF is password-protected; remove the password or ingest an unprotected copy."
_MAX_TITLE_CHARS = 120
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


def _first_line(texts: list[str]) -> str | None:
    """The first non-blank line of the document, if it is short enough to be a title."""
    for text in texts:
        for line in text.splitlines():
            line = " ".join(line.split())
            if line:
                return line if len(line) <= _MAX_TITLE_CHARS else None
    return None


def parse_pdf(path: Path, ctx: ParseContext) -> ParsedFile:
    """Parse a PDF into one TEXT block per page that has text, numbered from 1.

    pypdf reads the text layer; when it cannot open the file at all, pypdfium2 (PDFium, the
    Chrome PDF engine, which repairs more) reads it instead. Pages with fewer than
    ``ocr_min_chars`` characters are rendered and OCRed when OCR is on.

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
        ocr_pages: list[int] = []
        ocr_failed = False
        if sparse and options.ocr:
            pdf = pdf or _open_pdfium(path)
            try:
                recognised = ocr_pdf_pages(pdf, sparse, options.ocr_languages, options.ocr_dpi)
            except OcrUnavailable as e:
                ocr_failed = True
                notes.append(f"Pages {sparse} were not OCRed: {e}")
            else:
                for number, text in recognised.items():
                    text = clean_text(text)
                    if len(text.strip()) > len(texts[number - 1].strip()):
                        texts[number - 1] = text
                        ocr_pages.append(number)
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
        title=pick_title(metadata_title, _first_line(texts), fallback=ctx.stem),
        blocks=tuple(blocks),
        format="pdf",
        ocr_pages=tuple(ocr_pages),
        notes=tuple(notes),
    )
