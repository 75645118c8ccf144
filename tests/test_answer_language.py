"""The verified answer is shown in the question's language, and a translation never changes its facts."""

from __future__ import annotations

from rag.answer_language import in_language

CITED = ["Passwords must be at least 14 characters long and are changed every 180 days."]
ANSWER = "Passwords must be at least 14 characters long."


def test_an_answer_in_the_evidence_language_is_translated_into_the_question_language() -> None:
    asked: list[tuple[str, str]] = []

    def translate(text: str, language: str) -> str:
        asked.append((text, language))
        return "Las contraseñas deben tener al menos 14 caracteres."

    assert in_language(ANSWER, "es", CITED, translate) == "Las contraseñas deben tener al menos 14 caracteres."
    assert asked == [(ANSWER, "es")]


def test_a_translation_that_changes_a_fact_is_not_shown() -> None:
    assert in_language(ANSWER, "es", CITED, lambda text, language: "Las contraseñas deben tener 12 caracteres.") is None
    assert in_language(ANSWER, "es", CITED, lambda text, language: "Passwords need 14 characters at least.") is None


def test_an_answer_already_in_the_question_language_is_kept_without_a_call() -> None:
    def translate(text: str, language: str) -> str:
        raise AssertionError("no translation was needed")

    assert in_language(ANSWER, "en", CITED, translate) is None
    assert in_language("14 caracteres", "en", CITED, translate) is None  # too short to tell its language
