"""Metrics of the evaluation suite: pure functions over typed inputs.

NaN means "could not judge" (a judge that failed, a question without gold sources): every
aggregate here leaves NaN out and reports how many there were, never averages them in.

Answer metrics follow the SQuAD evaluation script (normalise, then exact match and token F1 over
the best reference), made Spanish-aware: accents are folded, ¿ and ¡ are punctuation, and Spanish
articles are dropped as English ones are.
"""

from __future__ import annotations

import math
import random
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

# --------------------------------------------------------------------------- answers

_ARTICLES = re.compile(r"\b(a|an|the|el|la|los|las|un|una|unos|unas|lo)\b")
_PUNCTUATION = frozenset(string.punctuation) | frozenset("¿¡«»“”‘’—–…·€")


def _fold_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def normalize_answer(text: str) -> str:
    """SQuAD normalisation, Spanish-aware: lower case, no accents, no punctuation, no articles, single spaces.

    "¿El Niño?" and "nino" normalise alike; "ñ" folds to "n" with the other accents.
    """
    text = _fold_accents(text.casefold())
    text = "".join(" " if c in _PUNCTUATION else c for c in text)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def _as_refs(refs: str | Iterable[str]) -> list[str]:
    return [refs] if isinstance(refs, str) else [r for r in refs if r is not None]


def exact_match(pred: str, refs: str | Iterable[str]) -> float:
    """1.0 when the normalised prediction equals a normalised reference; NaN without references."""
    refs = _as_refs(refs)
    if not refs:
        return math.nan
    got = normalize_answer(pred)
    return float(any(got == normalize_answer(r) for r in refs))


def _f1(pred_tokens: list[str], ref_tokens: list[str]) -> float:
    if not pred_tokens or not ref_tokens:
        return float(pred_tokens == ref_tokens)
    common = Counter(pred_tokens) & Counter(ref_tokens)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred_tokens), same / len(ref_tokens)
    return 2 * precision * recall / (precision + recall)


def token_f1(pred: str, refs: str | Iterable[str]) -> float:
    """Best token-overlap F1 of the normalised prediction against any reference; NaN without references."""
    refs = _as_refs(refs)
    if not refs:
        return math.nan
    pred_tokens = normalize_answer(pred).split()
    return max(_f1(pred_tokens, normalize_answer(r).split()) for r in refs)


def _compact(text: str) -> str:
    # Numbers are written "1.250", "1 250" or "1250": containment compares without separators too.
    return re.sub(r"(?<=\d)[\s.,](?=\d{3}\b)", "", normalize_answer(text))


def contains_any(pred: str, accepted: Iterable[str]) -> float:
    """1.0 when an accepted short answer occurs in the prediction (normalised, as whole words); NaN without any.

    "0,26" and "0.26" are both written as accepted answers in our set; normalisation turns the
    separator into a space, so either matches either.
    """
    accepted = [a for a in accepted if a and normalize_answer(a)]
    if not accepted:
        return math.nan
    got = f" {normalize_answer(pred)} "
    got_compact = f" {_compact(pred)} "
    return float(any(f" {normalize_answer(a)} " in got or f" {_compact(a)} " in got_compact for a in accepted))


# --------------------------------------------------------------------------- retrieval


def _dedupe(ranked: Sequence[str]) -> list[str]:
    # Several chunks of one gold document count once, at the rank of the first.
    return list(dict.fromkeys(ranked))


def recall_at_k(ranked: Sequence[str], gold: Iterable[str], k: int) -> float:
    """Share of the gold sources found in the first ``k`` distinct ranked ids; NaN without gold."""
    gold_set = set(gold)
    if not gold_set:
        return math.nan
    return len(set(_dedupe(ranked)[:k]) & gold_set) / len(gold_set)


def mrr_at_k(ranked: Sequence[str], gold: Iterable[str], k: int = 10) -> float:
    """1 / rank of the first gold source within the first ``k`` distinct ids (0 if none); NaN without gold."""
    gold_set = set(gold)
    if not gold_set:
        return math.nan
    for rank, item in enumerate(_dedupe(ranked)[:k], start=1):
        if item in gold_set:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(ranked: Sequence[str], gold: Iterable[str], k: int = 10) -> float:
    """Binary-relevance nDCG over the first ``k`` distinct ids; NaN without gold."""
    gold_set = set(gold)
    if not gold_set:
        return math.nan
    dcg = sum(1.0 / math.log2(rank + 1) for rank, item in enumerate(_dedupe(ranked)[:k], start=1) if item in gold_set)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(k, len(gold_set)) + 1))
    return dcg / ideal


# --------------------------------------------------------------------------- refusal and citations


def abstention(refused: Sequence[bool], answerable: Sequence[bool]) -> dict[str, float]:
    """How well the assistant declines what it cannot answer.

    Returns:
        ``precision``: of the refusals, the share on unanswerable questions; ``recall``: of the
        unanswerable questions, the share refused; ``f1`` of the two; ``answer_rate``: of the
        answerable questions, the share answered; plus the counts. A ratio with an empty
        denominator is NaN.
    """
    if len(refused) != len(answerable):
        raise ValueError(f"refused has {len(refused)} items, answerable {len(answerable)}")
    tp = sum(1 for r, a in zip(refused, answerable, strict=True) if r and not a)
    n_refused = sum(1 for r in refused if r)
    n_unanswerable = sum(1 for a in answerable if not a)
    n_answerable = len(answerable) - n_unanswerable
    answered = sum(1 for r, a in zip(refused, answerable, strict=True) if a and not r)
    precision = tp / n_refused if n_refused else math.nan
    recall = tp / n_unanswerable if n_unanswerable else math.nan
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1_score(precision, recall),
        "answer_rate": answered / n_answerable if n_answerable else math.nan,
        "n_refused": float(n_refused),
        "n_unanswerable": float(n_unanswerable),
        "n_answerable": float(n_answerable),
    }


def citation_precision(supported: Sequence[bool | None]) -> float:
    """Share of citations whose cited chunk supports its sentence.

    Args:
        supported: one entry per (sentence, citation) pair: whether the cited chunk supports the
            sentence, None where that could not be judged (left out).

    Returns:
        The share, NaN when there is no judged citation.
    """
    judged = [s for s in supported if s is not None]
    return sum(judged) / len(judged) if judged else math.nan


def citation_recall(cited_sources: Iterable[str], gold_sources: Iterable[str]) -> float:
    """Share of the gold sources that the answer cites; NaN without gold sources."""
    gold = set(gold_sources)
    if not gold:
        return math.nan
    return len(set(cited_sources) & gold) / len(gold)


def f1_score(precision: float, recall: float) -> float:
    """Harmonic mean; NaN when either is NaN, 0 when both are 0."""
    if math.isnan(precision) or math.isnan(recall):
        return math.nan
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def binary_prf(predicted: Sequence[bool], actual: Sequence[bool]) -> dict[str, float]:
    """Precision, recall and F1 of ``predicted`` positives against ``actual`` ones, with the counts."""
    if len(predicted) != len(actual):
        raise ValueError(f"predicted has {len(predicted)} items, actual {len(actual)}")
    tp = sum(1 for p, a in zip(predicted, actual, strict=True) if p and a)
    fp = sum(1 for p, a in zip(predicted, actual, strict=True) if p and not a)
    fn = sum(1 for p, a in zip(predicted, actual, strict=True) if a and not p)
    precision = tp / (tp + fp) if tp + fp else math.nan
    recall = tp / (tp + fn) if tp + fn else math.nan
    return {"precision": precision, "recall": recall, "f1": f1_score(precision, recall),
            "tp": float(tp), "fp": float(fp), "fn": float(fn)}  # fmt: skip


# --------------------------------------------------------------------------- aggregates


def _valid(values: Iterable[float | None]) -> tuple[list[float], int]:
    good: list[float] = []
    bad = 0
    for v in values:
        if v is None or math.isnan(v):
            bad += 1
        else:
            good.append(float(v))
    return good, bad


def mean_ignoring_nan(values: Iterable[float | None]) -> tuple[float, int, int]:
    """Mean of the judged values, how many were judged, how many were NaN (or None)."""
    good, bad = _valid(values)
    return (sum(good) / len(good) if good else math.nan), len(good), bad


def percentile(values: Iterable[float | None], q: float) -> float:
    """The ``q``-th percentile (0-100, linear interpolation, as numpy's default) of the non-NaN values."""
    good, _ = _valid(values)
    if not good:
        return math.nan
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is outside 0..100")
    good.sort()
    pos = (len(good) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(good) - 1)
    return good[lo] + (good[hi] - good[lo]) * (pos - lo)


def bootstrap_ci(
    values: Iterable[float | None], n_resamples: int = 1000, seed: int = 0, confidence: float = 0.95
) -> tuple[float, float, float]:
    """Mean and percentile-bootstrap confidence interval of the non-NaN values.

    Deterministic for a given seed. With one value the interval is that value; with none, all NaN.
    """
    good, _ = _valid(values)
    if not good:
        return math.nan, math.nan, math.nan
    mean = sum(good) / len(good)
    if len(good) == 1:
        return mean, mean, mean
    rng = random.Random(seed)
    n = len(good)
    means = sorted(sum(rng.choices(good, k=n)) / n for _ in range(n_resamples))
    alpha = (1 - confidence) / 2
    return mean, percentile(means, 100 * alpha), percentile(means, 100 * (1 - alpha))
