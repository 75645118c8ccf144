"""Document parsers: one file (or e-mail attachment) in, a titled list of Blocks out.

Use ``parse_file`` for files on disk and ``parse_bytes`` for embedded parts. Both raise only
``SkipFile`` or ``ParseFailure`` (from ``rag.errors``), each with a one-sentence reason.
"""

from ingest.parsing.base import ParseOptions
from ingest.parsing.registry import SUPPORTED_SUFFIXES, parse_bytes, parse_file

__all__ = ["SUPPORTED_SUFFIXES", "ParseOptions", "parse_bytes", "parse_file"]
