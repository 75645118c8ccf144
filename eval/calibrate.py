"""Calibrate the answer guard's thresholds on our own question set, on a dev split, reported on a test split.

Runs the real assistant (the configured local model and answer protocol, extract_v1 by default) over
``samples/questions.jsonl`` once with the thresholds wide open, records what the guard measured for
each answer (is it grounded in the items it cites; how relevant those items are to the question; the
share of the question's terms they hold; the best dense similarity of the retrieval), then searches
the thresholds on the dev half of the questions and reports both halves. The split is fixed by a
hash of each question id, so it never depends on the results.

Rule searched: most correct answers shown (citing their gold source) such that, on the dev half, at
least 95% of the unanswerable or forbidden questions are refused and at most 3% of all questions are
shown wrong; where no setting meets both, the one with most correct minus three times the wrong.

Usage:
    python -m eval.calibrate [--sample N] [--out docs/calibration.md] [--rows bench/results/calibration_extract_v1.jsonl]
    python -m eval.calibrate --questions Q.jsonl --corpus DIR --rows R.jsonl   # another question set and corpus
    python -m eval.calibrate --reuse [--rows R.jsonl]...  # search again on saved rows (several files: one pool,
                                                          # and each file held out in turn)
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from eval.datasets import dev_or_test
from rag.settings import REPO_ROOT, load_settings

QUESTIONS = REPO_ROOT / "samples" / "questions.jsonl"
CORPUS = REPO_ROOT / "samples" / "corpus"
REFUSE_AT_LEAST = 0.95
WRONG_AT_MOST = 0.03
GRID = {
    "evidence_min": [-1.0, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6],
    "coverage_min": [0.0, 0.2, 0.25, 0.34, 0.4, 0.5, 0.6],
    "retrieval_min": [-1.0, 0.1, 0.2, 0.25, 0.3, 0.35],
    "overlap_min": [0.0, 0.25, 0.34, 0.5, 0.67],
    "answer_check_min": [0.0, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75],
}


@dataclass(frozen=True)
class Row:
    id: str
    answerable: bool
    tags: list[str]
    correct: bool
    """The model's answer contains an accepted short answer and cites a gold source."""
    grounded: bool
    """With the thresholds open the answer was shown: the model cited items and every fact is in them."""
    relevance: float
    coverage: float
    retrieval: float
    overlap: float = 1.0
    answer_check: float = math.nan
    """The answer check's probability (rag/verify/answer_check.py); NaN where it did not run."""
    verdict: str = ""
    reason: str = ""
    text: str = ""
    seconds: float = math.nan
    split: str = field(default="")

    def shown(self, t: dict[str, float]) -> bool:
        """Whether the guard with thresholds ``t`` shows this row's answer (the assistant's rule, from its signals)."""
        if not (
            self.grounded
            and self.retrieval >= t["retrieval_min"]
            and self.overlap >= t.get("overlap_min", 0.0)
            and (t.get("answer_check_min", 0.0) <= 0 or self.answer_check >= t["answer_check_min"])
        ):
            return False
        if self.relevance >= t["evidence_min"] and self.coverage >= t["coverage_min"]:
            return True
        # Under the floors, the answer check may rescue it (rag.verify.answer_check.rescue); NaN (not run) never does.
        rescue = t.get("rescue_min", 0.0)
        return (
            rescue > 0
            and self.relevance >= t.get("rescue_evidence_min", -1.0)
            and self.coverage >= t.get("rescue_coverage_min", 0.0)
            and self.answer_check >= rescue
        )


def collect(sample: int | None, rows_file: Path, questions_file: Path = QUESTIONS, corpus: Path = CORPUS) -> list[Row]:
    """Ingest ``corpus`` into a throwaway home and ask every question of ``questions_file`` with the guard open."""
    from eval.metrics import contains_any
    from ingest.pipeline import Ingestor
    from rag.app import build_app, build_writer
    from rag.embedders import build_embedder
    from rag.types import User

    home = Path(tempfile.mkdtemp(prefix="fuente-calibrate-"))
    settings = load_settings(overrides={"paths": {"home": str(home), "models": str(REPO_ROOT / ".fuente" / "models")}})
    embedder = build_embedder(settings)
    writer = build_writer(settings, embedder=embedder)
    Ingestor(writer).run([corpus])
    writer.close()
    opened = settings.verification.model_copy(
        update={"evidence_min": -1.0, "coverage_min": 0.0, "retrieval_min": -1.0, "overlap_min": 0.0,
                "answer_check": True, "answer_check_min": 0.0, "second_reading": False}  # the check is recorded, never refuses
    )  # fmt: skip
    app = build_app(settings, embedder=embedder, thresholds=opened)  # never refuse on scores: measure, decide later
    # Rows are appended as they come, so a long run can be stopped and resumed: done ids are skipped.
    rows_file.parent.mkdir(parents=True, exist_ok=True)
    rows = [Row(**json.loads(line)) for line in rows_file.read_text().splitlines()] if rows_file.exists() else []
    done = {r.id for r in rows}
    questions = [json.loads(line) for line in questions_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    if sample and sample < len(questions):
        questions = questions[:: max(1, len(questions) // sample)][:sample]
    try:
        for q in questions:
            if q["id"] in done:
                continue
            started = time.monotonic()
            answer = app.assistant.ask(q["question"], User(None, frozenset(q["groups"])))
            right = bool(q["accepted_answers"]) and contains_any(answer.text, q["accepted_answers"]) > 0
            cites_gold = any(c.source_uri.endswith(tuple(q["gold_sources"])) for c in answer.citations)
            row = Row(
                id=q["id"],
                answerable=bool(q["answerable"]),
                tags=list(q["tags"]),
                correct=right and cites_gold,
                grounded=not answer.refused,
                relevance=float(answer.signals.get("relevance", math.nan)),
                coverage=float(answer.signals.get("coverage", math.nan)),
                retrieval=float(answer.evidence),
                overlap=float(answer.signals.get("overlap", 1.0)),
                answer_check=float(answer.signals.get("answer_check", math.nan)),
                verdict=answer.verdict,
                reason=answer.reason,
                text=answer.generated_text,
                seconds=round(time.monotonic() - started, 1),
                split=dev_or_test(q["id"]),
            )
            rows.append(row)
            with rows_file.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(row.__dict__, ensure_ascii=False) + "\n")
            print(
                f"{row.id:>5} {row.split:4} answerable={row.answerable!s:5} grounded={row.grounded!s:5} "
                f"correct={row.correct!s:5} relevance={row.relevance:.2f} coverage={row.coverage:.2f} "
                f"{row.seconds:.0f}s {row.text[:80]!r}",
                flush=True,
            )
    finally:
        app.close()
    return rows


def score(rows: list[Row], t: dict[str, float]) -> dict[str, float]:
    answerable = [r for r in rows if r.answerable]
    due = [r for r in rows if not r.answerable]
    good = sum(1 for r in answerable if r.shown(t) and r.correct)
    wrong = sum(1 for r in rows if r.shown(t) and not (r.answerable and r.correct))
    cross = [r for r in answerable if "cross-language" in r.tags]
    return {
        "questions": len(rows),
        "answered_correct": good / len(answerable) if answerable else math.nan,
        "refused_when_due": sum(1 for r in due if not r.shown(t)) / len(due) if due else math.nan,
        "shown_wrong": wrong / len(rows) if rows else math.nan,
        "cross_language_correct": sum(1 for r in cross if r.shown(t) and r.correct) / len(cross) if cross else math.nan,
        "good": good,
        "wrong": wrong,
    }


def search(rows: list[Row]) -> tuple[dict[str, float], dict[str, float]]:
    """The thresholds that best meet the rule on ``rows`` (the dev half); ties go to the stricter setting."""
    names = list(GRID)
    candidates = [dict(zip(names, values, strict=True)) for values in itertools.product(*GRID.values())]

    def key(t: dict[str, float]) -> tuple[float, ...]:
        s = score(rows, t)
        meets = s["refused_when_due"] >= REFUSE_AT_LEAST and s["shown_wrong"] <= WRONG_AT_MOST
        return (float(meets), s["good"] - 3 * s["wrong"], s["good"], *(t[n] for n in names))

    best = max(candidates, key=key)
    return best, score(rows, best)


def leave_one_out(groups: dict[str, list[Row]]) -> list[tuple[str, dict[str, float], dict[str, float]]]:
    """For each question set, the thresholds searched on every row of the other sets, scored on it.

    A hash split keeps a set's documents and wording on both sides; holding a whole set out asks
    what the guard needs: do thresholds chosen on some organisations' documents carry to another's?
    """
    out = []
    for name, held in groups.items():
        others = [r for other, rows in groups.items() if other != name for r in rows]
        best, _ = search(others)
        out.append((name, best, score(held, best)))
    return out


def leave_one_out_report(groups: dict[str, list[Row]], current: dict[str, float] | None = None) -> str:
    """The leave-one-set-out table; with ``current`` (the configured thresholds) also each set's counts under them,
    so two rows files of the same questions (say, made with two evidence rankers) compare set by set."""
    configured = " configured: right / shown wrong |" if current else ""
    lines = [
        "Each set held out: thresholds searched on all rows of the other sets, scored on the held set.",
        "",
        f"| held-out rows | questions | chosen on the others | answered correct | refused when due | shown wrong |{configured}",
        "|---|---|---|---|---|---|" + ("---|" if current else ""),
    ]
    for name, best, s in leave_one_out(groups):
        chosen = ", ".join(f"{k.removesuffix('_min')} {v:g}" for k, v in best.items())
        mine = score(groups[name], current) if current else None
        lines.append(f"| {name} | {s['questions']} | {chosen} | {s['answered_correct']:.2f} | "
                     f"{s['refused_when_due']:.2f} | {s['shown_wrong']:.3f} |"
                     + (f" {mine['good']} / {mine['wrong']} |" if mine else ""))  # fmt: skip
    return "\n".join([*lines, ""])


def _line(name: str, s: dict[str, float]) -> str:
    return (f"| {name} | {s['questions']} | {s['answered_correct']:.2f} | {s['refused_when_due']:.2f} | "
            f"{s['shown_wrong']:.3f} | {s['cross_language_correct']:.2f} |")  # fmt: skip


def report(
    rows: list[Row], best: dict[str, float], current: dict[str, float], protocol: str, questions: str, rows_files: str
) -> str:
    dev = [r for r in rows if r.split == "dev"]
    test = [r for r in rows if r.split == "test"]
    grounded_right = sum(r.answerable and r.grounded and r.correct for r in rows)
    lines = [
        f"# Calibration of the answer guard ({protocol})",
        "",
        f"Produced by `python -m eval.calibrate` on {time.strftime('%Y-%m-%d')}: the local model of the default profile",
        f"answered {len(rows)} questions of {questions} ({sum(r.answerable for r in rows)} answerable) with",
        f"the thresholds open; {grounded_right} answerable ones came back correct, citing their gold source, and",
        "grounded (every fact in the cited items). Thresholds were searched on the dev half only "
        f"({len(dev)} questions, split by a hash of the id); the test half ({len(test)}) was not looked at to choose them.",
        "",
        "Chosen: " + ", ".join(f"`{k}: {v}`" for k, v in best.items()) + ".",
        "",
        "| thresholds, split | questions | answered correct | refused when due | shown wrong | cross-language correct |",
        "|---|---|---|---|---|---|",
        _line("open (no threshold), all", score(rows, {**dict.fromkeys(GRID, -1.0), "overlap_min": 0.0})),
        _line("before (configured), dev", score(dev, current)),
        _line("before (configured), test", score(test, current)),
        _line("calibrated, dev", score(dev, best)),
        _line("**calibrated, test**", score(test, best)),
        _line("calibrated, all", score(rows, best)),
        "",
        "Answered correct: share of answerable questions shown with an accepted short answer and a gold citation.",
        "Refused when due: share of unanswerable or forbidden questions refused. Shown wrong: share of all",
        f"questions shown with a wrong or invented answer. Rows: {rows_files}.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=None, help="Ask only N evenly spaced questions.")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "calibration.md")
    parser.add_argument(
        "--rows",
        type=Path,
        action="append",
        help="Rows file (default bench/results/calibration_extract_v1.jsonl); "
        "with --reuse it may be given several times to search on their union.",
    )
    parser.add_argument("--questions", type=Path, default=QUESTIONS, help="Questions in our format (eval/datasets.py).")
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="The folder those questions are about.")
    parser.add_argument("--reuse", action="store_true", help="Search again on rows saved by an earlier run.")
    args = parser.parse_args(argv)
    files = args.rows or [REPO_ROOT / "bench" / "results" / "calibration_extract_v1.jsonl"]
    groups = (
        {str(f): [Row(**json.loads(line)) for line in f.read_text().splitlines()] for f in files} if args.reuse else {}
    )
    if args.reuse:
        rows = [r for group in groups.values() for r in group]
    elif len(files) > 1:
        parser.error("--rows names one file when asking questions")
    else:
        rows = collect(args.sample, files[0], args.questions, args.corpus)
    settings = load_settings()
    v = settings.verification
    current = {"evidence_min": v.evidence_min, "coverage_min": v.coverage_min, "retrieval_min": v.retrieval_min,
               "overlap_min": v.overlap_min, "answer_check_min": v.answer_check_min if v.answer_check else 0.0,
               "rescue_min": v.rescue_min, "rescue_evidence_min": v.rescue_evidence_min,
               "rescue_coverage_min": v.rescue_coverage_min}  # fmt: skip
    best, _ = search([r for r in rows if r.split == "dev"])
    names = ", ".join(f"`{f}`" for f in files)
    asked = "the questions of the saved rows" if args.reuse else f"`{args.questions}`"
    text = report(rows, best, current, settings.llm.answer_protocol, asked, names)
    if len(groups) > 1:
        text += "\n" + leave_one_out_report(groups, current)
    args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
