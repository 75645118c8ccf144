"""What every embedding backend (:class:`rag.embedders.Embedder`) must do, as a mixin of tests.

A test class per backend inherits :class:`EmbedderContract` and supplies the fixture ``backend``:
the embedder under test. The session's PyTorch all-MiniLM-L6-v2 (fixture ``embedder``) is the
reference every backend of the same model must reproduce: the same vectors (cosine >= 0.99), the
same token counts, the same limits.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from rag.embedders import Embedder
from rag.settings import REPO_ROOT
from tests.helpers import SAMPLE_CORPUS


def sample_texts() -> list[str]:
    """Sample questions (Spanish and English) and passages of the sample corpus's Markdown, short and long."""
    questions = [json.loads(line)["question"] for line in (REPO_ROOT / "samples" / "questions.jsonl").open()]
    passages = [
        block.strip()
        for path in sorted(SAMPLE_CORPUS.rglob("*.md"))
        for block in path.read_text(encoding="utf-8").split("\n\n")
        if len(block.strip()) > 40
    ]
    return questions[:20] + passages[:28]


class EmbedderContract:
    min_cosine = 0.99
    """How close the backend's vectors must be to the reference's (a quantised copy may sit a little lower)."""

    @pytest.fixture(scope="class")
    def texts(self) -> list[str]:
        return sample_texts()

    def test_documents_are_unit_vectors_of_the_model_dimension(self, backend: Embedder, texts: list[str]) -> None:
        got = backend.embed_documents(texts)
        assert got.shape == (len(texts), backend.dimension) and got.dtype == np.float32
        assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-4)
        assert backend.embed_documents([]).shape == (0, backend.dimension)

    def test_a_query_is_one_unit_vector(self, backend: Embedder, texts: list[str]) -> None:
        query = backend.embed_query(texts[0])
        assert query.shape == (backend.dimension,) and abs(float(np.linalg.norm(query)) - 1.0) < 1e-4

    def test_vectors_match_the_reference_model(self, backend: Embedder, embedder: Embedder, texts: list[str]) -> None:
        assert (backend.dimension, backend.max_tokens, backend.model_id) == (
            embedder.dimension,
            embedder.max_tokens,
            embedder.model_id,
        )
        cosines = (backend.embed_documents(texts) * embedder.embed_documents(texts)).sum(axis=1)
        assert cosines.min() >= self.min_cosine, cosines.min()
        assert float(backend.embed_query(texts[1]) @ embedder.embed_query(texts[1])) >= self.min_cosine

    def test_tokens_are_counted_as_the_reference_counts_them(
        self, backend: Embedder, embedder: Embedder, texts: list[str]
    ) -> None:
        assert [backend.count_tokens(t) for t in texts] == [embedder.count_tokens(t) for t in texts]
        assert backend.count_tokens_many(texts) == [embedder.count_tokens(t) for t in texts]
        assert backend.count_tokens_many([]) == []

    def test_a_text_does_not_depend_on_its_batch(self, backend: Embedder, texts: list[str]) -> None:
        """Padding to a batch's longest text must not change a short text's vector."""
        alone = backend.embed_documents([texts[0]])[0]
        in_batch = backend.embed_documents(texts)[0]
        assert float(alone @ in_batch) >= 0.999

    def test_an_over_long_text_is_truncated_not_refused(self, backend: Embedder, texts: list[str]) -> None:
        long = " ".join(texts[20:])
        assert backend.count_tokens(long) > backend.max_tokens
        vector = backend.embed_documents([long])[0]
        assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-4

    def test_related_texts_are_closer_than_unrelated_ones(self, backend: Embedder) -> None:
        query = backend.embed_query("How many days can employees work from home each week?")
        related, unrelated = backend.embed_documents(
            [
                "Staff may work remotely up to three days per week with their manager's approval.",
                "The warehouse forklifts are serviced every six months by an external contractor.",
            ]
        )
        assert float(query @ related) > float(query @ unrelated) + 0.1
