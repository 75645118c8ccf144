"""JSON and JSON Lines: the text that records hold, one paragraph per record.

Only strings that read as text are kept (a value with several words, or any string under a
text-like key such as ``title``, ``text``, ``body``, ``content``, ``description``); ids, codes,
numbers and URLs are left out. A file with none is skipped: it is data, not a document.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ingest.errors import ParseFailure, SkipFile
from ingest.parsing.context import ParseContext, pick_title
from ingest.parsing.markdown import BlockBuilder, clean_text
from ingest.parsing.plain_text import read_text
from ingest.parsing.quality import looks_like_base64
from rag.types import ParsedFile

_TEXT_KEYS = frozenset(
    {
        "title", "name", "text", "body", "content", "description", "summary", "abstract", "question",
        "answer", "message", "comment", "note", "notes", "subject", "headline", "caption", "label",
        "titulo", "título", "texto", "contenido", "descripcion", "descripción", "resumen", "pregunta", "respuesta",
    }
)  # fmt: skip
_MAX_DEPTH = 64
_MAX_RECORDS = 100_000


def _texty(key: str, value: str) -> bool:
    value = value.strip()
    if not value or value.startswith(("http://", "https://")) or looks_like_base64(value):
        return False
    if key.lower() in _TEXT_KEYS:
        return any(c.isalpha() for c in value)
    return len(value.split()) >= 3 and sum(c.isalpha() for c in value) >= 0.5 * len(value)


def _fields(value: Any, key: str = "", depth: int = 0) -> Iterator[tuple[str, str]]:
    """(key path, text) for every string in ``value`` that reads as text."""
    if depth > _MAX_DEPTH:
        return
    if isinstance(value, str):
        leaf = key.rsplit(".", 1)[-1]
        if _texty(leaf, value):
            yield key, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _fields(v, f"{key}.{k}" if key else str(k), depth + 1)
    elif isinstance(value, list):
        for v in value:
            yield from _fields(v, key, depth + 1)


def _records(value: Any) -> list[Any]:
    """A top-level list is a list of records; an object holding one big list is too."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        lists = [v for v in value.values() if isinstance(v, list) and len(v) > 1]
        if len(lists) == 1 and all(isinstance(r, dict) for r in lists[0]):
            return lists[0]
    return [value]


def _build(records: list[Any], label: str, ctx: ParseContext, fmt: str, title: str | None) -> ParsedFile:
    builder = BlockBuilder()
    kept = 0
    for record in records[:_MAX_RECORDS]:
        fields = list(_fields(record))
        if not fields:
            continue
        kept += 1
        for key, text in fields:
            text = clean_text(text)
            builder.line(f"{key}: {text}" if key and "\n" not in text else text)
        builder.line("")
    if not kept:
        raise SkipFile(
            f"The {label} file holds no text (only numbers, identifiers or short values); nothing was ingested."
        )
    notes = [f"Only the first {_MAX_RECORDS} records were kept."] if len(records) > _MAX_RECORDS else []
    return ParsedFile(
        title=pick_title(title, fallback=ctx.stem), blocks=tuple(builder.blocks()), format=fmt, notes=tuple(notes)
    )


def _load(text: str, label: str) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError) as e:
        raise ParseFailure(f"The {label} file is not valid JSON ({type(e).__name__}); fix or re-export it.") from e


def parse_json(path: Path, ctx: ParseContext) -> ParsedFile:
    """Parse a JSON document: each record (item of the top-level list) one paragraph of its text fields."""
    value = _load(read_text(path, "JSON"), "JSON")
    title = value.get("title") if isinstance(value, dict) and isinstance(value.get("title"), str) else None
    return _build(_records(value), "JSON", ctx, "json", title)


def parse_jsonl(path: Path, ctx: ParseContext) -> ParsedFile:
    """Parse JSON Lines: one record per line; blank lines are allowed."""
    records = [_load(line, "JSON Lines") for line in read_text(path, "JSON Lines").splitlines() if line.strip()]
    return _build(records, "JSON Lines", ctx, "jsonl", None)
