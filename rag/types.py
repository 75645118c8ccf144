"""The core data types shared by ingestion, retrieval, generation and evaluation.

All are frozen dataclasses: they travel between modules and processes and are never mutated.
A score is always "higher is better"; distances are converted at the index boundary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Sensitivity(StrEnum):
    """How far a document may travel. Ordered: each level includes the ones before it."""

    PUBLIC = "public"
    INTERNAL = "internal"
    CONFIDENTIAL = "confidential"
    RESTRICTED = "restricted"

    @property
    def rank(self) -> int:
        return list(Sensitivity).index(self)


EVERYONE = "everyone"
"""The group every user belongs to; chunks labelled with it are open to all."""


@dataclass(frozen=True)
class AccessLabel:
    """Who may see a document, and how sensitive it is."""

    groups: frozenset[str]
    sensitivity: Sensitivity

    @property
    def key(self) -> str:
        """A stable name for this set of groups (the index partitions by it)."""
        return "+".join(sorted(self.groups))

    def visible_to(self, user_groups: frozenset[str]) -> bool:
        return EVERYONE in self.groups or bool(self.groups & user_groups)


class BlockKind(StrEnum):
    TEXT = "text"
    TABLE = "table"


@dataclass(frozen=True)
class Block:
    """A run of text from a parsed file, with where it came from.

    Parsers emit blocks in reading order. Text blocks may contain Markdown headings
    (``# Title``); the chunker turns them into the section path. Table blocks hold one
    Markdown table whose first row is the header.
    """

    text: str
    kind: BlockKind = BlockKind.TEXT
    page: int | None = None
    slide: int | None = None
    sheet: str | None = None
    heading_path: tuple[str, ...] = ()
    part: str | None = None
    """Name of the embedded part the block came from (an e-mail attachment), else None."""
    part_title: str | None = None


@dataclass(frozen=True)
class ParsedFile:
    """What a parser returns: the title and blocks of one file (attachments included)."""

    title: str
    blocks: tuple[Block, ...]
    format: str
    """Short name of the format that parsed it: pdf, docx, pptx, xlsx, csv, html, md, txt, eml, msg, odt."""
    ocr_pages: tuple[int, ...] = ()
    notes: tuple[str, ...] = ()
    """Non-fatal remarks worth showing (an attachment that was skipped, say)."""


@dataclass(frozen=True)
class Chunk:
    """A piece of a document, the unit that is embedded, indexed and cited."""

    id: str
    doc_id: str
    text: str
    ordinal: int
    source_uri: str
    title: str
    access: AccessLabel
    language: str
    modified: float
    content_hash: str
    page: int | None = None
    slide: int | None = None
    sheet: str | None = None
    section: tuple[str, ...] = ()
    part: str | None = None
    kind: BlockKind = BlockKind.TEXT
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class ScoredChunk:
    """A chunk returned by a retriever; higher score is better."""

    chunk: Chunk
    score: float
    retriever: str
