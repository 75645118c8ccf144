"""`fuente search`: retrieval only, as a given user (:mod:`rag.search`), to audit what someone would see."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated, Any

import typer

from rag.app import build_search
from rag.search import audience
from ui.cli.base import out, settings_of
from ui.cli.language import _, n_


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
    settings = settings_of(ctx)
    who, group_set = audience(settings, user, groups)
    searcher = build_search(settings)
    try:
        hits = searcher.search(query, group_set, k)
    finally:
        searcher.close()
    if as_json:
        data: dict[str, Any] = {
            "query": query,
            "user": who,
            "groups": sorted(group_set),
            "hits": [asdict(h) for h in hits],
        }
        out.print_json(json.dumps(data, ensure_ascii=False))
        return
    if who:
        as_who = _("user {name}", name=who)
    else:
        as_who = _("groups {groups}", groups=", ".join(sorted(group_set)) or _("(none: everyone only)"))
    out.print(n_("{n} chunk for {audience}", "{n} chunks for {audience}", len(hits), audience=as_who),
              markup=False, highlight=False)  # fmt: skip
    for h in hits:
        where = h.location or _("whole document")
        labels = _("groups: {groups} · sensitivity: {sensitivity} · score {score}", groups=", ".join(h.groups),
                   sensitivity=h.sensitivity, score=f"{h.score:.4f}")  # fmt: skip
        out.print(
            f"[{h.rank}] {h.title} ({where}) — {h.source}\n    {labels}\n    {h.snippet}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
