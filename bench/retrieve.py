"""Hybrid retrieval latency with access control over 100,000 chunks (or 1,000,000), measured in one process.

Builds (or reuses) an index of 100,000 chunks in a work folder: Chroma (embedded), BM25 and the
SQLite records, written through the project's own stores, in four access sets (everyone 70%, rrhh,
it, direccion+finanzas 10% each). The chunk texts are real Spanish and English prose from the
public QA sets beside the repo (sentence windows of SQuAD-es and XQuAD paragraphs). Embedding
100,000 texts with all-MiniLM-L6-v2 would take hours on 2 cores, so only the 1,200 source
paragraphs are embedded and each chunk's vector is a normalised random mix of two of them plus
noise: the HNSW graph sees a realistic spread of directions, and the query side is fully real.

It then times ``HybridRetriever.retrieve`` (embedding the query with the real model, dense search
over the user's visible collections, BM25 with the access mask, weighted RRF, records lookup,
near-duplicate collapse) for XQuAD questions as a user of group ``rrhh``, and a baseline in the
same process: the same query embedding plus one unfiltered Chroma query and one BM25 search over
every access set (what retrieval costs with no access control and no fusion). The query embedder
is the configured one (``embedding.backend``, OpenVINO by default). It prints p50/p95 of both,
their ratio, the time by stage, and whether p95 meets the target (<= 20 ms at 100k, <= 100 ms at
1M). Last it adds one document (a Markdown file of about 20 chunks) through the real
``Ingestor`` and removes it again, timing both end to end (target: <= 3 s each at 100k).

Run from the repository root::

    .venv/bin/python bench/retrieve.py                   # builds the index once (~5 min), then measures
    .venv/bin/python bench/retrieve.py --queries 400     # more queries
    .venv/bin/python bench/retrieve.py --json
    .venv/bin/python bench/retrieve.py --chunks 1000000  # the million (heavy: see docs/benchmarks.md)
    .venv/bin/python bench/retrieve.py --chunks 1000000 --build-only  # build now, measure later

The index lives in ``--workdir`` (default ``/tmp/fuente-bench-retrieve-<chunks>``) and is reused by later
runs; ``--rebuild`` starts over. Nothing is written into the repository.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import numpy as np  # noqa: E402

from rag.app import build_search, build_writer  # noqa: E402
from rag.embedders import Embedder, build_embedder  # noqa: E402
from rag.index import Index  # noqa: E402
from rag.index.base import NewDocument, RecordStore  # noqa: E402
from rag.index.bm25_store import BM25Store  # noqa: E402
from rag.retrieval import visible_access_keys  # noqa: E402
from rag.settings import REPO_ROOT, Settings, load_settings  # noqa: E402
from rag.types import AccessLabel, Chunk, Sensitivity  # noqa: E402

TARGET_P95_MS = {100_000: 20.0, 1_000_000: 100.0}
TARGET_ADD_S = 3.0
N_CHUNKS = 100_000
N_SOURCE_PARAGRAPHS = 1200
CHUNKS_PER_DOC = 20
ACCESS_SETS = (
    (frozenset({"everyone"}), 0.70),
    (frozenset({"rrhh"}), 0.10),
    (frozenset({"it"}), 0.10),
    (frozenset({"direccion", "finanzas"}), 0.10),
)
USER_GROUPS = frozenset({"rrhh"})
SOURCES = ("qa/dev-v1.1-es_small.json", "qa/xquad.en.json", "qa/xquad.es.json")
DEFAULT_MODELS = REPO_ROOT / ".fuente" / "models"


def shared_data() -> Path:
    return Path(os.environ.get("FUENTE_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def paragraphs_and_questions(data: Path) -> tuple[list[str], list[str]]:
    paragraphs: list[str] = []
    questions: list[str] = []
    for rel in SOURCES:
        doc = json.loads((data / rel).read_text(encoding="utf-8-sig"))
        for article in doc["data"]:
            for para in article["paragraphs"]:
                paragraphs.append(para["context"].lstrip("\ufeff"))
                if "xquad" in rel:
                    questions.extend(qa["question"] for qa in para["qas"])
    return paragraphs, questions


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text) if len(s) > 20]


def build(
    settings: Settings, embedder: Embedder, data: Path, say: Callable[[str], None], n_chunks: int = N_CHUNKS
) -> None:
    rng = random.Random(7)
    paragraphs, _ = paragraphs_and_questions(data)
    rng.shuffle(paragraphs)
    base = paragraphs[:N_SOURCE_PARAGRAPHS]
    say(f"embedding {len(base)} source paragraphs ...")
    t = time.monotonic()
    base_vecs = embedder.embed_documents(base)
    say(f"  {time.monotonic() - t:.0f} s")
    base_sents = [sentences(p) or [p] for p in base]
    keys = [g for g, _ in ACCESS_SETS]
    weights = [w for _, w in ACCESS_SETS]
    index = Index(settings)
    try:
        t = time.monotonic()
        batch_chunks: list[Chunk] = []
        batch_vecs: list[np.ndarray] = []
        docs: list[list[Chunk]] = []
        for n in range(n_chunks):
            doc_no = n // CHUNKS_PER_DOC
            if n % CHUNKS_PER_DOC == 0:
                groups = rng.choices(keys, weights)[0]
                docs.append([])
            a, b = rng.randrange(len(base)), rng.randrange(len(base))
            w = rng.uniform(0.6, 0.9)
            vec = (
                w * base_vecs[a] + (1 - w) * base_vecs[b] + np.random.default_rng(n).normal(0, 0.02, base_vecs.shape[1])
            )
            vec = (vec / np.linalg.norm(vec)).astype(np.float32)
            sa, sb = base_sents[a], base_sents[b]
            i = rng.randrange(len(sa))
            text = " ".join(sa[i : i + 3] + [sb[rng.randrange(len(sb))]])
            chunk_id = hashlib.sha1(f"{n}:{text}".encode()).hexdigest()
            doc_id = f"doc{doc_no:06d}"
            chunk = Chunk(
                id=chunk_id,
                doc_id=doc_id,
                text=text,
                ordinal=n % CHUNKS_PER_DOC,
                source_uri=f"/bench/{doc_id}.md",
                title=f"Bench document {doc_no}",
                access=AccessLabel(groups, Sensitivity.INTERNAL),
                language="es" if a % 3 else "en",
                modified=0.0,
                content_hash=doc_id,
            )
            docs[-1].append(chunk)
            batch_chunks.append(chunk)
            batch_vecs.append(vec)
            if len(batch_chunks) == 5000:
                index.vectors.upsert(batch_chunks, np.stack(batch_vecs))
                batch_chunks, batch_vecs = [], []
                say(f"  {n + 1:,} chunks in Chroma ({time.monotonic() - t:.0f} s)")
        if batch_chunks:
            index.vectors.upsert(batch_chunks, np.stack(batch_vecs))
        index.records.add_documents([NewDocument(doc, "md", []) for doc in docs])
        # Written in one go and complete: mark the stores in step, as a writer that ends cleanly does, so
        # the first timed job does not pay the repair pass's one full listing.
        index.records.mark_in_step(True)
        say("building BM25 ...")
        index.sync_keywords()
        say(f"index built in {time.monotonic() - t:.0f} s")
    finally:
        index.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def measure(settings: Settings, embedder: Embedder, questions: list[str], target_ms: float) -> dict[str, object]:
    searcher = build_search(settings, embedder=embedder)
    index, retriever = searcher.index, searcher.retriever
    try:
        p = settings.retrieval
        all_keys = index.vectors.access_keys()
        everything = [k for k in all_keys]
        visible = visible_access_keys(all_keys, USER_GROUPS)
        for q in questions[:10]:  # warm-up: model, collections, BM25 arrays, SQLite pages
            retriever.retrieve(q, USER_GROUPS)
            index.keywords.search(q, everything, p.sparse_k)
        hybrid: list[float] = []
        baseline: list[float] = []
        stages: dict[str, list[float]] = {"embed": [], "dense": [], "bm25": [], "rest": []}
        leaked = 0
        for q in questions:
            t0 = time.perf_counter()
            got = retriever.retrieve(q, USER_GROUPS)
            hybrid.append((time.perf_counter() - t0) * 1000)
            leaked += sum(not h.chunk.access.visible_to(USER_GROUPS) for h in got.chunks)
            # Stage split of the same work (a second pass; the cache-warm cost of each part).
            t1 = time.perf_counter()
            vec = embedder.embed_query(q)
            t2 = time.perf_counter()
            index.vectors.query(vec, visible, p.dense_k)
            t3 = time.perf_counter()
            index.keywords.search(q, visible, p.sparse_k)
            t4 = time.perf_counter()
            stages["embed"].append((t2 - t1) * 1000)
            stages["dense"].append((t3 - t2) * 1000)
            stages["bm25"].append((t4 - t3) * 1000)
            stages["rest"].append(max(0.0, hybrid[-1] - (t4 - t1) * 1000))
            # Baseline: no access control, no fusion: one embedding, the largest collection, plain BM25.
            t5 = time.perf_counter()
            vec = embedder.embed_query(q)
            index.vectors.query(vec, ["everyone"], p.dense_k)
            index.keywords.search(q, everything, p.sparse_k)
            baseline.append((time.perf_counter() - t5) * 1000)
        return {
            "chunks": index.records.chunk_count(),
            "chroma_chunks": index.vectors.count(),
            "queries": len(questions),
            "user_groups": sorted(USER_GROUPS),
            "visible_access_sets": visible,
            "hybrid_p50_ms": statistics.median(hybrid),
            "hybrid_p95_ms": percentile(hybrid, 95),
            "baseline_p50_ms": statistics.median(baseline),
            "baseline_p95_ms": percentile(baseline, 95),
            "ratio_p50": statistics.median(hybrid) / statistics.median(baseline),
            "ratio_p95": percentile(hybrid, 95) / percentile(baseline, 95),
            "stage_p50_ms": {k: statistics.median(v) for k, v in stages.items()},
            "leaked_chunks": leaked,
            "embedding_backend": getattr(embedder, "backend", type(embedder).__name__),
            "target_p95_ms": target_ms,
            "meets_target": percentile(hybrid, 95) <= target_ms,
            "load_avg_1m": os.getloadavg()[0],
        }
    finally:
        searcher.close()


def add_and_remove_one_document(settings: Settings, embedder: Embedder, data: Path) -> dict[str, object]:
    """Time ``Ingestor.run`` adding one Markdown document to the big index, then removing it."""
    import shutil
    import tempfile

    from ingest.pipeline import Ingestor

    paragraphs, _ = paragraphs_and_questions(data)
    folder = Path(tempfile.mkdtemp(prefix="fuente-bench-add-"))
    doc = folder / "nueva_politica.md"
    doc.write_text("# Nueva política\n\n" + "\n\n".join(paragraphs[-12:]) + "\n", encoding="utf-8")
    sync_times: list[float] = []

    class TimedKeywords(BM25Store):
        def sync(self, records: RecordStore) -> bool:
            t = time.perf_counter()
            try:
                return super().sync(records)
            finally:
                sync_times.append(time.perf_counter() - t)

    index = Index(settings, keywords=TimedKeywords(settings.paths.bm25_dir))
    writer = build_writer(settings, embedder=embedder, index=index)
    try:
        ingestor = Ingestor(writer)
        before = index.records.chunk_count()
        t = time.perf_counter()
        ingestor.run([folder])
        add_s = time.perf_counter() - t
        added = index.records.chunk_count() - before
        add_bm25 = sum(sync_times)
        doc.unlink()
        t = time.perf_counter()
        ingestor.run([folder])
        remove_s = time.perf_counter() - t
        consistent = index.keywords.chunk_count() == index.records.chunk_count()
    finally:
        writer.close()
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "added_chunks": added,
        "add_one_document_s": add_s,
        "add_bm25_s": add_bm25,
        "remove_one_document_s": remove_s,
        "bm25_consistent_after": consistent,
        "meets_add_target": max(add_s, remove_s) <= TARGET_ADD_S,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=shared_data())
    ap.add_argument("--models", type=Path, default=DEFAULT_MODELS)
    ap.add_argument("--workdir", type=Path, default=None, help="default: /tmp/fuente-bench-retrieve-<chunks>")
    ap.add_argument("--chunks", type=int, default=N_CHUNKS, help="index size (100000 or 1000000)")
    ap.add_argument("--no-add", action="store_true", help="skip timing the addition of one document")
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--build-only", action="store_true", help="build the index (if missing) and stop: the million "
                    "can be built once and measured later on an idle machine")  # fmt: skip
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not all((args.data / rel).exists() for rel in SOURCES):
        print(f"The shared QA sets are not under {args.data}; pass --data or set FUENTE_SHARED_DATA.", file=sys.stderr)
        return 2

    def say(line: str) -> None:
        if not args.json:
            print(line, flush=True)

    args.workdir = args.workdir or Path(f"/tmp/fuente-bench-retrieve-{args.chunks}")
    environ = {**os.environ, "FUENTE_HOME": str(args.workdir), "FUENTE__PATHS__MODELS": str(args.models)}
    settings = load_settings(None, environ=environ)
    embedder = build_embedder(settings)
    target_ms = TARGET_P95_MS.get(args.chunks, TARGET_P95_MS[N_CHUNKS])
    marker = args.workdir / "bench-complete"
    if args.rebuild or not marker.exists():
        import shutil

        shutil.rmtree(args.workdir, ignore_errors=True)
        args.workdir.mkdir(parents=True)
        build(settings, embedder, args.data, say, args.chunks)
        marker.write_text("ok")
    if args.build_only:
        say(f"index ready in {args.workdir}")
        return 0
    _, questions = paragraphs_and_questions(args.data)
    random.Random(3).shuffle(questions)
    result = measure(settings, embedder, questions[: args.queries], target_ms)
    if not args.no_add:
        result.update(add_and_remove_one_document(settings, embedder, args.data))
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    r = result
    print(f"\nchunks: {r['chunks']:,} in records, {r['chroma_chunks']:,} in Chroma; user groups {r['user_groups']} "
          f"see {r['visible_access_sets']}; {r['queries']} XQuAD questions (es+en)")  # fmt: skip
    print(f"hybrid retrieval (ACL, query embedding included): p50 {r['hybrid_p50_ms']:.1f} ms, "
          f"p95 {r['hybrid_p95_ms']:.1f} ms")  # fmt: skip
    print(f"baseline (embedding + one unfiltered dense query + plain BM25): p50 {r['baseline_p50_ms']:.1f} ms, "
          f"p95 {r['baseline_p95_ms']:.1f} ms")  # fmt: skip
    print(f"ratio hybrid/baseline: p50 {r['ratio_p50']:.2f}, p95 {r['ratio_p95']:.2f}")
    print("stages p50 (ms): " + ", ".join(f"{k} {v:.1f}" for k, v in r["stage_p50_ms"].items()))  # type: ignore[attr-defined]
    print(f"chunks returned that the user may not see: {r['leaked_chunks']}")
    verdict = "meets" if r["meets_target"] else "MISSES"
    print(f"target p95 <= {target_ms:.0f} ms: {verdict} (query embedding: {r['embedding_backend']}; 1-minute load "
          f"average {r['load_avg_1m']:.1f} on {os.cpu_count()} CPUs)")  # fmt: skip
    if "add_one_document_s" in r:
        print(f"one document ({r['added_chunks']} chunks) added end to end in {r['add_one_document_s']:.2f} s "
              f"(BM25 sync {r['add_bm25_s']:.2f} s), removed in {r['remove_one_document_s']:.2f} s; target <= "
              f"{TARGET_ADD_S:.0f} s: {'meets' if r['meets_add_target'] else 'MISSES'}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
