"""`fuente search`: retrieval only, as a given user, to audit what someone would see.

Knowledge managers run it to check a label before telling people a document is in (or out of)
reach; the access tests use the same code path. No language model is involved: the question is
searched as typed (no translation), through the same :class:`rag.retrieval.HybridRetriever` the
assistant uses, so what it lists is exactly what an answer could be built from.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from typing import Annotated, Any

import typer
from rich.console import Console

from rag.embedders import Embedder, build_embedder
from rag.errors import ConfigError, FuenteError
from rag.index import Index
from rag.retrieval import HybridRetriever
from rag.settings import Settings, check_group_name
from rag.types import Chunk
from rag.users import groups_of

log = logging.getLogger(__name__)
EXIT_ERROR = 4
SNIPPET_CHARS = 280
err = Console(stderr=True)
out = Console()


@dataclass(frozen=True)
class SearchHit:
    rank: int
    score: float
    source: str
    title: str
    location: str
    groups: list[str]
    sensitivity: str
    snippet: str
    language: str
    doc_id: str
    chunk_id: str


def location_of(chunk: Chunk) -> str:
    """Where in the document: page, slide, sheet, attachment, section (as citations show it)."""
    from rag.assistant import location_of as citation_location

    return citation_location(chunk)


def search(
    index: Index, embedder: Embedder, settings: Settings, query: str, groups: frozenset[str], k: int
) -> list[SearchHit]:
    """The chunks a user with ``groups`` would be given for ``query``, best first."""
    retrieved = HybridRetriever(index, embedder, settings.retrieval).retrieve(query, groups, k=k)
    return [
        SearchHit(
            rank=n,
            score=round(s.score, 6),
            source=s.chunk.source_uri,
            title=s.chunk.title,
            location=location_of(s.chunk),
            groups=sorted(s.chunk.access.groups),
            sensitivity=s.chunk.access.sensitivity.value,
            snippet=" ".join(s.chunk.text.split())[:SNIPPET_CHARS],
            language=s.chunk.language,
            doc_id=s.chunk.doc_id,
            chunk_id=s.chunk.id,
        )
        for n, s in enumerate(retrieved.chunks, start=1)
    ]


def audience(settings: Settings, user: str | None, groups: str | None) -> tuple[str | None, frozenset[str]]:
    """Who to search as: a user of the users file (their current groups) or explicit groups.

    Raises:
        ConfigError: both or an unknown user were given, or a group name is invalid.
    """
    if user and groups:
        raise ConfigError("Pass either --user or --groups, not both.")
    if user:
        return user, groups_of(settings, user)
    names = [g.strip() for g in (groups or "").split(",") if g.strip()]
    try:
        return None, frozenset(check_group_name(g) for g in names)
    except ValueError as e:
        raise ConfigError(f"Invalid --groups: {e}.") from e


def search_command(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="What to search for, in Spanish or English.")],
    user: Annotated[
        str | None, typer.Option("--user", help="Search as this user (their groups in the users file now).")
    ] = None,
    groups: Annotated[str | None, typer.Option("--groups", help="Search with these groups, comma-separated.")] = None,
    k: Annotated[int, typer.Option("--k", min=1, max=100, help="How many chunks to list.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print the hits as JSON.")] = False,
) -> None:
    """Retrieval only, as a user: each chunk's source, title, location, groups, sensitivity and a snippet."""
    settings: Settings = ctx.obj["settings"]
    index: Index | None = None
    try:
        who, group_set = audience(settings, user, groups)
        index = Index(settings)
        hits = search(index, build_embedder(settings), settings, query, group_set, k)
    except FuenteError as e:
        err.print(str(e), style="red", markup=False, soft_wrap=True)
        raise typer.Exit(EXIT_ERROR) from e
    except Exception as e:  # one sentence for the user; the traceback in the log (shown with -v)
        log.info("fuente search failed", exc_info=True)
        err.print(f"The search failed unexpectedly ({type(e).__name__}); run with -v for details.", style="red")
        raise typer.Exit(EXIT_ERROR) from e
    finally:
        if index is not None:
            index.close()
    if as_json:
        data: dict[str, Any] = {
            "query": query,
            "user": who,
            "groups": sorted(group_set),
            "hits": [asdict(h) for h in hits],
        }
        out.print_json(json.dumps(data, ensure_ascii=False))
        return
    as_who = f"user {who}" if who else "groups " + (", ".join(sorted(group_set)) or "(none: everyone only)")
    out.print(f"{len(hits)} chunk(s) for {as_who}", markup=False, highlight=False)
    for h in hits:
        out.print(
            f"[{h.rank}] {h.title} ({h.location or 'whole document'}) — {h.source}\n"
            f"    groups: {', '.join(h.groups)} · sensitivity: {h.sensitivity} · score {h.score:.4f}\n"
            f"    {h.snippet}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
