"""The hybrid-AI policy: per question, the local model or the cloud one, and what the cloud may see.

The rule is all-or-nothing: a cloud model answers only when the policy allows the cloud, a cloud
model is there, and *every* retrieved chunk is at or below the sensitivity ceiling. One chunk
above it keeps the whole question local; chunks are never dropped silently to make a question
fit, because an answer from a partial context is a worse answer nobody asked for. What does go
to the cloud is redacted first (:func:`prepare_for_cloud`), and the caller logs it
(:class:`rag.egress.EgressLog`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from rag.errors import PolicyError
from rag.pii import Redaction, Redactor, total_counts
from rag.settings import PolicySettings
from rag.types import Chunk, Sensitivity

__all__ = ["PolicySettings", "RouteDecision", "decide_route", "prepare_for_cloud"]


@dataclass(frozen=True)
class RouteDecision:
    """Who answers a question, and why.

    Attributes:
        route: ``"local"`` or ``"cloud"``.
        reason: one sentence for the user or the log.
        allowed_chunks: the chunks the cloud model may see (all retrieved chunks when the route
            is cloud, none when it is local: the local model sees everything retrieved).
    """

    route: Literal["local", "cloud"]
    reason: str
    allowed_chunks: tuple[Chunk, ...] = ()


def _above(chunks: Sequence[Chunk], ceiling: Sensitivity) -> list[Chunk]:
    return [c for c in chunks if c.access.sensitivity.rank > ceiling.rank]


def decide_route(settings: PolicySettings, chunks: Sequence[Chunk], *, cloud_available: bool) -> RouteDecision:
    """Pick the model for one question from the policy and the chunks retrieved for it.

    ``cloud`` and ``auto`` follow the same rule: the cloud when enabled, available and every chunk
    is at or below ``settings.sensitivity_ceiling``; otherwise the local model.

    Args:
        settings: the ``policy`` section of the settings.
        chunks: every chunk retrieved for the question (what the answer would be grounded on).
        cloud_available: whether a cloud model is configured (and, if the caller checks, reachable).
    """
    if not settings.cloud_enabled:
        return RouteDecision(
            "local", "Cloud models are disabled (policy.cloud_enabled is false), so the local model answers."
        )
    if settings.route == "local":
        return RouteDecision("local", "The policy sends every question to the local model (policy.route is local).")
    ceiling = settings.sensitivity_ceiling
    above = _above(chunks, ceiling)
    if above:
        levels = Counter(c.access.sensitivity.value for c in above)
        detail = ", ".join(f"{n} {level}" for level, n in sorted(levels.items()))
        return RouteDecision(
            "local",
            f"{len(above)} of {len(chunks)} retrieved chunks are above the '{ceiling.value}' sensitivity ceiling "
            f"({detail}), so the whole question stays with the local model.",
        )
    if not cloud_available:
        return RouteDecision("local", "No cloud model is configured or reachable, so the local model answers.")
    return RouteDecision(
        "cloud",
        f"All {len(chunks)} retrieved chunks are at or below the '{ceiling.value}' sensitivity ceiling, "
        "so the cloud model answers from their redacted text.",
        tuple(chunks),
    )


def prepare_for_cloud(
    chunks: Sequence[Chunk], redactor: Redactor | None, *, ceiling: Sensitivity | None = None
) -> list[tuple[Chunk, Redaction]]:
    """The chunks as the cloud model may see them, each with what was redacted from it.

    Each returned chunk is a copy whose text, title, section path, sheet and attachment names and source URI went through
    the redactor (a file name can hold a DNI as easily as the text can) and whose ``extra`` is
    emptied; ids are kept, so citations map back to the originals. The redaction's ``text`` is
    the redacted chunk text and its ``counts`` cover all those fields.

    Args:
        chunks: normally ``decide_route(...).allowed_chunks``.
        redactor: one session per question; None when ``policy.redact_pii`` is false.
        ceiling: when given, refuse any chunk above it (a second guard behind :func:`decide_route`).

    Raises:
        PolicyError: a chunk is above ``ceiling``.
    """
    if ceiling is not None and (above := _above(chunks, ceiling)):
        raise PolicyError(
            f"{len(above)} chunk(s) above the '{ceiling.value}' sensitivity ceiling were about to be sent to a "
            "cloud model; they were not sent. Route the question with decide_route first."
        )
    prepared: list[tuple[Chunk, Redaction]] = []
    for chunk in chunks:
        if redactor is None:
            prepared.append((replace(chunk, extra={}), Redaction(chunk.text, {})))
            continue
        text = redactor.redact(chunk.text)
        title = redactor.redact(chunk.title)
        source = redactor.redact(chunk.source_uri)
        section = [redactor.redact(s) for s in chunk.section]
        # Sheet and attachment names are shown in the prompt's location too: "nominas_12345678Z.xlsx".
        sheet = redactor.redact(chunk.sheet) if chunk.sheet else None
        part = redactor.redact(chunk.part) if chunk.part else None
        located = [r for r in (sheet, part) if r is not None]
        cloud_chunk = replace(
            chunk,
            text=text.text,
            title=title.text,
            source_uri=source.text,
            section=tuple(s.text for s in section),
            sheet=sheet.text if sheet else None,
            part=part.text if part else None,
            extra={},
        )
        prepared.append((cloud_chunk, Redaction(text.text, total_counts([text, title, source, *section, *located]))))
    return prepared
