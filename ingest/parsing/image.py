"""Images (scans, photos of documents, screenshots): text by tesseract OCR, one block per frame.

Pillow opens the image (its decompression-bomb guard applies) and each frame, capped at
``ocr_max_pages`` frames and 40 megapixels, is saved as PNG for tesseract. A multi-page TIFF gives
one block per page.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

from PIL import Image, ImageSequence

from ingest.errors import ParseFailure, SkipFile
from ingest.parsing.context import ParseContext
from ingest.parsing.markdown import BlockBuilder, clean_text
from ingest.parsing.ocr import OcrUnavailable, ocr_image, tesseract_path
from rag.types import Block, ParsedFile

_MAX_PIXELS = 40_000_000


def parse_image(path: Path, ctx: ParseContext) -> ParsedFile:
    """OCR an image file.

    Raises:
        SkipFile: OCR is off or unavailable, or the image holds no readable text.
        ParseFailure: The image cannot be decoded, or is a decompression bomb.
    """
    options = ctx.options
    if not options.ocr or tesseract_path() is None:
        raise SkipFile(
            "The image has no text layer and OCR is off or unavailable; turn OCR on or install tesseract to "
            "ingest scanned images."
        )
    try:
        image = Image.open(path)
    except Image.DecompressionBombError as e:
        raise ParseFailure("The image is too large to decode safely (a possible decompression bomb).") from e
    except (OSError, ValueError, SyntaxError) as e:
        raise ParseFailure("The image cannot be decoded; check that it is not damaged.") from e
    blocks: list[Block] = []
    notes: list[str] = []
    with image, tempfile.TemporaryDirectory(prefix="fuente-img-") as tmp:
        frames = getattr(image, "n_frames", 1)
        multi = frames > 1
        for number, frame in enumerate(ImageSequence.Iterator(image), start=1):
            if number > options.ocr_max_pages:
                notes.append(f"The image has {frames} pages; only the first {options.ocr_max_pages} were OCRed.")
                break
            picture = frame.convert("RGB") if frame.mode not in ("1", "L", "RGB") else frame.copy()
            width, height = picture.size
            if width * height > _MAX_PIXELS:
                scale = math.sqrt(_MAX_PIXELS / (width * height))
                picture = picture.resize((max(1, int(width * scale)), max(1, int(height * scale))))
            target = Path(tmp) / f"frame-{number}.png"
            picture.save(target)
            try:
                text = clean_text(ocr_image(target, options.ocr_languages))
            except OcrUnavailable as e:
                raise SkipFile(
                    f"The image could not be OCRed ({e.__class__.__name__}); check the tesseract installation."
                ) from e
            builder = BlockBuilder(page=number) if multi else BlockBuilder()
            builder.paragraph(text)
            blocks += builder.blocks()
    if not blocks:
        raise SkipFile("The image contains no readable text (OCR found none); nothing was ingested.")
    return ParsedFile(
        title=ctx.stem,
        blocks=tuple(blocks),
        format="image",
        ocr_pages=tuple(b.page for b in blocks if b.page is not None) or (1,),
        notes=tuple(notes),
    )
