"""Embedding speed and quality of the configured backend against PyTorch fp32, in one process.

Answers: is the embedder of ``embedding.backend`` (OpenVINO by default) at least 2.5x the chunks/s
of the PyTorch fp32 model it was exported from, on the same texts and batch size, with the same
retrieval quality? Both embedders load once, outside the timings, and warm up on one batch. The
texts are the XQuAD-en paragraphs (240, about 150 tokens each; what ingestion embeds). The two
sides are timed batch by batch in alternation (torch, backend, torch, ...), so load from other
processes on a shared machine hits both alike; the speed-up is the ratio of their summed times.

Quality: XQuAD-en question -> paragraph retrieval by cosine over the same paragraph vectors,
MRR@10 of each side (target: the backend within 0.01 of torch), and the lowest cosine between
the two sides' vectors of the same text.

Run from the repository root::

    .venv/bin/python bench/embed.py                       # the configured backend (default profile)
    .venv/bin/python bench/embed.py --backend onnx        # another one
    .venv/bin/python bench/embed.py --backend onnx --quantize int8
    .venv/bin/python bench/embed.py --json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import numpy as np  # noqa: E402

from rag.embedders import SentenceTransformerEmbedder  # noqa: E402
from rag.exported_embedder import ExportedEmbedder  # noqa: E402
from rag.provisioning import ensure_model  # noqa: E402
from rag.settings import REPO_ROOT, load_settings  # noqa: E402

TARGET_SPEEDUP = 2.5
TARGET_MRR_GAP = 0.01
DEFAULT_MODELS = REPO_ROOT / ".fuente" / "models"


def shared_data() -> Path:
    return Path(os.environ.get("FUENTE_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def xquad_en(data: Path) -> tuple[list[str], list[tuple[str, int]]]:
    """(paragraphs, [(question, index of its paragraph)])."""
    doc = json.loads((data / "qa" / "xquad.en.json").read_text(encoding="utf-8-sig"))
    paragraphs: list[str] = []
    questions: list[tuple[str, int]] = []
    for article in doc["data"]:
        for para in article["paragraphs"]:
            questions.extend((qa["question"], len(paragraphs)) for qa in para["qas"])
            paragraphs.append(para["context"])
    return paragraphs, questions


def mrr_at_10(paragraph_vecs: np.ndarray, question_vecs: np.ndarray, gold: list[int]) -> float:
    scores = question_vecs @ paragraph_vecs.T
    total = 0.0
    for row, g in zip(scores, gold, strict=True):
        top = np.argsort(-row)[:10]
        hits = np.nonzero(top == g)[0]
        total += 1.0 / (hits[0] + 1) if len(hits) else 0.0
    return total / len(gold)


def timed_alternating(
    sides: dict[str, Any], texts: list[str], batch: int
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Seconds each side spends embedding ``texts`` in batches, the sides alternating per batch, and
    each side's vectors (in the order of ``texts``).

    The texts are sorted by length first and cut into batches (what both embedders do inside one
    call), so each side pays for the same padding."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
    spent = dict.fromkeys(sides, 0.0)
    vectors: dict[str, np.ndarray] = {}
    for start in range(0, len(order), batch):
        rows = order[start : start + batch]
        part = [texts[i] for i in rows]
        for name, embedder in sides.items():
            t = time.perf_counter()
            got = embedder.embed_documents(part)
            spent[name] += time.perf_counter() - t
            vectors.setdefault(name, np.zeros((len(texts), got.shape[1]), dtype=np.float32))[rows] = got
    return spent, vectors


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=shared_data())
    ap.add_argument("--models", type=Path, default=DEFAULT_MODELS)
    ap.add_argument("--profile", default="default")
    ap.add_argument("--backend", choices=["onnx", "openvino"], default=None, help="default: embedding.backend")
    ap.add_argument("--quantize", choices=["none", "int8"], default=None)
    ap.add_argument("--precision", choices=["auto", "f32", "bf16"], default=None)
    ap.add_argument("--limit", type=int, default=0, help="paragraphs timed (0: all 240)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not (args.data / "qa" / "xquad.en.json").exists():
        print(f"XQuAD is not under {args.data}/qa; pass --data or set FUENTE_SHARED_DATA.", file=sys.stderr)
        return 2
    settings = load_settings(args.profile, environ={**os.environ, "FUENTE__PATHS__MODELS": str(args.models)})
    cfg = settings.embedding
    backend = args.backend or (cfg.backend if cfg.backend != "torch" else "openvino")
    quantize = args.quantize or cfg.quantize
    precision = args.precision or cfg.precision
    model_dir = ensure_model(settings, cfg.model)
    torch_side = SentenceTransformerEmbedder(model_dir, model_id=cfg.model, batch_size=cfg.batch_size)
    fast = ExportedEmbedder(
        model_dir,
        model_id=cfg.model,
        backend=backend,
        batch_size=cfg.batch_size,
        quantize=quantize,
        precision=precision,
        threads=cfg.threads,
    )
    paragraphs, questions = xquad_en(args.data)
    timed = paragraphs[: args.limit] if args.limit else paragraphs
    for side in (torch_side, fast):
        side.embed_documents(timed[: cfg.batch_size])  # warm-up
    spent, vectors = timed_alternating({"torch": torch_side, "backend": fast}, timed, cfg.batch_size)
    tokens = sum(min(torch_side.count_tokens(t), torch_side.max_tokens) for t in timed) / len(timed)

    quality: dict[str, float] = {}
    for name, side in (("torch", torch_side), ("backend", fast)):
        if len(timed) < len(paragraphs):
            vectors[name] = side.embed_documents(paragraphs)
        # The questions in batches, with the query prompt, as embed_query encodes each one.
        q = side._encode([text for text, _ in questions], side._query_prompt)
        quality[name] = mrr_at_10(vectors[name], q, [g for _, g in questions])
    cosine_min = float((vectors["torch"] * vectors["backend"]).sum(axis=1).min())
    speedup = spent["torch"] / spent["backend"]
    gap = quality["torch"] - quality["backend"]
    result = {
        "backend": fast.backend,
        "precision": precision,
        "texts": len(timed),
        "mean_tokens": tokens,
        "batch_size": cfg.batch_size,
        "torch_chunks_per_s": len(timed) / spent["torch"],
        "backend_chunks_per_s": len(timed) / spent["backend"],
        "speedup": speedup,
        "questions": len(questions),
        "mrr10_torch": quality["torch"],
        "mrr10_backend": quality["backend"],
        "mrr10_gap": gap,
        "cosine_min": cosine_min,
        "meets_speedup": speedup >= TARGET_SPEEDUP,
        "meets_quality": gap <= TARGET_MRR_GAP,
        "load_avg_1m": os.getloadavg()[0],
        "cpus": os.cpu_count(),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    r = result
    print(f"{r['texts']} XQuAD-en paragraphs (mean {r['mean_tokens']:.0f} tokens), batch {r['batch_size']}, "
          f"sides alternating per batch")  # fmt: skip
    print(f"torch fp32:           {r['torch_chunks_per_s']:.1f} chunks/s")
    print(f"{r['backend']} ({precision}): {r['backend_chunks_per_s']:.1f} chunks/s")
    print(f"speedup: {speedup:.2f} (target >= {TARGET_SPEEDUP}: {'meets' if r['meets_speedup'] else 'MISSES'})")
    print(f"XQuAD-en MRR@10 ({r['questions']} q): torch {quality['torch']:.4f}, {r['backend']} {quality['backend']:.4f}, "
          f"gap {gap:+.4f} (target <= {TARGET_MRR_GAP}: {'meets' if r['meets_quality'] else 'MISSES'})")  # fmt: skip
    print(f"lowest cosine between the two sides' paragraph vectors: {cosine_min:.4f}")
    print(f"1-minute load average {r['load_avg_1m']:.1f} on {r['cpus']} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
