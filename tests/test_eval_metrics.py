"""Unit tests of the evaluation metrics (pure functions, no models)."""

from __future__ import annotations

import math

import pytest

from eval.metrics import (
    abstention,
    binary_prf,
    bootstrap_ci,
    citation_precision,
    citation_recall,
    contains_any,
    exact_match,
    mean_ignoring_nan,
    mrr_at_k,
    ndcg_at_k,
    normalize_answer,
    percentile,
    recall_at_k,
    token_f1,
)


def test_normalisation_is_spanish_aware() -> None:
    assert normalize_answer("¿El Niño?") == "nino"
    assert normalize_answer("¡Los Ángeles, la ciudad!") == "angeles ciudad"
    assert normalize_answer("The  Beatles.") == "beatles"
    assert normalize_answer("Lo mismo") == "mismo"


def test_exact_match_and_token_f1_take_the_best_reference() -> None:
    assert exact_match("la Revolución Francesa", ["revolucion francesa", "1789"]) == 1.0
    assert exact_match("Revolución", ["revolucion francesa"]) == 0.0
    assert token_f1("Revolución", ["revolucion francesa", "otra cosa"]) == pytest.approx(2 / 3)
    assert token_f1("nada", ["algo"]) == 0.0
    assert math.isnan(exact_match("x", []))
    assert math.isnan(token_f1("x", []))


def test_containment_handles_decimal_and_thousand_separators() -> None:
    assert contains_any("Se pagan 0,26 € por kilómetro [1].", ["0.26"]) == 1.0
    assert contains_any("El presupuesto es 1.250 euros.", ["1250"]) == 1.0
    assert contains_any("Son 30 días naturales.", ["30 dias"]) == 1.0
    assert contains_any("Son 300 días.", ["30"]) == 0.0  # whole words only
    assert math.isnan(contains_any("x", []))


def test_retrieval_metrics() -> None:
    ranked = ["d3", "d1", "d1", "d2"]
    assert recall_at_k(ranked, ["d1"], 1) == 0.0
    assert recall_at_k(ranked, ["d1"], 2) == 1.0
    assert recall_at_k(ranked, ["d1", "d9"], 10) == 0.5
    assert mrr_at_k(ranked, ["d2"]) == pytest.approx(1 / 3)  # the repeated d1 counts once
    assert mrr_at_k(ranked, ["d2"], k=2) == 0.0
    assert ndcg_at_k(["d1"], ["d1"]) == 1.0
    assert ndcg_at_k(["x", "d1"], ["d1"]) == pytest.approx(1 / math.log2(3))
    assert math.isnan(mrr_at_k(ranked, []))


def test_abstention() -> None:
    refused = [True, True, False, False, True]
    answerable = [False, True, True, True, False]
    got = abstention(refused, answerable)
    assert got["precision"] == pytest.approx(2 / 3)
    assert got["recall"] == 1.0
    assert got["answer_rate"] == pytest.approx(2 / 3)
    assert math.isnan(abstention([False], [True])["precision"])
    with pytest.raises(ValueError):
        abstention([True], [True, False])


def test_citations_and_prf() -> None:
    assert citation_precision([True, False, None]) == 0.5
    assert math.isnan(citation_precision([None]))
    assert citation_recall(["a.md", "b.md"], ["a.md", "c.md"]) == 0.5
    got = binary_prf([True, True, False, False], [True, False, True, False])
    assert (got["precision"], got["recall"], got["f1"]) == (0.5, 0.5, 0.5)


def test_nan_is_counted_apart_never_averaged() -> None:
    assert mean_ignoring_nan([1.0, math.nan, 0.0, None]) == (0.5, 2, 2)
    mean, n, bad = mean_ignoring_nan([math.nan])
    assert math.isnan(mean) and (n, bad) == (0, 1)
    assert percentile([1, 2, 3, 4, math.nan], 50) == 2.5
    assert percentile([10.0], 95) == 10.0


def test_bootstrap_is_deterministic_and_brackets_the_mean() -> None:
    values = [float(i % 2) for i in range(40)] + [math.nan]
    mean, lo, hi = bootstrap_ci(values, n_resamples=500, seed=1)
    assert mean == 0.5 and lo < 0.5 < hi
    assert bootstrap_ci(values, n_resamples=500, seed=1) == (mean, lo, hi)
    assert bootstrap_ci([0.7]) == (0.7, 0.7, 0.7)
    assert all(math.isnan(x) for x in bootstrap_ci([math.nan]))
