"""What a format parser receives besides the path, and the shape every parser has."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePath

from ingest.parsing.base import ParseOptions
from rag.types import ParsedFile


@dataclass(frozen=True)
class ParseContext:
    """The options for one parse, plus who is being parsed.

    Attributes:
        options: Limits and OCR switches.
        name: The name the user knows the file by. For an e-mail attachment this is the
            attachment's file name, while the path handed to the parser is a temporary file.
        depth: 0 for a file on disk, 1 for an attachment, 2 for an attachment of an attachment...
    """

    options: ParseOptions
    name: str
    depth: int = 0

    @property
    def stem(self) -> str:
        """The name without its extension: the title of last resort."""
        return PurePath(self.name).stem or self.name


Parser = Callable[[Path, ParseContext], ParsedFile]


# Titles that Office and other tools fill in by themselves; they name the tool, not the file.
_PLACEHOLDER_TITLES = frozenset(
    {
        "powerpoint presentation",
        "presentación de powerpoint",
        "word document",
        "documento de word",
        "microsoft word document",
        "untitled",
        "untitled document",
        "untitled presentation",
        "untitled spreadsheet",
        "document",
        "documento",
        "presentation",
        "presentación",
        "sin titulo",
        "documento sin título",
        "제목 없음",
        "無題",
        "无标题",
        "sin título",
        "title",
        # Generic headings that open many documents and name none of them.
        "contents",
        "table of contents",
        "índice",
        "indice",
        "tabla de contenidos",
    }
)


def pick_title(*candidates: str | None, fallback: str) -> str:
    """Return the first candidate that is a real title, whitespace-collapsed, else ``fallback``.

    Not a title: a tool's placeholder ("Untitled"), a number or page mark ("5", "Page 2 of 9"),
    a date, OCR noise, an encoded blob. "Microsoft Word - report.docx" becomes "report".
    """
    from ingest.parsing.quality import clean_title, is_real_title

    for candidate in candidates:
        title = clean_title(candidate)
        if title and title.lower() not in _PLACEHOLDER_TITLES and is_real_title(title):
            return title
    return fallback
