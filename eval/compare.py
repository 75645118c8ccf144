"""Side-by-side metrics of stored runs, with bootstrap 95% intervals and per-question wins and losses.

Every metric belongs to a family (retrieval, answer, claims, faithfulness, refusal, citations,
operations). Per-question metrics are averaged over the questions where they apply; NaN ("could not
judge") is counted apart and never averaged in; a metric that does not apply to a question (no gold
source, an unanswerable question) is absent from its row and counted as ``n_na``. Run-level metrics
(abstention precision and recall, answer rate, latency percentiles) get their intervals by
resampling questions.

The Streamlit page and the CLI call :func:`summarize` (one run's rows) and :func:`compare_runs`
(two stored runs).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from eval import metrics as M
from eval.store import RunInfo, RunStore

FAMILIES = ("outcome", "retrieval", "answer", "claims", "faithfulness", "refusal", "citations", "operations")
N_RESAMPLES = 1000
Row = dict[str, Any]


@dataclass(frozen=True)
class MetricInfo:
    """What a metric is: its family, how it reads, which way is better, whether it is per question."""

    name: str
    family: str
    label: str
    higher_is_better: bool = True
    per_question: bool = True
    needs_judge: bool = False
    unit: str = ""


METRICS: tuple[MetricInfo, ...] = (
    MetricInfo("recall@k", "retrieval", "Recall@k (gold source among the prompt's sources)"),
    MetricInfo("mrr@10", "retrieval", "MRR@10"),
    MetricInfo("ndcg@10", "retrieval", "nDCG@10"),
    MetricInfo("exact_match", "answer", "Exact match (SQuAD, Spanish-aware)"),
    MetricInfo("token_f1", "answer", "Token F1"),
    MetricInfo("answered_correct", "outcome", "Answerable: correct answer shown, citing the gold source"),
    MetricInfo("refused_when_due", "outcome", "Unanswerable or forbidden: refused"),
    MetricInfo("shown_wrong", "outcome", "Shown wrong (a wrong or invented answer shown)", higher_is_better=False),
    MetricInfo("cross_language_correct", "outcome", "Cross-language: correct answer shown, citing the gold source"),
    MetricInfo("contains_answer", "answer", "Accepted short answer contained"),
    MetricInfo("claim_precision", "claims", "Claim precision vs reference (judge)", needs_judge=True),
    MetricInfo("claim_recall", "claims", "Claim recall vs reference (judge)", needs_judge=True),
    MetricInfo("claim_f1", "claims", "Claim F1 vs reference (judge)", needs_judge=True),
    MetricInfo("support_offline", "faithfulness", "Claims supported by cited sources (offline scorer)"),
    MetricInfo(
        "faithfulness_judge", "faithfulness", "Claims supported by retrieved context (judge)", needs_judge=True
    ),  # fmt: skip
    MetricInfo("refusal_correct", "refusal", "Right to answer or refuse"),
    MetricInfo("abstention_precision", "refusal", "Abstention precision", per_question=False),
    MetricInfo("abstention_recall", "refusal", "Abstention recall", per_question=False),
    MetricInfo("answer_rate", "refusal", "Answer rate on answerable questions", per_question=False),
    MetricInfo("citation_precision", "citations", "Citation precision (cited chunk supports sentence)"),
    MetricInfo("citation_recall", "citations", "Citation recall (gold source cited)"),
    MetricInfo("latency_p50", "operations", "Latency p50", False, False, unit="s"),
    MetricInfo("latency_p95", "operations", "Latency p95", False, False, unit="s"),
    MetricInfo("ttft_p50", "operations", "Time to first token p50", False, False, unit="s"),
    MetricInfo("ttft_p95", "operations", "Time to first token p95", False, False, unit="s"),
    MetricInfo("latency_s", "operations", "Latency (mean)", False, unit="s"),
    MetricInfo("prompt_tokens", "operations", "Prompt tokens per question", False),
    MetricInfo("completion_tokens", "operations", "Completion tokens per question", False),
    MetricInfo("cost", "operations", "Cost per question", False, unit="$"),
)
BY_NAME = {m.name: m for m in METRICS}


@dataclass(frozen=True)
class Stat:
    """One metric of one run: the value, its 95% bootstrap interval, and what was left out.

    Attributes:
        value: mean (per-question metrics) or the run-level figure; NaN when nothing could be judged.
        lo, hi: the 95% percentile-bootstrap interval over questions.
        n_valid: questions that counted.
        n_nan: questions where it applied but could not be judged (NaN).
        n_na: questions where it does not apply.
    """

    value: float
    lo: float
    hi: float
    n_valid: int
    n_nan: int
    n_na: int

    def to_json(self) -> dict[str, float | int]:
        return {"value": self.value, "lo": self.lo, "hi": self.hi, "n_valid": self.n_valid, "n_nan": self.n_nan,
                "n_na": self.n_na}  # fmt: skip


def _metric(row: Row, name: str) -> float | None:
    """The row's value: None when absent (does not apply), NaN when it could not judge."""
    value = row.get("metrics", {}).get(name)
    return None if value is None else float(value)


def _per_question_stat(rows: Sequence[Row], name: str, seed: int) -> Stat:
    present = [v for v in (_metric(r, name) for r in rows) if v is not None]
    mean, lo, hi = M.bootstrap_ci(present, n_resamples=N_RESAMPLES, seed=seed)
    _, n_valid, n_nan = M.mean_ignoring_nan(present)
    return Stat(mean, lo, hi, n_valid, n_nan, len(rows) - len(present))


def _run_level(rows: Sequence[Row], name: str) -> tuple[float, int, int]:
    """A run-level figure over ``rows``, with how many rows counted and how many could not."""
    answered = [r for r in rows if r.get("refused") is not None]
    if name.startswith("abstention_") or name == "answer_rate":
        got = M.abstention([bool(r["refused"]) for r in answered], [bool(r["answerable"]) for r in answered])
        key = {"abstention_precision": "precision", "abstention_recall": "recall", "answer_rate": "answer_rate"}[name]
        return got[key], len(answered), len(rows) - len(answered)
    metric, q = {"latency_p50": ("latency_s", 50), "latency_p95": ("latency_s", 95), "ttft_p50": ("ttft_s", 50),
                 "ttft_p95": ("ttft_s", 95)}[name]  # fmt: skip
    values = [v for v in (_metric(r, metric) for r in rows) if v is not None]
    _, n_valid, n_nan = M.mean_ignoring_nan(values)
    return M.percentile(values, q), n_valid, n_nan + len(rows) - len(values)


def _run_level_stat(rows: Sequence[Row], name: str, seed: int) -> Stat:
    value, n_valid, n_nan = _run_level(rows, name)
    if not rows or math.isnan(value):
        return Stat(value, math.nan, math.nan, n_valid, n_nan, 0)
    rng = random.Random(seed)
    samples = []
    for _ in range(N_RESAMPLES):
        v = _run_level([rng.choice(rows) for _ in rows], name)[0]
        if not math.isnan(v):
            samples.append(v)
    lo = M.percentile(samples, 2.5) if samples else math.nan
    hi = M.percentile(samples, 97.5) if samples else math.nan
    return Stat(value, lo, hi, n_valid, n_nan, 0)


def summarize(rows: Sequence[Row], seed: int = 0) -> dict[str, dict[str, float | int]]:
    """Every metric of one run's rows (those no row has are left out), as JSON-ready stats."""
    out: dict[str, dict[str, float | int]] = {}
    have = {n for r in rows for n in r.get("metrics", {})}
    for info in METRICS:
        if info.per_question and info.name not in have:
            continue
        if not info.per_question and not rows:
            continue
        if info.name.startswith("ttft") and "ttft_s" not in have:
            continue
        stat = (
            _per_question_stat(rows, info.name, seed) if info.per_question else _run_level_stat(rows, info.name, seed)
        )
        out[info.name] = stat.to_json()
    out["_counts"] = {"questions": len(rows), "errors": sum(1 for r in rows if r.get("error")),
                      "refused": sum(1 for r in rows if r.get("refused"))}  # fmt: skip
    return out


# --------------------------------------------------------------------------- comparing two runs


@dataclass(frozen=True)
class MetricRow:
    """One metric side by side, with per-question wins, losses and ties of B against A."""

    info: MetricInfo
    a: Stat | None
    b: Stat | None
    wins: int = 0
    losses: int = 0
    ties: int = 0

    @property
    def delta(self) -> float:
        if self.a is None or self.b is None:
            return math.nan
        return self.b.value - self.a.value

    @property
    def better(self) -> str | None:
        """ "a" or "b" when the intervals do not overlap, else None (no clear difference)."""
        if self.a is None or self.b is None or any(math.isnan(x) for x in (self.a.lo, self.a.hi, self.b.lo, self.b.hi)):
            return None
        if self.b.lo > self.a.hi:
            return "b" if self.info.higher_is_better else "a"
        if self.a.lo > self.b.hi:
            return "a" if self.info.higher_is_better else "b"
        return None


@dataclass(frozen=True)
class QuestionRow:
    """One question in both runs: the headline outcome of each and who did better."""

    question_id: str
    question: str
    kind: str
    a: Row | None
    b: Row | None
    winner: str | None
    """"a", "b", or None for a tie or a question only one run has."""


@dataclass(frozen=True)
class Comparison:
    a: RunInfo
    b: RunInfo
    metrics: list[MetricRow]
    questions: list[QuestionRow]
    same_questions: bool
    notes: list[str] = field(default_factory=list)

    def family(self, name: str) -> list[MetricRow]:
        return [m for m in self.metrics if m.info.family == name]

    @property
    def families(self) -> list[str]:
        return [f for f in FAMILIES if self.family(f)]


def outcome(row: Row) -> float | None:
    """The headline score of a question: right answer (or right refusal) as 1, else 0; None if unknown."""
    if row.get("error"):
        return None
    if row.get("answerable"):
        contains = _metric(row, "contains_answer")
        if contains is not None and not math.isnan(contains):
            return contains
        f1 = _metric(row, "token_f1")
        return None if f1 is None or math.isnan(f1) else f1
    right = _metric(row, "refusal_correct")
    return None if right is None or math.isnan(right) else right


def _versus(a: float | None, b: float | None, higher: bool) -> int | None:
    """1 if b beats a, -1 if a beats b, 0 tie; None when either could not be judged."""
    if a is None or b is None or math.isnan(a) or math.isnan(b):
        return None
    if math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12):
        return 0
    return 1 if (b > a) == higher else -1


def compare_rows(a_info: RunInfo, a_rows: Sequence[Row], b_info: RunInfo, b_rows: Sequence[Row]) -> Comparison:
    """Compare two runs' rows (pure: the store is not touched)."""
    sum_a, sum_b = summarize(a_rows), summarize(b_rows)
    by_a = {r["question_id"]: r for r in a_rows}
    by_b = {r["question_id"]: r for r in b_rows}
    shared = [q for q in by_a if q in by_b]
    rows: list[MetricRow] = []
    # A family either run measured is shown whole: a metric neither could measure reads "not judged".
    present = {i.family for i in METRICS if i.name in sum_a or i.name in sum_b}
    for info in METRICS:
        sa, sb = sum_a.get(info.name), sum_b.get(info.name)
        if info.family not in present:
            continue
        wins = losses = ties = 0
        if info.per_question:
            for q in shared:
                verdict = _versus(_metric(by_a[q], info.name), _metric(by_b[q], info.name), info.higher_is_better)
                wins += verdict == 1
                losses += verdict == -1
                ties += verdict == 0
        rows.append(MetricRow(info, _stat(sa), _stat(sb), wins, losses, ties))
    questions = []
    for q in dict.fromkeys([*by_a, *by_b]):
        ra, rb = by_a.get(q), by_b.get(q)
        first = ra or rb or {}
        verdict = _versus(outcome(ra) if ra else None, outcome(rb) if rb else None, True)
        winner = {1: "b", -1: "a"}.get(verdict) if verdict is not None else None
        questions.append(QuestionRow(q, str(first.get("question", "")), str(first.get("kind", "")), ra, rb, winner))
    notes = []
    same = a_info.dataset_hash == b_info.dataset_hash and set(by_a) == set(by_b)
    if a_info.dataset_hash != b_info.dataset_hash:
        notes.append("The two runs used different dataset files (their hashes differ); compare with care.")
    elif set(by_a) != set(by_b):
        notes.append(
            f"The runs share {len(shared)} of {len(set(by_a) | set(by_b))} questions; wins and losses count shared ones only."
        )
    return Comparison(a_info, b_info, rows, questions, same, notes)


def _stat(raw: dict[str, Any] | None) -> Stat | None:
    if raw is None:
        return None
    return Stat(float(raw["value"]), float(raw["lo"]), float(raw["hi"]), int(raw["n_valid"]), int(raw["n_nan"]),
                int(raw["n_na"]))  # fmt: skip


def compare_runs(store: RunStore, a: str, b: str) -> Comparison:
    """Compare two stored runs, each given by id, id prefix or contender name (its newest run)."""
    ra, rb = store.get_run(a), store.get_run(b)
    return compare_rows(ra, store.rows(ra.run_id), rb, store.rows(rb.run_id))


def fmt(value: float, unit: str = "") -> str:
    """A number for tables: NaN as an em dash, ratios to three places, seconds and money to two."""
    if value is None or math.isnan(value):
        return "—"
    if unit == "$":
        return f"{value:.5f}" if abs(value) < 0.01 else f"{value:.3f}"
    if unit == "s" or abs(value) >= 10:
        return f"{value:.2f}" if abs(value) < 100 else f"{value:.0f}"
    return f"{value:.3f}"
