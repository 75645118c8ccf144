"""Calibrate the hallucination guard's thresholds on our own question set.

Runs the real assistant (the configured local model) over ``samples/questions.jsonl`` once with the
guard wide open, records what each answer's checks measured, then searches the thresholds that
best separate "show" from "refuse": an answerable question should be shown only when the answer
is right (contains an accepted short answer), and an unanswerable or forbidden one should be
refused. Writes the raw rows (JSONL) and a Markdown report.

Usage:
    python -m eval.calibrate [--sample N] [--out docs/calibration.md] [--rows bench/results/calibration.jsonl]
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import tempfile
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.settings import REPO_ROOT, load_settings

QUESTIONS = REPO_ROOT / "samples" / "questions.jsonl"


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in text if not unicodedata.combining(c)).replace(" ", "")


def correct(answer: str, accepted: list[str]) -> bool:
    got = normalise(answer)
    return any(normalise(a) in got for a in accepted)


@dataclass(frozen=True)
class Row:
    id: str
    answerable: bool
    correct: bool
    evidence: float
    model_refused: bool
    claims: list[dict[str, Any]]
    """Per claim sentence: support, whether facts are missing, whether it has a valid citation."""
    forbidden: bool
    text: str = ""


def collect(sample: int | None, rows_file: Path) -> list[Row]:
    """Ingest the sample corpus into a throwaway home and ask every question with the guard open."""
    from ingest.pipeline import Ingestor
    from rag.app import build_app
    from rag.assistant import User
    from rag.embedders import build_embedder
    from rag.index import Index
    from rag.verify import Thresholds

    home = Path(tempfile.mkdtemp(prefix="fuente-calibrate-"))
    settings = load_settings(overrides={"paths": {"home": str(home), "models": str(REPO_ROOT / ".fuente" / "models")}})
    embedder = build_embedder(settings)
    index = Index(settings)
    Ingestor(settings, index, lambda: embedder).run([REPO_ROOT / "samples" / "corpus"])
    index.close()
    app = build_app(settings, embedder=embedder)
    app.assistant.thresholds = Thresholds(0.0, 0.0, -1.0)  # never refuse: measure, decide later
    # Rows are appended as they come, so a long run can be stopped and resumed: done ids are skipped.
    rows_file.parent.mkdir(parents=True, exist_ok=True)
    rows = [Row(**json.loads(line)) for line in rows_file.read_text().splitlines()] if rows_file.exists() else []
    done = {r.id for r in rows}
    questions = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    if sample and sample < len(questions):
        # Round-robin over answerable, unanswerable and restricted questions, so a run stopped early
        # still holds every kind.
        kinds: dict[str, list[dict[str, Any]]] = {}
        for q in questions:
            kinds.setdefault(q["id"][0], []).append(q)
        mixed = [q for group in itertools.zip_longest(*kinds.values()) for q in group if q is not None]
        questions = mixed[:sample]
    for q in questions:
        if q["id"] in done:
            continue
        started = time.monotonic()
        answer = app.assistant.ask(q["question"], User(None, frozenset(q["groups"])))
        claims = [
            {
                "support": s["support"],
                "missing": bool(s["missing_facts"]),
                "cited": bool(s["citations"]) and not s["invalid_citations"],
            }
            for s in answer.sentences
            if s.get("kind", "claim") == "claim"
        ]
        forbidden = any(s.get("forbidden_citations") for s in answer.sentences)
        model_refused = answer.refused and answer.verdict == "refusal"
        rows.append(
            Row(
                q["id"],
                bool(q["answerable"]),
                correct(answer.generated_text, q["accepted_answers"]),
                answer.evidence,
                model_refused,
                claims,
                forbidden,
            )
        )
        with rows_file.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(rows[-1].__dict__, ensure_ascii=False) + "\n")
        print(
            f"{q['id']:>14} answerable={q['answerable']!s:5} correct={rows[-1].correct!s:5} "
            f"evidence={answer.evidence:.2f} claims={len(claims)} {time.monotonic() - started:.0f}s",
            flush=True,
        )
    app.close()
    return rows


def shown(row: Row, sentence: float, share: float, retrieval: float) -> bool:
    """Replays rag.verify.should_refuse with other thresholds on what was measured."""
    if row.model_refused or row.forbidden or not row.claims or row.evidence < retrieval:
        return False
    supported = [c["cited"] and not c["missing"] and c["support"] >= sentence for c in row.claims]
    return sum(supported) / len(supported) >= share and any(supported)


def score(rows: list[Row], sentence: float, share: float, retrieval: float) -> dict[str, float]:
    good_shown = sum(1 for r in rows if shown(r, sentence, share, retrieval) and r.answerable and r.correct)
    bad_shown = sum(1 for r in rows if shown(r, sentence, share, retrieval) and not (r.answerable and r.correct))
    should_refuse = [r for r in rows if not (r.answerable and r.correct)]
    refused_right = sum(1 for r in should_refuse if not shown(r, sentence, share, retrieval))
    answerable_right = [r for r in rows if r.answerable and r.correct]
    return {
        "shown_correct": good_shown,
        "shown_wrong": bad_shown,
        "refusal_recall": refused_right / len(should_refuse) if should_refuse else math.nan,
        "answer_rate": good_shown / len(answerable_right) if answerable_right else math.nan,
        # A wrong answer shown costs twice a right one withheld: trust over coverage.
        "utility": good_shown - 2 * bad_shown,
    }


def search(rows: list[Row]) -> tuple[tuple[float, float, float], dict[str, float]]:
    grid = itertools.product(
        [0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6], [0.34, 0.5, 0.67, 0.8, 1.0], [0.0, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4]
    )
    best = max(grid, key=lambda t: (score(rows, *t)["utility"], -t[2]))
    return best, score(rows, *best)


def report(
    rows: list[Row], best: tuple[float, float, float], best_score: dict[str, float], current: dict[str, float]
) -> str:
    answerable = sum(r.answerable for r in rows)
    right = sum(r.answerable and r.correct for r in rows)
    lines = [
        "# Calibration of the hallucination guard",
        "",
        f"Produced by `python -m eval.calibrate` on {time.strftime('%Y-%m-%d')}: the local model of the default",
        f"profile answered {len(rows)} questions of `samples/questions.jsonl` ({answerable} answerable, "
        f"{len(rows) - answerable} unanswerable or forbidden) with the guard open; {right} answerable ones were",
        "answered correctly (an accepted short answer appears in the text). Thresholds were then searched on a",
        "grid to maximise shown-correct minus twice shown-wrong.",
        "",
        "| thresholds (sentence, share, retrieval) | shown correct | shown wrong | refusal recall | answer rate |",
        "|---|---|---|---|---|",
    ]
    for name, t, s in (("default before", (0.4, 0.5, 0.2), current), ("calibrated", best, best_score)):
        lines.append(
            f"| {name} {t} | {s['shown_correct']} | {s['shown_wrong']} | {s['refusal_recall']:.2f} | "
            f"{s['answer_rate']:.2f} |"
        )
    lines += [
        "",
        "Answer rate: share of the correctly answered questions that the guard lets through.",
        "Refusal recall: share of the questions that should not be answered (unanswerable, forbidden, or answered",
        "wrongly by the model) that the guard refuses.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=None, help="Ask only N evenly spaced questions.")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "calibration.md")
    parser.add_argument("--rows", type=Path, default=REPO_ROOT / "bench" / "results" / "calibration.jsonl")
    parser.add_argument("--reuse", action="store_true", help="Search again on rows saved by an earlier run.")
    args = parser.parse_args(argv)
    if args.reuse:
        rows = [Row(**json.loads(line)) for line in args.rows.read_text().splitlines()]
    else:
        rows = collect(args.sample, args.rows)
    best, best_score = search(rows)
    text = report(rows, best, best_score, score(rows, 0.4, 0.5, 0.2))
    args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
