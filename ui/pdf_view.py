"""A cited PDF page as an image, the quoted sentence highlighted (pypdfium2 renders, PIL draws).

The quote is found in pdfium's text layer of the page (:mod:`ui.quote_match`: tolerant of
whitespace, hyphenation and ligatures), its characters' boxes are merged into one rectangle
per line, and the rectangles are mapped to the rendered image's pixels by pdfium itself
(``FPDF_PageToDevice``, so crop boxes and rotated pages come out right).
"""

from __future__ import annotations

import ctypes
import io
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image, ImageDraw

from ui.quote_match import find_spans

WIDTH = 1100
"""Width in pixels of a rendered page: readable in the viewer without zooming."""
FILL = (255, 214, 0, 110)
OUTLINE = (214, 140, 0, 255)


@dataclass(frozen=True)
class Box:
    """A highlighted rectangle in image pixels."""

    left: int
    top: int
    right: int
    bottom: int


@dataclass(frozen=True)
class PageView:
    png: bytes
    page: int
    """1-based, the page shown."""
    pages: int
    boxes: tuple[Box, ...]
    width: int
    height: int

    @property
    def found(self) -> bool:
        return bool(self.boxes)


def _page_chars(textpage: pdfium.PdfTextPage) -> list[str]:
    n = textpage.count_chars()
    return [chr(pdfium_c.FPDFText_GetUnicode(textpage.raw, i) or 32) for i in range(n)]


def _line_rects(textpage: pdfium.PdfTextPage, spans: list[tuple[int, int]]) -> list[tuple[float, float, float, float]]:
    """One rectangle (left, bottom, right, top in page points) per line the spans' characters sit on."""
    rects: list[list[float]] = []
    for start, end in spans:
        current: list[float] | None = None
        for i in range(start, end):
            left, bottom, right, top = textpage.get_charbox(i)
            if right - left <= 0 or top - bottom <= 0:  # spaces and generated line breaks have no box
                continue
            if current is not None:
                height = max(current[3] - current[1], top - bottom)
                same_line = abs((bottom + top) / 2 - (current[1] + current[3]) / 2) < height / 2
                if same_line and left >= current[0] - height:
                    current[0], current[1] = min(current[0], left), min(current[1], bottom)
                    current[2], current[3] = max(current[2], right), max(current[3], top)
                    continue
                rects.append(current)
            current = [left, bottom, right, top]
        if current is not None:
            rects.append(current)
    return [(r[0], r[1], r[2], r[3]) for r in rects]


def _to_device(page: pdfium.PdfPage, size: tuple[int, int], x: float, y: float) -> tuple[int, int]:
    dx, dy = ctypes.c_int(), ctypes.c_int()
    pdfium_c.FPDF_PageToDevice(page.raw, 0, 0, size[0], size[1], 0, x, y, ctypes.byref(dx), ctypes.byref(dy))
    return dx.value, dy.value


def locate(page: pdfium.PdfPage, quote: str, size: tuple[int, int]) -> list[Box]:
    """The boxes, in pixels of a ``size`` rendering of ``page``, that cover ``quote`` (none when absent)."""
    textpage = page.get_textpage()
    try:
        spans = find_spans(_page_chars(textpage), quote)
        rects = _line_rects(textpage, spans)
    finally:
        textpage.close()
    boxes = []
    pad = 2
    for left, bottom, right, top in rects:
        x0, y0 = _to_device(page, size, left, top)
        x1, y1 = _to_device(page, size, right, bottom)
        boxes.append(Box(min(x0, x1) - pad, min(y0, y1) - pad, max(x0, x1) + pad, max(y0, y1) + pad))
    return boxes


def find_page(path: Path, quote: str) -> int | None:
    """The first page (1-based) that holds ``quote``, for a citation that names no page."""
    pdf = pdfium.PdfDocument(str(path))
    try:
        for number in range(1, len(pdf) + 1):
            page = pdf[number - 1]
            try:
                textpage = page.get_textpage()
                try:
                    if find_spans(_page_chars(textpage), quote):
                        return number
                finally:
                    textpage.close()
            finally:
                page.close()
    finally:
        pdf.close()
    return None


def render(path: Path, page_number: int, quote: str, width: int = WIDTH) -> PageView:
    """Page ``page_number`` (1-based; clamped to the document) of the PDF at ``path``, ``quote`` highlighted."""
    pdf = pdfium.PdfDocument(str(path))
    try:
        pages = len(pdf)
        number = min(max(page_number, 1), pages)
        page = pdf[number - 1]
        try:
            scale = width / page.get_width()
            image = page.render(scale=scale).to_pil().convert("RGBA")
            boxes = locate(page, quote, image.size) if quote.strip() else []
        finally:
            page.close()
    finally:
        pdf.close()
    if boxes:
        overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
        draw = ImageDraw.Draw(overlay)
        for b in boxes:
            draw.rectangle((b.left, b.top, b.right, b.bottom), fill=FILL, outline=OUTLINE, width=2)
        image = Image.alpha_composite(image, overlay)
    # A hairline frame: a white page on the app's white background has no edges otherwise.
    ImageDraw.Draw(image).rectangle((0, 0, image.size[0] - 1, image.size[1] - 1), outline=(200, 200, 200, 255))
    out = io.BytesIO()
    image.convert("RGB").save(out, format="PNG", optimize=True)
    return PageView(out.getvalue(), number, pages, tuple(boxes), image.size[0], image.size[1])
