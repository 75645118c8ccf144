"""Loaders of our question format and of the public benchmarks (shared data where present)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.datasets import (
    SAMPLE_QUESTIONS,
    DatasetError,
    EvalSample,
    dataset_hash,
    dataset_path,
    load_dataset,
    load_halueval,
    load_jsonl,
    load_ragchecker,
    load_ragtruth,
    load_squad,
    squad_paragraphs,
    write_jsonl,
)
from tests.helpers import require_shared


def test_sample_questions_load_with_every_kind_of_case() -> None:
    samples = load_dataset("sample")
    assert len(samples) >= 61
    assert len({s.id for s in samples}) == len(samples)
    assert {s.language for s in samples} == {"es", "en"}
    assert any(not s.answerable for s in samples)
    assert any("cross-language" in s.tags for s in samples)
    assert any(s.groups for s in samples)
    assert all(s.gold_sources for s in samples if s.answerable)
    assert len(dataset_hash(SAMPLE_QUESTIONS)) == 64


def test_jsonl_round_trip_and_defaults(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps({"id": "x", "question": "¿Qué?", "answerable": False}) + "\n\n", encoding="utf-8")
    (sample,) = load_jsonl(path)
    assert sample == EvalSample(id="x", question="¿Qué?", language="es", answerable=False)
    full = EvalSample("y", "Q?", "en", True, "R", ("r",), ("a.md",), ("c1",), frozenset({"rrhh"}), ("t",))
    write_jsonl([sample, full], tmp_path / "out.jsonl")
    assert load_jsonl(tmp_path / "out.jsonl") == [sample, full]


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"id": "x", "question": "q"}\n', "lacks answerable"),
        ('{"id": "x", "question": "q", "answerable": true}\n' * 2, "repeats the id"),
        ("not json\n", "not valid JSON"),
    ],
)
def test_bad_jsonl_says_which_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DatasetError, match=message):
        load_jsonl(path)


def test_unknown_or_missing_dataset(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="Unknown dataset"):
        load_dataset("nope")
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset(tmp_path / "absent.jsonl")
    with pytest.raises(DatasetError, match="absent"):
        load_dataset("xquad-es", shared=tmp_path)
    with pytest.raises(DatasetError, match="labelled responses"):
        load_dataset("ragtruth-qa")


def test_squad_v2_unanswerable(tmp_path: Path) -> None:
    data = {"data": [{"title": "T", "paragraphs": [{"context": "\ufeffEl cielo es azul.", "qas": [
        {"id": "1", "question": "¿De qué color es el cielo?", "answers": [{"text": "azul", "answer_start": 12}]},
        {"id": "2", "question": "¿Y el mar?", "answers": [], "is_impossible": True},
    ]}]}]}  # fmt: skip
    path = tmp_path / "s.es.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    a, b = load_dataset(path)
    assert (a.answerable, a.accepted_answers, a.doc_id, a.context) == (True, ("azul",), "T#0", "El cielo es azul.")
    assert (b.answerable, b.accepted_answers, b.tags) == (False, (), ("unanswerable",))
    assert squad_paragraphs([a, b]) == {"T#0": "El cielo es azul."}


def test_public_question_sets() -> None:
    require_shared("qa")
    es, en = load_dataset("xquad-es"), load_dataset("xquad-en")
    assert len(es) == len(en) == 1190
    assert len(squad_paragraphs(es)) == 240
    # Parallel: the same question id asks about the same paragraph id in both languages.
    assert {s.id: s.doc_id for s in es} == {s.id: s.doc_id for s in en}
    assert not any(s.context and s.context.startswith("\ufeff") for s in es)
    v2 = load_squad(dataset_path("squad-es-v2"), "es")
    assert sum(not s.answerable for s in v2) == 3256


def test_hallucination_sets() -> None:
    require_shared("hallucination")
    ragtruth = load_ragtruth(dataset_path("ragtruth-qa"))
    assert len(ragtruth) == 829
    assert sum(r.hallucinated for r in ragtruth) == 160
    assert sum(len(r.spans) for r in ragtruth) == 235
    span_owner = next(r for r in ragtruth if r.spans)
    span = span_owner.spans[0]
    assert 0 <= span.start < span.end <= len(span_owner.response)
    qa = load_halueval(dataset_path("halueval-qa"))
    assert len(qa) == 1000 and sum(r.hallucinated for r in qa) == 500
    general = load_halueval(dataset_path("halueval-general"))
    assert sum(r.hallucinated for r in general) == 815
    pairs = load_ragchecker(dataset_path("ragchecker"))
    assert len(pairs) == 560 and {p.annotator for p in pairs} == {0, 1}
    assert all(-2 <= p.overall <= 2 for p in pairs)
    # A few upstream responses are empty strings; the rest are unwrapped from their dict literals.
    assert sum(bool(p.response1 and p.response2) for p in pairs) >= 540
    assert not any(p.response1.startswith("{'model_name'") for p in pairs)
