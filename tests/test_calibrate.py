"""The threshold search of eval.calibrate: the rule it applies and the leave-one-set-out report."""

from __future__ import annotations

from eval.calibrate import Row, leave_one_out, leave_one_out_report, score, search


def _row(id: str, answerable: bool, correct: bool, relevance: float, check: float = 0.9) -> Row:
    return Row(id=id, answerable=answerable, tags=[], correct=correct, grounded=True, relevance=relevance,
               coverage=1.0, retrieval=1.0, answer_check=check)  # fmt: skip


def _set(prefix: str, right: float, wrong: float) -> list[Row]:
    """Right answers at relevance ``right``, unanswerable ones answered at ``wrong``."""
    return [_row(f"{prefix}r{i}", True, True, right) for i in range(6)] + [
        _row(f"{prefix}u{i}", False, False, wrong) for i in range(4)
    ]


def test_the_search_refuses_what_is_due_before_it_answers_more() -> None:
    rows = _set("a", right=0.6, wrong=0.4)
    best, s = search(rows)
    assert 0.4 < best["evidence_min"] <= 0.6
    assert s["refused_when_due"] == 1.0 and s["answered_correct"] == 1.0 and s["wrong"] == 0


def test_a_threshold_chosen_on_other_sets_is_scored_on_the_held_set() -> None:
    # Sets a and b separate at relevance 0.5; set c's wrong answers score as high as its right ones.
    groups = {"a": _set("a", 0.6, 0.4), "b": _set("b", 0.6, 0.45), "c": _set("c", 0.6, 0.6)}
    results = {name: (best, s) for name, best, s in leave_one_out(groups)}
    best_c, s_c = results["c"]
    assert best_c == search(groups["a"] + groups["b"])[0]
    assert s_c == score(groups["c"], best_c)
    assert s_c["refused_when_due"] == 0.0  # what a and b taught does not carry to c
    assert results["a"][1]["refused_when_due"] == 1.0
    table = leave_one_out_report(groups)
    assert "| c | 10 |" in table and "0.00" in table
