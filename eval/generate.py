"""`fuente eval generate`: draft question/answer pairs from an ingested corpus, for review.

Chunks are drawn from the index, spread over documents (seeded, so the same call draws the same
chunks), and the local model writes one question, answer and short answer per chunk (prompt
``eval/prompts/generate_v1.md``), in the chunk's language. Each draft is written in our JSONL
format with the chunk as its gold source and the chunk's access groups as the asking user's, and
marked ``"draft": true`` and tagged ``draft`` until a knowledge manager reviews it (keep, edit,
or delete the line; then drop the marks). As in RAGAS's test-set generation, the model proposes and
a person decides: small local models write questions that are vague or answered wrongly often
enough that drafts must not be used unreviewed.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any

from eval.errors import EvalError
from rag.llm import ChatClient
from rag.settings import Settings
from rag.types import EVERYONE, Chunk

PROMPT_VERSION = "generate_v1"
PROMPTS = Path(__file__).parent / "prompts"
LANGUAGE_NAMES = {"es": "Spanish", "en": "English"}
MIN_CHARS = 200  # shorter chunks (titles, table stubs) rarely hold a question worth asking


@dataclass(frozen=True)
class Draft:
    """One drafted question, in our JSONL format (see :mod:`eval.datasets`)."""

    record: dict[str, Any]


def prompt(language: str) -> str:
    text = (PROMPTS / f"{PROMPT_VERSION}.md").read_text(encoding="utf-8")
    return Template(text).substitute(language=LANGUAGE_NAMES.get(language, "English"))


def corpus_root(uris: list[str]) -> str:
    """The folder the documents share, so gold sources are written relative to it, as in our sets."""
    if not uris:
        return ""
    return os.path.commonpath([os.path.dirname(u) for u in uris]) if all(u.startswith("/") for u in uris) else ""


def pick_chunks(chunks: list[Chunk], n: int, seed: int = 0) -> list[Chunk]:
    """``n`` chunks of at least ``MIN_CHARS``, round-robin over documents in a seeded order."""
    rng = random.Random(seed)
    by_doc: dict[str, list[Chunk]] = {}
    for c in sorted(chunks, key=lambda c: (c.source_uri, c.ordinal)):
        if len(c.text.strip()) >= MIN_CHARS:
            by_doc.setdefault(c.source_uri, []).append(c)
    docs = sorted(by_doc)
    rng.shuffle(docs)
    for d in docs:
        rng.shuffle(by_doc[d])
    out: list[Chunk] = []
    while len(out) < n and any(by_doc[d] for d in docs):
        for d in docs:
            if by_doc[d] and len(out) < n:
                out.append(by_doc[d].pop())
    return out


_JSON = re.compile(r"\{.*\}", re.S)


def parse_reply(text: str) -> dict[str, str] | None:
    """The model's JSON object, or None when it wrote something else (the draft is then skipped)."""
    match = _JSON.search(text)
    if not match:
        return None
    try:
        data = json.loads(match.group(0))
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    question = str(data.get("question") or "").strip()
    answer = str(data.get("answer") or "").strip()
    if len(question) < 8 or not answer:
        return None
    return {"question": question, "answer": answer, "short_answer": str(data.get("short_answer") or "").strip()}


def draft_for(chunk: Chunk, reply: dict[str, str], root: str) -> Draft:
    relative = os.path.relpath(chunk.source_uri, root) if root else chunk.source_uri
    short = reply["short_answer"]
    # A short answer the passage does not contain is the model's invention: leave it for the reviewer.
    accepted = [short] if short and short.casefold() in chunk.text.casefold() else []
    return Draft(
        {
            "id": "g-" + hashlib.sha1(f"{chunk.id}:{reply['question']}".encode()).hexdigest()[:10],
            "question": reply["question"],
            "language": chunk.language if chunk.language in LANGUAGE_NAMES else "en",
            "reference_answer": reply["answer"],
            "accepted_answers": accepted,
            "gold_sources": [relative],
            "gold_chunk_ids": [chunk.id],
            "answerable": True,
            "groups": sorted(chunk.access.groups - {EVERYONE}),
            "tags": ["draft", "generated"],
            "draft": True,
            "generated_by": {"prompt": PROMPT_VERSION, "source_title": chunk.title},
        }
    )


def generate(
    settings: Settings,
    n: int,
    *,
    seed: int = 0,
    client: ChatClient | None = None,
    on_draft: Callable[[Draft | None, Chunk], None] | None = None,
) -> Iterator[Draft]:
    """Draft up to ``n`` questions from the index of ``settings`` with its local model.

    Raises:
        EvalError: the index is empty.
        GenerationError: the model server cannot be reached.
    """
    from rag.index import Index

    index = Index(settings)
    try:
        ids = index.records.chunk_texts()[0]  # every chunk id, in a stable order
        chunks = list(index.records.get_chunks(ids).values())
    finally:
        index.close()
    if not chunks:
        raise EvalError(f"The index under {settings.paths.home} is empty; ingest documents with `fuente ingest` first.")
    root = corpus_root(sorted({c.source_uri for c in chunks}))
    own = client is None
    client = client or ChatClient(settings.llm.local)
    try:
        for chunk in pick_chunks(chunks, n, seed):
            language = chunk.language if chunk.language in LANGUAGE_NAMES else "en"
            messages = [
                {"role": "system", "content": prompt(language)},
                {"role": "user", "content": f"Passage (from {chunk.title}):\n\n{chunk.text}"},
            ]
            reply = parse_reply(client.complete(messages, max_tokens=200).text)
            draft = draft_for(chunk, reply, root) if reply else None
            if on_draft is not None:
                on_draft(draft, chunk)
            if draft is not None:
                yield draft
    finally:
        if own:
            client.close()


def write_drafts(drafts: list[Draft], path: Path, *, append: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a" if append else "w", encoding="utf-8") as fh:
        for d in drafts:
            fh.write(json.dumps(d.record, ensure_ascii=False) + "\n")
