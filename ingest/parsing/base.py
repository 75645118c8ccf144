"""What every parser takes and gives back."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ParseOptions:
    """Limits and switches for parsing one file. Built from settings by the ingestion job."""

    max_file_bytes: int = 100 * 1024 * 1024
    max_uncompressed_bytes: int = 500 * 1024 * 1024
    """Cap on the total uncompressed size of a zip-based file (Office, ODT): zip-bomb guard."""
    max_compression_ratio: float = 200.0
    ocr: bool = True
    ocr_languages: str = "spa+eng"
    ocr_min_chars: int = 20
    """A PDF page with fewer extracted characters than this is treated as image-only and OCRed."""
    ocr_dpi: int = 200
    max_attachment_depth: int = 2
