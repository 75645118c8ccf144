"""eval.evidence_recall: where an accepted answer is found before the model reads anything."""

from __future__ import annotations

from eval.evidence_recall import Found, locate, tally


def test_an_answer_is_placed_in_the_chunks_and_at_its_first_item() -> None:
    chunks = ["La dieta internacional es de 75 € por día.", "Otro texto."]
    assert locate(["75 €"], chunks, ["Otro texto.", "Importe por día: 75 €", "75 € otra vez"]) == Found(True, 2)
    assert locate(["0,26"], chunks, ["Importe por día: 75 €"]) == Found(False, None)
    line = tally([Found(True, 1), Found(True, None), Found(False, None)])
    assert line == "3 answerable: in the chunks 2, among the items 1, at item 1 1"
