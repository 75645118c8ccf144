"""The core data types shared by ingestion, retrieval, generation and evaluation.

All are frozen dataclasses: they travel between modules and processes and are never mutated.
A score is always "higher is better"; distances are converted at the index boundary.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
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


# --------------------------------------------------------------------------- the answer path


@dataclass(frozen=True)
class User:
    """Who asks: a name (None for an anonymous CLI call) and the groups whose documents they may see."""

    name: str | None
    groups: frozenset[str]


@dataclass(frozen=True)
class Turn:
    """One earlier exchange of a conversation."""

    question: str
    answer: str
    sensitive: bool | None = None
    """Whether that turn drew on documents above the cloud's sensitivity ceiling (``Answer.sensitive``).
    None (not known, e.g. history sent by an API client) counts as True: the conversation stays local."""


@dataclass(frozen=True)
class Evidence:
    """One item of the evidence list given to the model: a sentence (or table row) of a retrieved chunk.

    ``text`` is the unit as it stands in the chunk (a table row is prefixed by its header row), so a
    quote of it can be found again in the source; ``score`` is its best relevance to the question.
    """

    n: int
    chunk: Chunk
    text: str
    score: float
    position: int = 0
    """Index of the unit within its chunk (reading order)."""
    span: int = 1
    """How many consecutive units of the chunk ``text`` joins (2: the unit and the sentence after it)."""


class Verdict(StrEnum):
    SUPPORTED = "supported"
    PARTIALLY_SUPPORTED = "partially_supported"
    UNSUPPORTED = "unsupported"
    REFUSAL = "refusal"


class SentenceKind(StrEnum):
    CLAIM = "claim"
    """A sentence that states something; it must be supported by the sources it cites."""
    CONNECTIVE = "connective"
    """A short lead-in ("Según la política de viajes:"); neutral."""
    REFUSAL = "refusal"
    """The refusal sentence; neutral."""


@dataclass(frozen=True)
class SentenceCheck:
    """The verdict on one sentence of an answer.

    ``support`` is NaN when it could not be judged (no valid citation, or a neutral sentence);
    ``lexical`` and ``semantic`` are its two cheap components, kept for calibration.
    """

    text: str
    citations: tuple[int, ...]
    invalid_citations: tuple[int, ...]
    support: float
    missing_facts: tuple[str, ...]
    supported: bool
    reason: str
    kind: SentenceKind = SentenceKind.CLAIM
    lexical: float = math.nan
    semantic: float = math.nan
    forbidden_citations: tuple[int, ...] = ()
    """The invalid citations that point to a source the user may not see."""


@dataclass(frozen=True)
class Citation:
    """A source as the user sees it: numbered as in the answer, with where to find it and what it says."""

    n: int
    chunk_id: str
    title: str
    source_uri: str
    location: str
    snippet: str
    quote: str = ""
    """The sentence of the source that supports the answer (the cited evidence item), verbatim."""
    page: int | None = None


@dataclass(frozen=True)
class Answer:
    """What the assistant answered, with everything needed to show, log and evaluate it."""

    question_id: str
    question: str
    standalone_question: str
    language: str
    text: str
    refused: bool
    verdict: str
    citations: tuple[Citation, ...]
    sentences: tuple[SentenceCheck, ...]
    closest_sources: tuple[Citation, ...]
    route: str
    route_reason: str
    model: str
    prompt_version: str
    timings: dict[str, float] = field(default_factory=dict, compare=False)
    tokens: dict[str, int] = field(default_factory=dict, compare=False)
    generated_text: str = ""
    """What the model wrote, before a refusal replaced it (kept for the eval suite and the log)."""
    evidence: float = 0.0
    """Best dense similarity between the question and a visible chunk (the retrieval evidence)."""
    protocol: str = "cite_v1"
    """The answer protocol that produced it: ``extract_v1`` (evidence list, quote then answer) or ``cite_v1``."""
    reason: str = ""
    """Why it was answered or refused, in one sentence (for the log, the eval suite and the user)."""
    sensitive: bool = False
    """The answer drew on chunks above the policy's sensitivity ceiling, or its conversation already had:
    the conversation's later turns stay with the local model."""
    signals: dict[str, float] = field(default_factory=dict, compare=False)
    """The measurements the refusal decision used (relevance, coverage...), for calibration."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
