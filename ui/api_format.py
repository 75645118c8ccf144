"""The OpenAI chat-completions shapes the API speaks, built from Fuente's answers (pure functions).

An answer's citations travel twice: in the text, as a "Sources" list after the answer (what a chat
front-end shows as is), and as structured data: ``message.citations`` and ``message.refused`` on
the choice, and a top-level ``fuente`` object (verdict, citations, closest sources, route, model,
timings, question id). Clients that know nothing of them ignore them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from rag.assistant import Answer, Turn
from ui.api_service import ApiError

SOURCES_HEADING = {"en": "Sources:", "es": "Fuentes:"}
CLOSEST_HEADING = {"en": "Closest sources:", "es": "Fuentes más cercanas:"}
UNSUPPORTED_NOTE = {
    "en": "The text above is not supported by the documents.",
    "es": "El texto anterior no está respaldado por los documentos.",
}


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(BaseModel):
    """A chat completion request; sampling parameters (temperature, max_tokens...) are accepted and ignored."""

    model_config = ConfigDict(extra="allow")
    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: dict[str, Any] | None = None


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    query: str = Field(min_length=1, max_length=4000)
    k: int = Field(8, ge=1, le=50)


def text_of(message: ChatMessage) -> str:
    """A message's text: a string, or the text parts of a list of content parts."""
    if isinstance(message.content, str):
        return message.content
    parts = message.content or []
    return "\n".join(str(p.get("text", "")) for p in parts if p.get("type") == "text")


def strip_sources(text: str) -> str:
    """An earlier answer as the assistant said it, without the sources list the API appended."""
    for heading in (*SOURCES_HEADING.values(), *CLOSEST_HEADING.values()):
        marker = f"\n\n{heading}\n"
        if marker in text:
            text = text.split(marker, 1)[0]
    return text.strip()


def conversation(messages: Sequence[ChatMessage]) -> tuple[str, list[Turn]]:
    """The question (the last user message) and the earlier exchanges as turns; system messages are ignored.

    Raises:
        ApiError: the last message is not the user's, or it is empty.
    """
    last = messages[-1]
    question = text_of(last).strip() if last.role == "user" else ""
    if last.role != "user":
        raise ApiError(400, "The last message must be the user's question (role `user`).", code="invalid_messages")
    if not question:
        raise ApiError(
            400, "The question is empty; send the question as the last user message.", code="invalid_messages"
        )
    turns: list[Turn] = []
    pending: str | None = None
    for m in messages[:-1]:
        if m.role == "user":
            pending = text_of(m).strip()
        elif m.role == "assistant" and pending:
            turns.append(Turn(pending, strip_sources(text_of(m))))
            pending = None
    return question, turns


def citation_dict(c: Any) -> dict[str, Any]:
    return {
        "n": c.n,
        "chunk_id": c.chunk_id,
        "title": c.title,
        "source_uri": c.source_uri,
        "location": c.location,
        "snippet": c.snippet,
    }


def _language(answer: Answer) -> str:
    language = getattr(answer, "language", "en")
    return language if language in SOURCES_HEADING else "en"


def sources_block(answer: Answer) -> str:
    """The "Sources:" list appended to the text (closest sources for a refusal); empty when there are none."""
    listed = answer.closest_sources if answer.refused else answer.citations
    if not listed:
        return ""
    heading = (CLOSEST_HEADING if answer.refused else SOURCES_HEADING)[_language(answer)]
    lines = [f"[{c.n}] {c.title} ({c.location or 'whole document'}) - {c.source_uri}" for c in listed]
    return f"\n\n{heading}\n" + "\n".join(lines)


def tail_text(answer: Answer, streamed: str) -> str:
    """What still has to be sent after ``streamed`` so the client ends with the verified answer and its sources.

    In live streaming the generated tokens were sent as they came; when verification changed the
    answer (a refusal, say), the verified text follows with a note that the text above is unsupported.
    """
    final = answer.text.strip()
    if not streamed.strip():
        body = final
    elif streamed.strip() == final:
        body = ""
    else:
        body = f"\n\n---\n{UNSUPPORTED_NOTE[_language(answer)]} {final}" if answer.refused else f"\n\n---\n{final}"
    return body + sources_block(answer)


def fuente_extra(answer: Answer, timings: dict[str, float]) -> dict[str, Any]:
    return {
        "question_id": answer.question_id,
        "refused": bool(answer.refused),
        "verdict": answer.verdict,
        "citations": [citation_dict(c) for c in answer.citations],
        "closest_sources": [citation_dict(c) for c in answer.closest_sources],
        "route": answer.route,
        "model": answer.model,
        "timings": timings,
        "tokens": dict(answer.tokens or {}),
    }


def usage(answer: Answer) -> dict[str, int]:
    prompt = int((answer.tokens or {}).get("prompt", 0) or 0)
    completion = int((answer.tokens or {}).get("completion", 0) or 0)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def completion_id(answer: Answer | None = None) -> str:
    return f"chatcmpl-{answer.question_id}" if answer is not None else f"chatcmpl-{int(time.time() * 1000)}"


def chat_completion(answer: Answer, model: str, timings: dict[str, float]) -> dict[str, Any]:
    """A whole (non-streamed) chat.completion."""
    return {
        "id": completion_id(answer),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": answer.text.strip() + sources_block(answer),
                    "refusal": None,
                    "citations": [citation_dict(c) for c in answer.citations],
                    "refused": bool(answer.refused),
                },
                "finish_reason": "stop",
            }
        ],
        "usage": usage(answer),
        "fuente": fuente_extra(answer, timings),
    }


@dataclass
class ChunkWriter:
    """Server-sent events of one streamed chat completion."""

    id: str
    model: str
    created: int = 0

    def __post_init__(self) -> None:
        self.created = self.created or int(time.time())

    def event(self, delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        body = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    def content(self, text: str) -> str:
        return self.event({"content": text})

    def last(self, answer: Answer, timings: dict[str, float], include_usage: bool) -> str:
        extra: dict[str, Any] = {"fuente": fuente_extra(answer, timings)}
        if include_usage:
            extra["usage"] = usage(answer)
        return self.event({"citations": extra["fuente"]["citations"], "refused": bool(answer.refused)}, "stop", **extra)


def error_body(e: ApiError) -> dict[str, Any]:
    return {"error": {"message": e.message, "type": e.type, "param": None, "code": e.code}}


def error_event(e: ApiError) -> str:
    return f"data: {json.dumps(error_body(e), ensure_ascii=False)}\n\n"


DONE = "data: [DONE]\n\n"
