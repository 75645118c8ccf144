"""OCR of rendered PDF pages and image files with the ``tesseract`` command-line tool."""

from __future__ import annotations

import logging
import math
import shutil
import subprocess
import tempfile
from pathlib import Path

import pypdfium2 as pdfium

from ingest.errors import IngestError

logger = logging.getLogger(__name__)

TIMEOUT_S = 180
"""Per page. A dense A4 page at 200 dpi takes a few seconds; this only stops a stuck process."""

_MAX_PIXELS = 40_000_000
"""Poster-sized pages are rendered at a lower resolution rather than as gigapixel images."""


class OcrUnavailable(IngestError):
    """Tesseract is not installed or cannot run; OCR is skipped with a note."""


def tesseract_path() -> str | None:
    return shutil.which("tesseract")


def _render(page: pdfium.PdfPage, dpi: int, target: Path) -> None:
    width, height = page.get_size()  # in points, 1/72 inch
    scale = min(dpi / 72, math.sqrt(_MAX_PIXELS / max(width * height, 1.0)))
    bitmap = page.render(scale=scale)
    bitmap.to_pil().save(target)


def _tesseract(tesseract: str, image: Path, languages: str) -> str:
    try:
        result = subprocess.run(
            [tesseract, str(image), "stdout", "-l", languages],
            capture_output=True,
            timeout=TIMEOUT_S,
            check=False,
        )
    except (subprocess.TimeoutExpired, OSError) as e:
        raise OcrUnavailable(f"Tesseract did not finish ({type(e).__name__}).") from e
    if result.returncode != 0:
        detail = result.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["?"]
        raise OcrUnavailable(f"Tesseract failed: {detail[0]}")
    return result.stdout.decode("utf-8", "replace")


def ocr_image(image: Path, languages: str) -> str:
    """OCR one image file (PNG, TIFF, JPEG...).

    Raises:
        OcrUnavailable: Tesseract is missing or fails.
    """
    tesseract = tesseract_path()
    if tesseract is None:
        raise OcrUnavailable("The tesseract program is not installed.")
    return _tesseract(tesseract, image, languages)


def ocr_pdf_pages(pdf: pdfium.PdfDocument, page_numbers: list[int], languages: str, dpi: int) -> dict[int, str]:
    """OCR the given 1-based pages of an open PDF.

    Args:
        pdf: The document, opened with pypdfium2.
        page_numbers: Pages to OCR, 1-based.
        languages: Tesseract language string, e.g. ``"spa+eng"``.
        dpi: Rendering resolution.

    Returns:
        The recognised text per page number (possibly empty strings).

    Raises:
        OcrUnavailable: Tesseract is missing or fails; the caller keeps the text it has.
    """
    tesseract = tesseract_path()
    if tesseract is None:
        raise OcrUnavailable("The tesseract program is not installed.")
    texts: dict[int, str] = {}
    with tempfile.TemporaryDirectory(prefix="fuente-ocr-") as tmp:
        for number in page_numbers:
            image = Path(tmp) / f"page-{number}.png"
            page = pdf[number - 1]
            try:
                _render(page, dpi, image)
            except (pdfium.PdfiumError, OSError, ValueError):
                # One page PDFium cannot draw should not cost the other pages their OCR.
                logger.warning("Page %d could not be rendered for OCR.", number, exc_info=True)
                continue
            finally:
                page.close()
            texts[number] = _tesseract(tesseract, image, languages)
            image.unlink()
    return texts
