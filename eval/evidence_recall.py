"""Where an answer is lost before the model: in the retrieved chunks, among the evidence items, at item 1?

For each answerable question of a set in our format, the assistant's own retriever and evidence selector run as
they would for `fuente ask` (the question translated by the local model where the index holds the other language,
the question's groups), and an accepted short answer is looked for in the retrieved chunks and in the evidence
items. No answer is generated: this separates what retrieval and evidence selection lose from what the model does.
The index is the configured home's (`fuente ingest` the set's corpus into a `FUENTE_HOME` first); the local model
must be up for the translation.

Usage:
    FUENTE_HOME=DIR python -m eval.evidence_recall QUESTIONS.jsonl [--k 8 --k 12]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from eval.metrics import contains_any


@dataclass(frozen=True)
class Found:
    """Where one question's accepted answer was found."""

    in_chunks: bool
    item: int | None
    """The first evidence item (numbered from 1) holding it; None when no item does."""


def locate(accepted: Sequence[str], chunks: Sequence[str], items: Sequence[str]) -> Found:
    """Where an accepted answer occurs among ``chunks`` (texts) and ``items`` (evidence texts, in list order)."""
    in_chunks = any(contains_any(text, accepted) > 0 for text in chunks)
    item = next((n for n, text in enumerate(items, start=1) if contains_any(text, accepted) > 0), None)
    return Found(in_chunks, item)


def tally(found: Sequence[Found]) -> str:
    """One line: how many answers were in the chunks, among the items, at item 1."""
    return (f"{len(found)} answerable: in the chunks {sum(f.in_chunks for f in found)}, among the items "
            f"{sum(f.item is not None for f in found)}, at item 1 {sum(f.item == 1 for f in found)}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    from rag.app import build_app
    from rag.asked import question_language
    from rag.settings import load_settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", type=Path)
    parser.add_argument("--k", type=int, action="append", help="Chunks retrieved (default: retrieval.k); repeatable.")
    args = parser.parse_args(argv)
    settings = load_settings()
    ks = args.k or [settings.retrieval.k]
    lines = args.questions.read_text(encoding="utf-8").splitlines()
    questions = [q for q in (json.loads(line) for line in lines if line.strip()) if q["answerable"]]
    app = build_app(settings)
    assistant = app.assistant
    found: dict[int, list[Found]] = {k: [] for k in ks}
    try:
        for q in questions:
            translation = assistant.translation(q["question"], question_language(q["question"]))
            extra = (translation,) if translation else ()
            places = []
            for k in ks:
                got = assistant.retriever.retrieve(q["question"], frozenset(q["groups"]), extra_queries=extra, k=k)
                hits = [h.chunk for h in got.chunks]
                items = assistant.selector.select(got.queries, hits)
                f = locate(q["accepted_answers"], [c.text for c in hits], [i.text for i in items])
                found[k].append(f)
                places.append(f"k={k}: {'chunks' if f.in_chunks else '------'} item {f.item or '-'}")
            print(f"{q['id']:>12}  " + "  ".join(places), flush=True)
    finally:
        app.close()
    for k in ks:
        print(f"k={k}: {tally(found[k])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
