"""One question while it is answered: its context object, its citations and its language.

:class:`Asked` is what :class:`rag.assistant.Assistant` passes between the steps of one question
(retrieval, routing, the answer protocol, verification, the query log) instead of long argument lists.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from rag.language import detect_language
from rag.llm import ChatClient, Completion
from rag.protocol import LANGUAGE_NAMES
from rag.retrieval import Retrieved
from rag.types import Chunk, Citation, User

_SPANISH_HINTS = re.compile(
    r"[¿¡ñáéíóú]|\b(qué|cuál|cuánto|cuántos|cómo|dónde|cuándo|quién|el|la|los|las|de|del|para)\b", re.I
)
TokenSink = Callable[[str], None]
StatusSink = Callable[[str], None]
"""Receives the stage a question is in: ``searching``, ``reading``, ``checking``."""


def question_language(text: str) -> str:
    """es or en: the detector first, then a Spanish-marker heuristic for short questions."""
    detected = detect_language(text, min_chars=12)
    if detected in LANGUAGE_NAMES:
        return detected
    return "es" if _SPANISH_HINTS.search(text) else "en"


def location_of(chunk: Chunk) -> str:
    parts = []
    if chunk.page is not None:
        parts.append(f"p. {chunk.page}")
    if chunk.slide is not None:
        parts.append(f"slide {chunk.slide}")
    if chunk.sheet:
        parts.append(f"sheet {chunk.sheet}")
    if chunk.part:
        parts.append(f"attachment {chunk.part}")
    if chunk.section:
        parts.append(" > ".join(chunk.section))
    return ", ".join(parts)


def citation_for(n: int, chunk: Chunk, quote: str = "") -> Citation:
    snippet = quote or " ".join(chunk.text.split())[:280]
    return Citation(n, chunk.id, chunk.title, chunk.source_uri, location_of(chunk), snippet, quote, chunk.page)


def other_language(language: str) -> str:
    return "en" if language == "es" else "es"


@dataclass
class Asked:
    """Everything known about one question while it is answered (one per call of :meth:`Assistant.ask`)."""

    id: str
    question: str
    standalone: str
    language: str
    user: User
    retrieved: Retrieved
    client: ChatClient
    route_reason: str
    closest: tuple[Citation, ...]
    timings: dict[str, float] = field(default_factory=dict)
    completion: Completion = field(default_factory=Completion)
    on_token: TokenSink | None = None
    on_status: StatusSink | None = None
    sensitive: bool = False
    redactions: dict[str, int] = field(default_factory=dict)
    cloud_chunk_ids: list[str] = field(default_factory=list)

    @property
    def translation(self) -> str | None:
        return self.retrieved.queries[1] if len(self.retrieved.queries) > 1 else None

    def status(self, stage: str) -> None:
        if self.on_status is not None:
            self.on_status(stage)
