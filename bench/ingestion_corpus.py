"""The corpus of the ingestion benchmark (bench/ingestion.py): public QA articles written as files,
and the chunk texts the pipeline must produce from them.
"""

from __future__ import annotations

import html
import json
import os
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ingest.chunking import Chunker
from ingest.errors import FileRejected
from ingest.parsing import parse_file
from ingest.pipeline import parse_options
from rag.embedders import Embedder
from rag.index import Index
from rag.settings import REPO_ROOT, Settings

SOURCES = (("squad-es", "qa/dev-v1.1-es_small.json"), ("xquad-en", "qa/xquad.en.json"))


@dataclass(frozen=True)
class Article:
    """One article of a SQuAD-format set: a title and its paragraphs."""

    source: str
    title: str
    paragraphs: tuple[str, ...]


def shared_data_dir(arg: str | None) -> Path:
    """The shared data folder: ``--data``, else FUENTE_SHARED_DATA, else ``../shared/data``."""
    raw = arg or os.environ.get("FUENTE_SHARED_DATA")
    return Path(raw).expanduser() if raw else REPO_ROOT.parent / "shared" / "data"


def load_articles(data: Path, limit: int | None) -> list[Article]:
    """Articles of every source in :data:`SOURCES`, at most ``limit`` from each.

    Raises:
        SystemExit: a source file is missing.
    """
    articles: list[Article] = []
    for source, relative in SOURCES:
        path = data / relative
        if not path.is_file():
            raise SystemExit(f"{path} is absent: pass --data or set FUENTE_SHARED_DATA to the shared data folder.")
        rows = json.loads(path.read_text(encoding="utf-8"))["data"]
        for row in rows[:limit]:
            title = " ".join(row["title"].replace("_", " ").split())  # "Super Bowl _ 50" -> "Super Bowl 50"
            paragraphs = tuple(p["context"].strip() for p in row["paragraphs"] if p["context"].strip())
            articles.append(Article(source, title, paragraphs))
    return articles


def _format_for(ordinal: int) -> str:
    """Mostly Markdown; every sixth article as text and every sixth as HTML, to touch those parsers."""
    return {4: "txt", 5: "html"}.get(ordinal % 6, "md")


def render(article: Article, fmt: str) -> str:
    """The article as a file of format ``fmt`` (md, txt or html)."""
    if fmt == "md":
        return "\n\n".join([f"# {article.title}", *article.paragraphs]) + "\n"
    if fmt == "txt":
        return "\n\n".join([article.title, *article.paragraphs]) + "\n"
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in article.paragraphs)
    title = html.escape(article.title)
    return (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{title}</title></head>\n'
        f"<body><h1>{title}</h1>\n{body}\n</body></html>\n"
    )


def write_corpus(articles: Sequence[Article], folder: Path) -> Counter[str]:
    """Write one file per article under ``folder/<source>/``; return the file count per format."""
    formats: Counter[str] = Counter()
    ordinals: Counter[str] = Counter()
    for article in articles:
        ordinal = ordinals[article.source]
        ordinals[article.source] += 1
        fmt = _format_for(ordinal)
        slug = re.sub(r"\W+", "-", article.title).strip("-")[:60] or "untitled"
        target = folder / article.source / f"{ordinal:03d}-{slug}.{fmt}"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render(article, fmt), encoding="utf-8")
        formats[fmt] += 1
    return formats


def expected_chunk_texts(settings: Settings, embedder: Embedder, corpus: Path) -> list[str]:
    """Chunk texts the pipeline will produce: the same parser and chunker, without embedding.

    Known before either side is timed, so a too-small corpus fails in seconds and the raw side can
    run first; :func:`check_same_texts` later confirms the records hold exactly these texts.
    """
    chunker = Chunker(settings.chunking, embedder.count_tokens, embedder.max_tokens, embedder.count_tokens_many)
    options = parse_options(settings)
    texts: list[str] = []
    for path in sorted(p for p in corpus.rglob("*") if p.is_file()):
        try:
            parsed = parse_file(path, options)
        except FileRejected as e:
            raise SystemExit(
                f"The bench corpus file {path} was rejected ({e.reason}); the corpus builder is wrong."
            ) from e
        texts += [draft.text for draft in chunker.chunk(parsed.blocks)]
    return texts


def check_same_texts(index: Index, expected: Sequence[str]) -> None:
    """Fail unless the records hold exactly ``expected`` (as a multiset).

    Raises:
        SystemExit: the two sides would encode different texts.
    """
    _, recorded, _ = index.records.chunk_texts()
    if Counter(recorded) != Counter(expected):
        raise SystemExit(
            f"The pipeline stored {len(recorded)} chunk texts that differ from the {len(expected)} the bench "
            "encoded raw; the comparison is void, so align expected_chunk_texts with the pipeline."
        )
