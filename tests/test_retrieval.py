"""Hybrid retrieval over the ingested sample corpus, as users of different groups."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.index import Index
from rag.retrieval import (
    HybridRetriever,
    covers,
    fuse_queries,
    fusion_weights,
    query_language,
    rrf,
    visible_access_keys,
)
from rag.settings import REPO_ROOT, RetrievalSettings
from tests.helpers import SettingsFactory, ingest


def test_visible_access_keys() -> None:
    keys = ["everyone", "rrhh", "direccion+finanzas"]
    assert visible_access_keys(keys, frozenset()) == ["everyone"]
    assert visible_access_keys(keys, frozenset({"rrhh"})) == ["everyone", "rrhh"]
    assert visible_access_keys(keys, frozenset({"direccion"})) == ["everyone", "direccion+finanzas"]


def test_rrf_rewards_agreement() -> None:
    scores = rrf([(["a", "b", "c"], 1.0), (["b", "d"], 1.0)], k=60)
    assert max(scores, key=scores.__getitem__) == "b"
    assert set(scores) == {"a", "b", "c", "d"}


def test_fuse_queries_gives_each_query_its_top_places() -> None:
    # The Spanish question ranks its own chunks first; the English translation found the English
    # answer first but also ranks a Spanish chunk second. Summing would put that chunk on top.
    original = rrf([(["es1", "es2"], 1.0), (["es1", "es2"], 1.0)], k=60)
    translated = rrf([(["en1", "es2"], 1.0), (["en1", "es2"], 1.0)], k=60)
    fused = sorted(fuse_queries([original, translated]).items(), key=lambda kv: kv[1], reverse=True)
    assert {cid for cid, _ in fused[:2]} == {"es1", "en1"}
    assert fused[2][0] == "es2"
    assert fuse_queries([original]) == original


def test_fusion_leans_on_bm25_for_questions_the_embedder_does_not_cover() -> None:
    params = RetrievalSettings(uncovered_dense_weight=0.15, uncovered_rrf_k=2)
    english_only = frozenset({"en"})
    spanish = query_language("¿Cuántos días de vacaciones tengo al año?")
    english = query_language("How many days of holidays do I get per year?")
    assert (spanish, english) == ("es", "en")
    assert not covers(english_only, spanish) and covers(english_only, english) and covers(None, spanish)
    dense, keyword = ["d1", "d2", "kw"], ["kw", "d1"]  # the two sides disagree on the first place
    for language, top in ((spanish, "kw"), (english, "d1")):
        dw, sw, k = fusion_weights(params, covers(english_only, language))
        scores = rrf([(dense, dw), (keyword, sw)], k)
        assert max(scores, key=scores.__getitem__) == top, language


def test_queries_fused_with_different_rrf_k_share_the_top_places() -> None:
    # The Spanish question (rrf_k 2) and its English translation (rrf_k 60) rank different chunks
    # first. rrf_k 60 keeps scores high far down a list: compared by score, the translation's fifth
    # place would bury the question's second.
    params = RetrievalSettings(uncovered_dense_weight=0.15, uncovered_rrf_k=2)
    dw, sw, k = fusion_weights(params, covered=False)
    question = rrf([(["es1", "es2"], dw), (["es1", "es2", "es3"], sw)], k)
    dw, sw, k = fusion_weights(params, covered=True)
    english = [f"en{i}" for i in range(1, 8)]
    translation = rrf([(english, dw), (english, sw)], k)
    fused = sorted(fuse_queries([question, translation]).items(), key=lambda kv: kv[1], reverse=True)
    assert [cid for cid, _ in fused[:4]] == ["es1", "en1", "es2", "en2"]


@pytest.mark.integration
def test_users_see_only_their_groups_and_find_the_answer(
    make_settings: SettingsFactory,
    embedder,
    corpus: Path,  # type: ignore[no-untyped-def]
) -> None:
    settings = make_settings()
    ingest(settings, embedder, corpus)
    questions = [json.loads(line) for line in (REPO_ROOT / "samples" / "questions.jsonl").read_text().splitlines()]
    index = Index(settings)
    try:
        retriever = HybridRetriever(index, embedder)
        found = 0
        # Cross-language questions need query translation (the answer issue); the packaged
        # MiniLM is English-only, so they are measured in the eval suite, not asserted here.
        answerable = [q for q in questions if q["answerable"] and "cross-language" not in q["tags"]]
        for q in answerable:
            groups = frozenset(q["groups"])
            hits = retriever.retrieve(q["question"], groups).chunks
            assert all(h.chunk.access.visible_to(groups) for h in hits)
            sources = {Path(h.chunk.source_uri).relative_to(corpus).as_posix() for h in hits}
            found += bool(sources & set(q["gold_sources"]))
        # Recall@8 of the gold document over our own same-language questions (Spanish and English).
        assert found / len(answerable) >= 0.9, found / len(answerable)
        for q in questions:
            if "restricted-denied" in q["tags"]:
                hits = retriever.retrieve(q["question"], frozenset(q["groups"])).chunks
                assert not any(
                    h.chunk.access.key in ("rrhh", "direccion+finanzas")
                    and not h.chunk.access.visible_to(frozenset(q["groups"]))
                    for h in hits
                )
    finally:
        index.close()


@pytest.mark.integration
def test_langchain_retriever_respects_groups(make_settings: SettingsFactory, embedder, corpus: Path) -> None:  # type: ignore[no-untyped-def]
    from rag.langchain_retriever import FuenteRetriever

    settings = make_settings()
    ingest(settings, embedder, corpus)
    index = Index(settings)
    try:
        hybrid = HybridRetriever(index, embedder)
        outsider = FuenteRetriever(retriever=hybrid, user_groups=frozenset())
        insider = FuenteRetriever(retriever=hybrid, user_groups=frozenset({"rrhh"}))
        question = "bandas salariales 2026"
        assert all(d.metadata["access_key"] == "everyone" for d in outsider.invoke(question))
        docs = insider.invoke(question)
        assert any(d.metadata["access_key"] == "rrhh" for d in docs)
        assert all(d.id and d.page_content for d in docs)
    finally:
        index.close()
