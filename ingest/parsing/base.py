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
    """How deep attachments and archive members may nest (a zip in a zip in an e-mail...)."""
    ocr_max_pages: int = 50
    """Most pages OCRed per file, image-only pages and unreadable text layers together."""
    convert_timeout_s: float = 120.0
    """Time limit of one LibreOffice conversion (legacy Office formats)."""
    max_archive_members: int = 1000
    """Members of a .zip parsed as documents; the rest are noted and left out."""
    extra_parsers: tuple[tuple[str, str], ...] = ()
    """(suffix, 'module:function') pairs that add or replace parsers (settings ``ingest.parsers``)."""
