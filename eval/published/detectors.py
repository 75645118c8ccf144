"""Scores the shipped hallucination detectors on RAGTruth-QA and the judge on RAGChecker's human labels.

* The offline support scorer runs over all 829 responses (embedding only); its verdicts are also
  re-scored at other support thresholds from the recorded sentence scores.
* The LLM judge runs on a seeded random sample (the local model is slow on CPU); the offline
  scorer's numbers on the same sample are given beside it.
* RAGChecker: for sampled instances the judge's claim precision / recall / F1 of each of the two
  responses against the reference answer; the difference (response 2 minus response 1, the
  upstream convention) is correlated with both annotators' correctness / completeness / overall
  preferences, next to the annotators' agreement with each other.

LLM rows are appended as they complete (``*.rows.jsonl``), so a stopped run resumes where it was.
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eval.datasets import RAGCheckerPair, RAGTruthRecord, load_ragchecker, load_ragtruth
from eval.detectors import (
    CachingEmbedder,
    Detection,
    JudgeDetector,
    OfflineSupportDetector,
    SentenceVerdict,
    rethreshold,
    score_detections,
)

log = logging.getLogger(__name__)
THRESHOLDS = (0.3, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8)
PUBLISHED = {
    "response_f1": {"GPT-4-turbo prompting": 63.4, "Luna": 65.4, "LettuceDetect-base": 76.1,
                    "fine-tuned Llama-2-13B": 78.7, "LettuceDetect-large": 79.2, "RAG-HAT": 83.9},
    "span_f1": {"fine-tuned Llama-2-13B": 52.7, "LettuceDetect-large": 58.9},
}  # fmt: skip
"""Published RAGTruth F1 (all tasks, not QA only), from ../shared/data/README.md."""


def _detection_from_json(row: dict[str, Any]) -> Detection:
    sentences = tuple(SentenceVerdict(**s) for s in row["sentences"])
    return Detection(row["hallucinated"], tuple(tuple(s) for s in row["spans"]), sentences, row["seconds"])  # type: ignore[misc]


def _run_rows(detector: Any, records: Sequence[RAGTruthRecord], rows_file: Path, every: int = 50) -> list[Detection]:
    done: dict[str, Detection] = {}
    if rows_file.exists():
        for line in rows_file.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            done[row["id"]] = _detection_from_json(row["detection"])
    with rows_file.open("a", encoding="utf-8") as f:
        for n, r in enumerate(records):
            if r.id in done:
                continue
            detection = detector.detect(r.query, r.context, r.response)
            done[r.id] = detection
            f.write(json.dumps({"id": r.id, "detection": detection.to_json()}) + "\n")
            f.flush()
            if n % every == 0:
                log.info("%s: %d/%d", detector.name, n, len(records))
    return [done[r.id] for r in records]


def _pearson(x: Sequence[float], y: Sequence[float]) -> float:
    n = len(x)
    if n < 3:
        return math.nan
    mx, my = sum(x) / n, sum(y) / n
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True))
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    return sxy / math.sqrt(sxx * syy) if sxx and syy else math.nan


def _ranks(values: Sequence[float]) -> list[float]:
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def correlation(x: Sequence[float], y: Sequence[float]) -> dict[str, float]:
    """Pearson and Spearman correlation (NaN pairs left out), with n."""
    pairs = [(a, b) for a, b in zip(x, y, strict=True) if not (math.isnan(a) or math.isnan(b))]
    xs, ys = [a for a, _ in pairs], [b for _, b in pairs]
    return {"pearson": _pearson(xs, ys), "spearman": _pearson(_ranks(xs), _ranks(ys)), "n": float(len(pairs))}


def annotator_agreement(pairs: Sequence[RAGCheckerPair]) -> dict[str, dict[str, float]]:
    """Correlation of the two annotators' labels with each other, per criterion."""
    by_instance: dict[str, dict[int, RAGCheckerPair]] = {}
    for p in pairs:
        by_instance.setdefault(p.instance_id, {})[p.annotator] = p
    both = [v for v in by_instance.values() if 0 in v and 1 in v]
    return {
        crit: correlation([float(getattr(v[0], crit)) for v in both], [float(getattr(v[1], crit)) for v in both])
        for crit in ("correctness", "completeness", "overall")
    }


def run_ragchecker(judge: Any, pairs: Sequence[RAGCheckerPair], sample: int, rows_file: Path) -> dict[str, Any]:
    """Judge claim scores on sampled instances, correlated with the human preferences."""
    instances = sorted({p.instance_id for p in pairs if p.response1 and p.response2}, key=int)
    chosen = random.Random(0).sample(instances, min(sample, len(instances)))
    done: dict[str, dict[str, Any]] = {}
    if rows_file.exists():
        for line in rows_file.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            done[row["instance_id"]] = row
    first = {p.instance_id: p for p in pairs if p.annotator == 0}
    with rows_file.open("a", encoding="utf-8") as f:
        for iid in chosen:
            if iid in done:
                continue
            p = first[iid]
            started = time.monotonic()
            s1 = judge.claim_scores(p.response1, p.gt_answer, None, "en")
            s2 = judge.claim_scores(p.response2, p.gt_answer, None, "en")
            row = {"instance_id": iid, "response1": s1, "response2": s2, "seconds": time.monotonic() - started}
            done[iid] = row
            f.write(json.dumps(row) + "\n")
            f.flush()
            log.info("ragchecker %s: %.0f s", iid, row["seconds"])
    ours: dict[str, list[float]] = {"correctness": [], "completeness": [], "overall": []}
    human: dict[str, list[float]] = {"correctness": [], "completeness": [], "overall": []}
    for p in pairs:
        if p.instance_id not in done or p.instance_id not in chosen:
            continue
        row = done[p.instance_id]
        for crit, metric in (("correctness", "precision"), ("completeness", "recall"), ("overall", "f1")):
            a, b = row["response1"][metric], row["response2"][metric]
            ours[crit].append(b - a if not (math.isnan(a) or math.isnan(b)) else math.nan)
            human[crit].append(float(getattr(p, crit)))
    chosen_pairs = [p for p in pairs if p.instance_id in chosen]
    return {
        "instances": len([i for i in chosen if i in done]),
        "judge_vs_human": {c: correlation(ours[c], human[c]) for c in ours},
        "human_vs_human_sample": annotator_agreement(chosen_pairs),
        "human_vs_human_all": annotator_agreement(pairs),
        "seconds_per_instance": (
            sum(done[i]["seconds"] for i in chosen if i in done) / max(1, len([i for i in chosen if i in done]))
        ),
    }


def _judge_for(settings: Any, base_url: str | None, model: str | None) -> Any:
    from eval.judges import Judge

    endpoint = settings.llm.local
    update: dict[str, Any] = {"timeout_s": 600.0}
    if base_url:
        update |= {"base_url": base_url, "name": "judge"}
    if model:
        update["model"] = model
    return Judge.from_endpoint(endpoint.model_copy(update=update))


def judge_sample_ids(records: Sequence[RAGTruthRecord], n: int) -> list[int]:
    """Seeded random sample of response positions (the same for every run with the same n)."""
    return sorted(random.Random(0).sample(range(len(records)), min(n, len(records))))


def run_detectors(
    ragtruth_path: Path,
    ragchecker_path: Path,
    out_dir: Path,
    *,
    judge_sample: int,
    ragchecker_sample: int,
    base_url: str | None,
    model: str | None,
    parts: Sequence[str] = ("offline", "judge", "ragchecker"),
) -> dict[str, Any]:
    """Runs the detector parts; each writes ``<out_dir>/detectors-<part>.json``."""
    from rag.settings import load_settings

    out_dir.mkdir(parents=True, exist_ok=True)
    settings = load_settings("default", environ={}, overrides={"paths": {"models": str(_models_dir())}})
    records = load_ragtruth(ragtruth_path)
    results: dict[str, Any] = {}
    if "offline" in parts:
        from rag.embedders import build_embedder

        shipped = settings.verification.sentence_support
        embedder = build_embedder(settings)
        offline = OfflineSupportDetector(CachingEmbedder(embedder), shipped)
        detections = _run_rows(offline, records, out_dir / "detectors.offline.rows.jsonl")
        sweep = {
            f"{t:g}": score_detections(records, [rethreshold(d, t) for d in detections]).to_json() for t in THRESHOLDS
        }
        results["offline"] = {
            "dataset": "RAGTruth-QA test",
            "responses": len(records),
            "published": PUBLISHED,
            "name": offline.name,
            "embedding_model": embedder.model_id,
            "sentence_support": shipped,
            "score": score_detections(records, detections).to_json(),
            "threshold_sweep": sweep,
            "seconds_per_response": sum(d.seconds for d in detections) / len(detections),
        }
    if "grounding" in parts:
        results["grounding"] = run_grounding(records, out_dir)
    judge = None
    if "judge" in parts and judge_sample > 0:
        judge = _judge_for(settings, base_url, model)
        sampled = [records[i] for i in judge_sample_ids(records, judge_sample)]
        judged = _run_rows(JudgeDetector(judge), sampled, out_dir / "detectors.judge.rows.jsonl", every=5)
        results["judge"] = {
            "name": f"LLM judge ({judge.name}, prompt {judge.prompt_version})",
            "sample": len(sampled),
            "sample_ids": [r.id for r in sampled],
            "score": score_detections(sampled, judged).to_json(),
            "seconds_per_response": sum(d.seconds for d in judged) / max(1, len(judged)),
        }
    if "ragchecker" in parts and ragchecker_sample > 0:
        judge = judge or _judge_for(settings, base_url, model)
        pairs = load_ragchecker(ragchecker_path)
        results["ragchecker"] = run_ragchecker(
            judge, pairs, ragchecker_sample, out_dir / "detectors.ragchecker.rows.jsonl"
        )
        results["ragchecker"]["judge"] = judge.name
    if judge is not None:
        judge.close()
    for part, result in results.items():
        (out_dir / f"detectors-{part}.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    return results


GROUNDING_THRESHOLDS = (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
GROUNDING_COUNTS = (1, 2, 3)  # missing facts in all, or weak sentences, that flag a response


def run_grounding(records: Sequence[RAGTruthRecord], out_dir: Path) -> dict[str, Any]:
    """The extract protocol's grounding checks as a detector: thresholds chosen on the dev half, scored on the test half."""
    from eval.datasets import dev_or_test
    from eval.detectors import GroundingDetector, regrounded

    detector = GroundingDetector(overlap_min=0.0)
    detections = _run_rows(detector, records, out_dir / "detectors.grounding.rows.jsonl")
    halves = {h: [i for i, r in enumerate(records) if dev_or_test(r.id) == h] for h in ("dev", "test")}

    def f1_on(idx: list[int], rule: tuple[float, int, int]) -> dict[str, Any]:
        return score_detections([records[i] for i in idx], [regrounded(detections[i], *rule) for i in idx]).to_json()

    rules = [(t, f, w) for t in GROUNDING_THRESHOLDS for f in GROUNDING_COUNTS for w in GROUNDING_COUNTS]
    sweep = {_rule_name(r): f1_on(halves["dev"], r) for r in rules}
    # Ties go to the simplest rule (fewest sentences needed), listed first.
    best = max(rules, key=lambda r: sweep[_rule_name(r)]["response"]["f1"])
    one_sentence = max(rules[:: len(GROUNDING_COUNTS) ** 2], key=lambda r: sweep[_rule_name(r)]["response"]["f1"])
    return {
        "dataset": "RAGTruth-QA test",
        "responses": len(records),
        "name": detector.name,
        "overlap_min": best[0],
        "facts_at_least": best[1],
        "weak_at_least": best[2],
        "split": {h: len(v) for h, v in halves.items()},
        "dev_sweep": sweep,
        "dev": f1_on(halves["dev"], best),
        "test": f1_on(halves["test"], best),
        "score": f1_on(list(range(len(records))), best),
        "one_sentence_rule": {
            "overlap_min": one_sentence[0],
            "dev": f1_on(halves["dev"], one_sentence),
            "test": f1_on(halves["test"], one_sentence),
            "score": f1_on(list(range(len(records))), one_sentence),
        },
        "seconds_per_response": sum(d.seconds for d in detections) / max(1, len(detections)),
    }


def _rule_name(rule: tuple[float, int, int]) -> str:
    return f"overlap<{rule[0]:g} x{rule[2]} or facts>={rule[1]}"


def offline_on(ids: Sequence[str], ragtruth_path: Path, out_dir: Path) -> dict[str, Any] | None:
    """The offline scorer's score on given response ids, from its recorded rows (None if not all there)."""
    rows_file = out_dir / "detectors.offline.rows.jsonl"
    if not rows_file.exists():
        return None
    done = {}
    for line in rows_file.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        done[row["id"]] = _detection_from_json(row["detection"])
    by_id = {r.id: r for r in load_ragtruth(ragtruth_path)}
    if not all(i in done for i in ids):
        return None
    return score_detections([by_id[i] for i in ids], [done[i] for i in ids]).to_json()


def _models_dir() -> Path:
    from rag.settings import REPO_ROOT

    return REPO_ROOT / ".fuente" / "models"
