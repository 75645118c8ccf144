"""Retrieval benchmarks on the public QA sets, through the project's real index and retriever.

Each paragraph of a SQuAD-format set becomes a text file in a throwaway folder, ingested by the real
pipeline (``ingest.pipeline.Ingestor``) into a throwaway ``FUENTE_HOME``: the same chunking, Chroma
collection, BM25 index and records a user's documents get. For each question the benchmark then
records

* the dense ranking (Chroma) and the keyword ranking (BM25), mapped from chunks to paragraphs, and
* the ranking of ``rag.retrieval.HybridRetriever`` with the configured settings (what ships),

so fusion variants (weights, ``rrf_k``) can be scored offline with the retriever's own ``rrf``
without searching again. A paragraph split into several chunks counts once, at its best rank.

Results are one JSON file per benchmark under ``bench/results/benchmarks/`` (``eval.published``
turns them into ``docs/benchmarks.md``).
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval.datasets import EvalSample, squad_paragraphs
from eval.metrics import mean_ignoring_nan, mrr_at_k, ndcg_at_k, recall_at_k
from rag.settings import REPO_ROOT, Settings, load_settings

log = logging.getLogger(__name__)
MODELS_DIR = REPO_ROOT / ".fuente" / "models"


@dataclass
class ParagraphIndex:
    """A throwaway index of paragraphs and the way back from chunks to paragraph ids."""

    settings: Settings
    home: Path
    doc_of_source: dict[str, str]
    ingest_s: float

    def paragraph_ids(self, source_uris: Sequence[str]) -> list[str]:
        """Paragraph ids of ranked chunk sources, first occurrence only."""
        return list(dict.fromkeys(self.doc_of_source[s] for s in source_uris if s in self.doc_of_source))


def benchmark_settings(home: Path, embedding: dict[str, Any] | None = None) -> Settings:
    """Settings of a throwaway installation in ``home`` (models shared with the repo's .fuente)."""
    overrides: dict[str, Any] = {"paths": {"home": str(home), "models": str(MODELS_DIR)}}
    if embedding:
        overrides["embedding"] = embedding
    return load_settings("default", environ={}, overrides=overrides)


def build_paragraph_index(
    paragraphs: dict[str, str], settings_for: Callable[[Path], Settings], embedder: Any, workdir: Path
) -> ParagraphIndex:
    """Writes each paragraph to a file and ingests the folder with the real pipeline."""
    from ingest.pipeline import Ingestor
    from rag.app import build_writer

    docs = workdir / "docs"
    docs.mkdir(parents=True)
    home = workdir / "home"
    doc_of_source: dict[str, str] = {}
    for n, (doc_id, text) in enumerate(paragraphs.items()):
        path = docs / f"p{n:05d}.txt"
        path.write_text(text + "\n", encoding="utf-8")
        doc_of_source[str(path.resolve())] = doc_id
    settings = settings_for(home)
    writer = build_writer(settings, embedder=embedder)
    started = time.monotonic()
    try:
        Ingestor(writer).run([docs])
    finally:
        writer.close()
    ingest_s = time.monotonic() - started
    return ParagraphIndex(settings, home, doc_of_source, ingest_s)


def _source_uri_map(pindex: ParagraphIndex, index: Any) -> dict[str, str]:
    """chunk id -> paragraph id, for every chunk in the index."""
    ids = set().union(*index.vectors.ids_by_access().values())
    chunks = index.records.get_chunks(sorted(ids))
    return {cid: pindex.doc_of_source.get(c.source_uri, "") for cid, c in chunks.items()}


class _QueryCache:
    """Remembers the last query vector: the benchmark searches each question twice (raw rankings,
    then the hybrid retriever), and embedding it once is enough."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self._last: tuple[str, Any] | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def embed_query(self, text: str) -> Any:
        if self._last is None or self._last[0] != text:
            self._last = (text, self.inner.embed_query(text))
        return self._last[1]


def run_questions(
    pindex: ParagraphIndex,
    embedder: Any,
    questions: Sequence[EvalSample],
    *,
    depth: int = 30,
    extra_queries: Callable[[EvalSample], tuple[str, ...]] | None = None,
) -> list[dict[str, Any]]:
    """Per question: gold paragraph, dense, BM25 and shipped-hybrid rankings of paragraph ids (top ``depth``)."""
    from rag.app import build_search
    from rag.types import EVERYONE

    params = pindex.settings.retrieval.model_copy(update={"dense_k": depth, "sparse_k": depth})
    searcher = build_search(pindex.settings.model_copy(update={"retrieval": params}), embedder=_QueryCache(embedder))
    index, embedder, retriever = searcher.index, searcher.embedder, searcher.retriever
    rows: list[dict[str, Any]] = []
    try:
        para_of_chunk = _source_uri_map(pindex, index)
        keys = index.vectors.access_keys()
        groups = frozenset({EVERYONE})

        def paragraphs(chunk_ids: Sequence[str]) -> list[str]:
            return list(dict.fromkeys(para_of_chunk[c] for c in chunk_ids if para_of_chunk.get(c)))

        for n, q in enumerate(questions):
            started = time.monotonic()
            dense = index.vectors.query(embedder.embed_query(q.question), keys, depth)
            sparse = index.keywords.search(q.question, keys, depth)
            extra = extra_queries(q) if extra_queries else ()
            hybrid = retriever.retrieve(q.question, groups, extra_queries=extra, k=depth)
            sparse_grid = {
                f"{k1:g}/{b:g}": paragraphs([c for c, _ in _bm25_with(index.keywords, k1, b, q.question, keys, depth)])
                for k1, b in BM25_GRID
            }
            rows.append(
                {
                    "id": q.id,
                    "gold": q.doc_id,
                    "dense": paragraphs([c for c, _ in dense]),
                    "sparse": paragraphs([c for c, _ in sparse]),
                    "sparse_grid": sparse_grid,
                    "dense_ids": [c for c, _ in dense],
                    "sparse_ids": [c for c, _ in sparse],
                    "para_of": {c: para_of_chunk.get(c, "") for c, _ in [*dense, *sparse]},
                    "hybrid": paragraphs([h.chunk.id for h in hybrid.chunks]),
                    "extra_queries": list(extra),
                    "best_dense": hybrid.best_dense,
                    "seconds": time.monotonic() - started,
                }
            )
            if n % 100 == 0:
                log.info("question %d/%d", n, len(questions))
    finally:
        searcher.close()
    return rows


BM25_GRID: list[tuple[float, float]] = [(k1, b) for k1 in (0.6, 0.9, 1.2, 1.5, 2.0) for b in (0.3, 0.4, 0.6, 0.75, 0.9)]
"""(retrieval.bm25_k1, retrieval.bm25_b) pairs whose BM25 rankings are recorded per question."""


def _bm25_with(store: Any, k1: float, b: float, query: str, keys: list[str], depth: int) -> list[tuple[str, float]]:
    """The store's BM25 ranking under other parameters (query-time only, nothing re-indexed)."""
    kept = (store.k1, store.b)
    store.k1, store.b = k1, b
    try:
        return store.search(query, keys, depth)
    finally:
        store.k1, store.b = kept


def choose_bm25_params(rows: Sequence[dict[str, Any]], seed: int = 13) -> dict[str, Any]:
    """Best (k1, b) for BM25 alone by MRR@10 on the dev half, with its score on the other half."""
    dev, test = dev_test_split(rows, seed)
    ranked = sorted(
        ((score(dev, lambda r, key=key: r["sparse_grid"][key])["MRR@10"], key) for key in rows[0]["sparse_grid"]),
        key=lambda t: (-round(t[0], 6), t[1]),
    )
    best, key = ranked[0]
    return {
        "seed": seed,
        "bm25_k1_b": key,
        "dev_mrr10": best,
        "test_mrr10": score(test, lambda r: r["sparse_grid"][key])["MRR@10"],
        "dev_grid": {k: round(v, 4) for v, k in ranked},
        "test_as_run_mrr10": score(test, lambda r: r["sparse"])["MRR@10"],
    }


def fuse(row: dict[str, Any], dense_weight: float, sparse_weight: float, rrf_k: int) -> list[str]:
    """The paragraph ranking that the retriever's weighted RRF gives with these weights.

    Fuses the recorded chunk rankings with ``rag.retrieval.rrf`` (as ``HybridRetriever`` does for one
    query), then maps chunks to paragraphs keeping each paragraph's best place.
    """
    from rag.retrieval import rrf

    scores = rrf([(row["dense_ids"], dense_weight), (row["sparse_ids"], sparse_weight)], rrf_k)
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    para = row["para_of"]
    return list(dict.fromkeys(para[c] for c, _ in ranked if para.get(c)))


def score(rows: Sequence[dict[str, Any]], ranking: Callable[[dict[str, Any]], list[str]]) -> dict[str, float]:
    """R@1, R@5, R@10, MRR@10 and nDCG@10 of a ranking over the questions."""
    out: dict[str, float] = {}
    for name, fn in (
        ("R@1", lambda r, g: recall_at_k(r, g, 1)),
        ("R@5", lambda r, g: recall_at_k(r, g, 5)),
        ("R@10", lambda r, g: recall_at_k(r, g, 10)),
        ("MRR@10", lambda r, g: mrr_at_k(r, g, 10)),
        ("nDCG@10", lambda r, g: ndcg_at_k(r, g, 10)),
    ):
        out[name] = mean_ignoring_nan(fn(ranking(row), [row["gold"]]) for row in rows)[0]
    out["n"] = float(len(rows))
    return out


FUSION_GRID: list[tuple[float, float, int]] = [
    (1.0, 1.0, 60),
    (1.0, 1.0, 10),
    (1.0, 2.0, 60),
    (1.0, 3.0, 60),
    (1.0, 2.0, 10),
    (1.0, 3.0, 10),
    (1.0, 4.0, 10),
    (2.0, 1.0, 60),
    (1.0, 1.0, 1),
    (1.0, 2.0, 1),
    (1.0, 3.0, 1),
    (1.0, 4.0, 1),
    (1.0, 4.0, 3),
]
"""(dense_weight, sparse_weight, rrf_k) combinations scored offline from the recorded rankings."""


def _fusion(dense_weight: float, sparse_weight: float, rrf_k: int) -> Callable[[dict[str, Any]], list[str]]:
    return lambda row: fuse(row, dense_weight, sparse_weight, rrf_k)


def summarise(rows: Sequence[dict[str, Any]], settings: Settings) -> dict[str, Any]:
    """Scores of BM25, dense, the shipped hybrid and the fusion grid."""
    p = settings.retrieval
    grid = {f"dense {dw:g} / bm25 {sw:g} / rrf_k {k}": score(rows, _fusion(dw, sw, k)) for dw, sw, k in FUSION_GRID}
    return {
        "bm25": score(rows, lambda r: r["sparse"]),
        "dense": score(rows, lambda r: r["dense"]),
        "hybrid": score(rows, lambda r: r["hybrid"]),
        "hybrid_settings": {"dense_weight": p.dense_weight, "sparse_weight": p.sparse_weight, "rrf_k": p.rrf_k},
        "fusion_grid": grid,
        "bm25_choice": choose_bm25_params(rows) if rows and "sparse_grid" in rows[0] else None,
        "query_seconds_p50": sorted(r["seconds"] for r in rows)[len(rows) // 2] if rows else float("nan"),
    }


def run_benchmark(
    name: str,
    paragraphs: dict[str, str],
    question_sets: dict[str, Sequence[EvalSample]],
    out_dir: Path,
    *,
    embedding: dict[str, Any] | None = None,
    extra_queries: Callable[[EvalSample], tuple[str, ...]] | None = None,
) -> dict[str, Any]:
    """Index ``paragraphs`` once, run each question set against it, write ``<out_dir>/<name>.json``."""
    from rag.embedders import build_embedder

    workdir = Path(tempfile.mkdtemp(prefix=f"fuente-bench-{name}-"))
    try:
        settings_for = lambda home: benchmark_settings(home, embedding)  # noqa: E731
        embedder = build_embedder(settings_for(workdir / "home"))
        pindex = build_paragraph_index(paragraphs, settings_for, embedder, workdir)
        result: dict[str, Any] = {
            "name": name,
            "paragraphs": len(paragraphs),
            "embedding_model": embedder.model_id,
            "ingest_seconds": pindex.ingest_s,
            "sets": {},
        }
        out_dir.mkdir(parents=True, exist_ok=True)
        for set_name, questions in question_sets.items():
            rows = run_questions(pindex, embedder, questions, extra_queries=extra_queries)
            result["sets"][set_name] = summarise(rows, pindex.settings)
            with (out_dir / f"{name}.{set_name}.rows.jsonl").open("w", encoding="utf-8") as f:
                for row in rows:
                    f.write(json.dumps(row, ensure_ascii=False) + "\n")
            log.info("%s / %s: %s", name, set_name, result["sets"][set_name]["hybrid"])
        (out_dir / f"{name}.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
        return result
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def paragraphs_of(*sets: Sequence[EvalSample]) -> dict[str, str]:
    """The distinct paragraphs of several sets (give them ``prefixed`` ids so they never collide)."""
    out: dict[str, str] = {}
    for samples in sets:
        out.update(squad_paragraphs(samples))
    return out


def prefixed(prefix: str, samples: Sequence[EvalSample]) -> list[EvalSample]:
    """The samples with their paragraph id prefixed (to match ``paragraphs_of``)."""
    from dataclasses import replace

    return [replace(s, doc_id=f"{prefix}:{s.doc_id}", gold_sources=(f"{prefix}:{s.doc_id}",)) for s in samples]


def rescore(out_dir: Path, name: str, settings: Settings) -> dict[str, Any]:
    """Recomputes ``<name>.json``'s scores (and the fusion grid) from its recorded rows, searching nothing."""
    path = out_dir / f"{name}.json"
    result = json.loads(path.read_text(encoding="utf-8"))
    for set_name in result["sets"]:
        rows_file = out_dir / f"{name}.{set_name}.rows.jsonl"
        rows = [json.loads(line) for line in rows_file.read_text(encoding="utf-8").splitlines()]
        kept = result["sets"][set_name]["hybrid_settings"]
        summary = summarise(rows, settings)
        summary["hybrid_settings"] = kept  # what the recorded hybrid ranking was made with
        result["sets"][set_name] = summary
    path.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return result


UNCOVERED_GRID: list[tuple[float, int]] = [
    (w, k) for w in (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.7, 1.0) for k in (1, 2, 3, 5, 10, 20, 60)
]
"""(retrieval.uncovered_dense_weight, retrieval.uncovered_rrf_k) pairs tried for uncovered-language questions."""


def dev_test_split(rows: Sequence[dict[str, Any]], seed: int = 13) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Two halves of the questions, drawn with a fixed seed: weights are chosen on the first only."""
    import random

    ids = sorted(str(r["id"]) for r in rows)
    random.Random(seed).shuffle(ids)
    dev = set(ids[: len(ids) // 2])
    return [r for r in rows if str(r["id"]) in dev], [r for r in rows if str(r["id"]) not in dev]


def choose_uncovered_fusion(rows: Sequence[dict[str, Any]], seed: int = 13) -> dict[str, Any]:
    """Best (dense weight, rrf_k) for questions in a language the embedder does not cover, by MRR@10 on
    the dev half (BM25 weight 1), with its score on the other half next to BM25's and dense's."""
    dev, test = dev_test_split(rows, seed)
    grid = sorted(
        ((score(dev, _fusion(w, 1.0, k))["MRR@10"], w, k) for w, k in UNCOVERED_GRID),
        key=lambda t: (-round(t[0], 6), t[1], -t[2]),
    )
    best, weight, rrf_k = grid[0]
    return {
        "seed": seed,
        "dev_questions": len(dev),
        "test_questions": len(test),
        "uncovered_dense_weight": weight,
        "uncovered_rrf_k": rrf_k,
        "dev_mrr10": best,
        "test_mrr10": score(test, _fusion(weight, 1.0, rrf_k))["MRR@10"],
        "test_bm25_mrr10": score(test, lambda r: r["sparse"])["MRR@10"],
        "test_dense_mrr10": score(test, lambda r: r["dense"])["MRR@10"],
        "test_hybrid_as_run_mrr10": score(test, lambda r: r["hybrid"])["MRR@10"],
        "dev_grid_top": [{"weight": w, "rrf_k": k, "dev_mrr10": m} for m, w, k in grid[:10]],
    }


if __name__ == "__main__":  # python -m eval.published.retrieval bench/results/benchmarks/xquad-es.es.rows.jsonl
    import sys

    recorded = [json.loads(line) for line in Path(sys.argv[1]).read_text(encoding="utf-8").splitlines()]
    print(json.dumps({"bm25": choose_bm25_params(recorded), "uncovered": choose_uncovered_fusion(recorded)}, indent=2))
