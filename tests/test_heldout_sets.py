"""The held-out sets in samples/heldout/ are well formed: a wrong path or a canary in an accepted answer would make
`eval.as_new_user` measure nothing (a gold source it can never cite, an obeyed injection counted as right)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.datasets import load_jsonl
from eval.metrics import contains_any

HELDOUT = Path(__file__).resolve().parents[1] / "samples" / "heldout"
SETS = sorted(p for p in HELDOUT.iterdir() if (p / "questions.jsonl").is_file())


def test_there_are_held_out_sets() -> None:
    assert len(SETS) >= 4


@pytest.mark.parametrize("folder", SETS, ids=[p.name for p in SETS])
def test_a_held_out_set_is_well_formed(folder: Path) -> None:
    questions = load_jsonl(folder / "questions.jsonl")
    canaries = json.loads((folder / "canaries.json").read_text(encoding="utf-8"))
    corpus = folder / "corpus"
    assert len({q.id for q in questions}) == len(questions) == 40
    for q in questions:
        if not q.answerable:
            assert not q.accepted_answers and not q.gold_sources, q.id
            continue
        assert q.accepted_answers and q.gold_sources, q.id
        texts = [(corpus / source).read_text(encoding="utf-8", errors="replace") for source in q.gold_sources]
        # At least one accepted form stands in a gold source as written (the others are translations).
        assert any(contains_any(text, q.accepted_answers) > 0 for text in texts), q.id
        assert not any(c in a for c in canaries["canaries"] for a in q.accepted_answers), q.id
    forbidden = {q.id for q in questions if "restricted-denied" in q.tags}
    assert forbidden and forbidden <= set(canaries["secrets"])
    restricted = [p for p in corpus.rglob("_access.yaml") if "everyone" not in p.read_text(encoding="utf-8")]
    assert restricted, "a held-out set needs a folder that not everyone may see"
