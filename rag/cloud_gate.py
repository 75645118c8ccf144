"""What leaves the machine on a cloud route: the question and evidence redacted, and an egress record first.

The assistant asks the gate for the redacted copy of what the cloud model may see (:meth:`CloudGate.prepare`)
and records each cloud request before it goes out (:meth:`CloudGate.record`), with a digest of exactly it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from rag.asked import Asked
from rag.egress import EgressLog, payload_digest
from rag.llm import Message
from rag.pii import Redactor, total_counts
from rag.policy import prepare_for_cloud
from rag.settings import Settings
from rag.types import Chunk, Evidence
from rag.verify.sentences import evidence_units


class CloudGate:
    """Redaction and the egress log for one assistant; presidio is loaded on the first cloud question only."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._pii: Redactor | None = None

    def _redactor(self) -> Redactor:
        if self._pii is None:
            self._pii = Redactor()  # loads presidio once per process, only when the cloud is used
        return self._pii

    def prepare(self, q: Asked, chunks: Sequence[Chunk]) -> tuple[str, dict[str, Chunk]]:
        """What the cloud may see: the user's own question and the chunks, redacted.

        The question is the one the user typed, never the standalone rewrite: that one is written by the
        model from earlier answers, which may hold text the cloud must not see. Returns the redacted
        question and the redacted copy of each chunk by id; the counts wait in ``q`` for :meth:`record`.
        """
        redactor = self._redactor().fresh() if self.settings.policy.redact_pii else None
        prepared = prepare_for_cloud(list(chunks), redactor, ceiling=self.settings.policy.sensitivity_ceiling)
        redacted_question = redactor.redact(q.question) if redactor is not None else None
        q.redactions = total_counts([r for _, r in prepared] + ([redacted_question] if redacted_question else []))
        q.cloud_chunk_ids = [c.id for c, _ in prepared]
        return (redacted_question.text if redacted_question else q.question), {c.id: c for c, _ in prepared}

    def record(self, q: Asked, messages: list[Message], response_format: dict[str, object] | None) -> None:
        """Write the egress record of a cloud call before the request goes out, with a digest of exactly it."""
        payload = {"model": q.client.model, "messages": messages, "response_format": response_format}
        with EgressLog.from_settings(self.settings) as egress:
            egress.record(
                question_id=q.id,
                endpoint=q.client.endpoint.base_url,
                model=q.client.model,
                chunk_ids=q.cloud_chunk_ids,
                redactions=q.redactions,
                payload_sha256=payload_digest(payload),
            )


def redacted_item(item: Evidence, redacted_chunk: Chunk) -> Evidence:
    """The evidence item as the cloud sees it: the same unit, taken from the chunk's redacted copy.

    Redaction works on whole chunks (placeholders are numbered per question), so the item's text is
    redacted on its own with the placeholders the chunk's copy received; where that is not possible
    the item is dropped to a placeholder rather than sent in clear.
    """
    if item.text in redacted_chunk.text:
        return replace(item, chunk=redacted_chunk)
    units = evidence_units(redacted_chunk)
    end = item.position + item.span
    text = " ".join(units[item.position : end]) if end <= len(units) else "<REDACTED>"
    return replace(item, chunk=redacted_chunk, text=text)
