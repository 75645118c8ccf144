"""The interface language: catalogues complete for every marked message, language negotiation."""

from __future__ import annotations

import re

import pytest

from ui import i18n
from ui.i18n_catalog import dynamic_messages, load, template

_FIELD = re.compile(r"\{(\w*)[^{}]*\}")


def _fields(text: str) -> set[str]:
    return set(_FIELD.findall(text))


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_every_message_of_the_code_is_translated(lang: str) -> None:
    """A message marked in ui/*.py but missing from a catalogue would show in English in a Spanish
    app: `python -m ui.i18n_catalog` adds it, and then it must be translated."""
    catalog = load(lang)
    missing, broken = [], []
    for message in template():
        if not message.id:
            continue
        found = catalog.get(message.id)
        strings = (found.string if isinstance(found.string, tuple) else (found.string,)) if found is not None else ("",)
        if found is None or not all(strings) or found.fuzzy:
            missing.append(message.id)
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        # A translation must keep the placeholders, or formatting it raises (or drops a value).
        if any(_fields(s) != _fields(ids[-1]) | ({"n"} & _fields(s)) for s in strings):
            broken.append(message.id)
    assert not missing, f"{lang}: untranslated {missing[:5]} (run python -m ui.i18n_catalog and translate)"
    assert not broken, f"{lang}: placeholders differ in {broken[:5]}"


def test_the_eval_suites_metric_names_are_in_the_catalogue() -> None:
    spanish = load("es")
    assert dynamic_messages() and all(spanish.get(m) is not None and spanish.get(m).string for m in dynamic_messages())


def test_spanish_is_spanish_and_plural_forms_apply() -> None:
    assert i18n.translate("es", "Ask Fuente") == "Pregunta a Fuente"
    assert i18n.translate("en", "Ask Fuente") == "Ask Fuente"
    one = "{n} sentence is not supported by the cited sources."
    many = "{n} sentences are not supported by the cited sources."
    assert i18n.translate_plural("es", one, many, 1).startswith("1 frase no está")
    assert i18n.translate_plural("es", one, many, 3).startswith("3 frases no están")
    assert i18n.translate("es", "Page {page} of {pages}, the passage highlighted.", page=2, pages=5) == (
        "Página 2 de 5, con el pasaje resaltado."
    )
    assert i18n.translate("fr", "Ask Fuente") == "Ask Fuente"  # an unknown language is English


@pytest.mark.parametrize(
    ("accept", "locale", "expected"),
    [
        ("es-ES,es;q=0.9,en;q=0.8", None, "es"),
        ("en-GB,en;q=0.9", None, "en"),
        ("fr-FR,fr;q=0.9,es;q=0.7,en;q=0.5", None, "es"),  # the first language Fuente speaks, by preference
        ("en;q=0.4,es;q=0.9", None, "es"),
        ("de-DE", None, "en"),
        (None, None, "en"),
        ("en-US", "es-MX", "es"),  # the browser's own language wins over the header
        ("es;q=0", None, "en"),
    ],
)
def test_negotiation(accept: str | None, locale: str | None, expected: str) -> None:
    assert i18n.negotiate(accept, locale) == expected


def test_a_stored_choice_wins_over_the_browser() -> None:
    headers = {"Accept-Language": "es-ES,es;q=0.9"}
    assert i18n.choose(None, None, headers, None) == "es"
    assert i18n.choose("en", None, headers, None) == "en"
    assert i18n.choose(None, "en", headers, None) == "en"
    assert i18n.choose("es", "en", {}, "en-US") == "es"
    assert i18n.choose(i18n.AUTO, None, {"accept-language": "es"}, None) == "es"
