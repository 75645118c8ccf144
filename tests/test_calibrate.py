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
    # With the configured thresholds each set's own counts follow: at relevance 0.42 set a's wrong answers (0.4)
    # are refused and set b's (0.45) shown, which thresholds chosen on the other sets would refuse.
    configured = {"evidence_min": 0.42, "coverage_min": 0.0, "retrieval_min": 0.0, "overlap_min": 0.0}
    table = leave_one_out_report(groups, configured)
    rows = {line.split("|")[1].strip(): line for line in table.splitlines() if line.startswith("| ")}
    assert rows["a"].endswith("| 6 / 0 |") and rows["b"].endswith("| 6 / 4 |") and rows["c"].endswith("| 6 / 4 |")


def test_an_answer_under_the_floors_is_shown_only_when_the_check_rescues_it() -> None:
    # Relevance 0.52 is under the floor (0.55) and over the rescue floor (0.5): the check decides.
    floors = {"evidence_min": 0.55, "coverage_min": 0.6, "retrieval_min": 0.35, "overlap_min": 0.5}
    rescue = {**floors, "rescue_min": 0.7, "rescue_evidence_min": 0.5, "rescue_coverage_min": 0.25}
    sure, unsure, far = (
        _row("s", True, True, 0.52, check=0.8),
        _row("u", True, True, 0.52, check=0.6),
        _row("f", True, True, 0.45, check=0.95),
    )
    assert not sure.shown(floors) and sure.shown(rescue)
    assert not unsure.shown(rescue)  # the check is not sure enough
    assert not far.shown(rescue)  # under the rescue floor the check is not asked
    unchecked = _row("n", True, True, 0.52, check=float("nan"))
    assert not unchecked.shown(rescue)  # a check that did not run never rescues
    assert _row("ok", True, True, 0.6, check=0.1).shown(rescue)  # over the floors the check is not needed
