"""The extract-then-answer protocol (``extract_v1``): what the model is asked, and how its reply is read.

The model gets a numbered evidence list (rag/evidence.py) and replies with JSON: first the numbers of
the items that answer the question, then a short answer. The shape is enforced by the server where it
can be (llama.cpp: a JSON schema turned into a grammar; vLLM: structured outputs; OpenAI: json_schema)
and read leniently where it cannot. Whether to show the answer is decided afterwards by Fuente from
the cited items (rag/verify/grounding.py), never by the model's willingness to answer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from rag import prompts
from rag.errors import GenerationError
from rag.evidence import fence_text, render_item
from rag.llm import ChatClient, Message
from rag.types import Evidence

PROTOCOL = "extract_v1"
LANGUAGE_NAMES = {"es": "Spanish", "en": "English"}
MAX_CITED = 4
ANSWER_MAX_TOKENS = 160
"""The reply is a few numbers and one or two sentences; a cap keeps a runaway model cheap."""

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "evidence": {"type": "array", "items": {"type": "integer", "minimum": 1}, "maxItems": MAX_CITED},
        "answer": {"type": "string", "maxLength": 600},
    },
    "required": ["evidence", "answer"],
    "additionalProperties": False,
}


def response_format(kind: str) -> dict[str, Any] | None:
    """The ``response_format`` that makes a server of ``kind`` enforce :data:`SCHEMA`; None for plain prompting."""
    if kind == "llamacpp":
        # llama-cpp-python's server turns a schema inside json_object into a grammar.
        return {"type": "json_object", "schema": SCHEMA}
    if kind in ("vllm", "openai"):
        return {"type": "json_schema", "json_schema": {"name": "fuente_answer", "schema": SCHEMA, "strict": True}}
    return None


def build_messages(
    question: str,
    language: str,
    evidence: Sequence[Evidence],
    *,
    translation: str | None = None,
    prompt: str = PROTOCOL,
) -> list[Message]:
    """The fixed system prompt (reused from the server's prompt cache), then evidence and question.

    Nothing that varies per question goes into the system message, so its tokens are processed once
    per server. ``translation`` (the question in the other language) is given when an item is in
    that language: a small model matches "Lisbon" to "Lisboa" more readily with both in front of it.
    """
    template = prompts.load(prompt)
    system = template.substitute()
    lines = "\n".join(render_item(item) for item in evidence)
    # A prompt whose examples open with the question (extract_v2) gets it before the evidence too, so
    # a small model reads the items knowing what to look for; the request follows the examples' shape.
    first = f"Question: {fence_text(question)}\n" if "Example request:\nQuestion:" in template.template else ""
    user = f"{first}Evidence:\n{lines}\nQuestion: {fence_text(question)}\n"
    if translation:
        other = "English" if language == "es" else "Spanish"
        user += f"(The question in {other}: {fence_text(translation)})\n"
    user += f"Answer in {LANGUAGE_NAMES.get(language, 'English')}."
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


@dataclass(frozen=True)
class Extraction:
    """What the model replied: the evidence numbers it named and its answer."""

    cited: tuple[int, ...]
    answer: str
    well_formed: bool
    """Whether the reply had the protocol's shape (JSON with both fields)."""


_NUMBERS = re.compile(r'"evidence"\s*:\s*\[([^\]]*)\]', re.IGNORECASE)
_ANSWER = re.compile(r'"answer"\s*:\s*"((?:[^"\\]|\\.)*)"?', re.IGNORECASE | re.DOTALL)


def parse_reply(text: str) -> Extraction:
    """Reads the model's reply; tolerant of prose around the JSON or a truncated answer string."""
    raw = text.strip()
    start, end = raw.find("{"), raw.rfind("}")
    if start != -1 and end > start:
        try:
            data = json.loads(raw[start : end + 1])
        except json.JSONDecodeError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("answer"), str):
            evidence = data.get("evidence")
            numbers: list[object] = evidence if isinstance(evidence, list) else []
            cited = tuple(
                dict.fromkeys(int(n) for n in numbers if isinstance(n, int | float) and not isinstance(n, bool))
            )
            return Extraction(cited, data["answer"].strip(), True)
    numbers_match = _NUMBERS.search(raw)
    answer_match = _ANSWER.search(raw)
    cited = tuple(dict.fromkeys(int(n) for n in re.findall(r"\d+", numbers_match.group(1)))) if numbers_match else ()
    if answer_match:
        try:
            answer = json.loads(f'"{answer_match.group(1)}"')
        except json.JSONDecodeError:
            answer = answer_match.group(1)
        return Extraction(cited, answer.strip(), False)
    # No JSON at all (a cloud endpoint without structured output that ignored the format): the
    # whole reply is the answer and it cites what its [n] markers name.
    markers = tuple(dict.fromkeys(int(n) for n in re.findall(r"\[(\d+)\]", raw)))
    return Extraction(markers, re.sub(r"\s*\[\d+\]", "", raw).strip(), False)


def fit_evidence(
    client: ChatClient,
    question: str,
    language: str,
    evidence: tuple[Evidence, ...],
    shown: tuple[Evidence, ...],
    translation: str | None,
    prompt: str,
) -> tuple[tuple[Evidence, ...], tuple[Evidence, ...], list[Message], int]:
    """Drop the least relevant evidence items until prompt + reply fit ``client``'s context window.

    ``shown`` is what the model sees (the redacted copy for the cloud) and ``evidence`` what it is
    checked against; both are renumbered together. Returns them with the messages and their tokens.
    """
    budget = client.endpoint.context_tokens - ANSWER_MAX_TOKENS
    while True:
        messages = build_messages(question, language, shown, translation=translation, prompt=prompt)
        counted = client.count_messages(messages)
        if counted <= budget:
            return evidence, shown, messages, counted
        if len(evidence) <= 1:
            raise GenerationError(
                f"The question is too long for the {client.name} model's context "
                f"({client.endpoint.context_tokens} tokens); shorten it."
            )
        weakest = min(range(len(evidence)), key=lambda i: evidence[i].score)
        keep = [i for i in range(len(evidence)) if i != weakest]
        evidence = tuple(replace(evidence[i], n=n) for n, i in enumerate(keep, start=1))
        shown = tuple(replace(shown[i], n=n) for n, i in enumerate(keep, start=1))
