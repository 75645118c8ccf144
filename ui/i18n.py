"""The app's interface language: Spanish or English, from gettext message catalogues.

Every text the app shows is written in the code as its English message id, marked with
:func:`_` (or :func:`n_` when it has a plural), and translated from ``ui/locales/<lang>/LC_MESSAGES/fuente.po``.
The ``.po`` files are read with Babel when first needed (no compile step, nothing binary in the
repository); ``tests/test_ui_i18n.py`` checks that every marked message has a translation in
both catalogues and keeps its ``{placeholders}``.

Which language a session gets (:func:`choose`): the user's own choice, stored per user (or
made on the login page for this session), else the browser's (``st.context.locale``, then the
``Accept-Language`` header), else English. The `fuente` command speaks the language of its
terminal's locale (:func:`from_locale`; :mod:`ui.cli.language`).
"""

from __future__ import annotations

import functools
import gettext
import io
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

LANGUAGES: tuple[str, ...] = ("es", "en")
DEFAULT = "en"
AUTO = "auto"
"""The stored choice "follow the browser"."""
DOMAIN = "fuente"
LOCALES = Path(__file__).resolve().parent / "locales"
LANG_KEY = "fuente_lang"
"""Session-state key of the language the current run draws in."""
CHOICE_KEY = "fuente_lang_choice"
"""Session-state key of a choice made before logging in (the login page's selector)."""


@functools.cache
def catalogue(lang: str) -> gettext.NullTranslations:
    """The translations of ``lang``; English message ids stand for themselves when a catalogue lacks one."""
    po = LOCALES / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po.is_file():
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as f:
        parsed = read_po(f, locale=lang, domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, parsed, use_fuzzy=False)  # a fuzzy (unchecked) translation is never shown
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def translate(lang: str, message: str, **values: Any) -> str:
    """``message`` in ``lang``, with its ``{placeholders}`` filled from ``values``."""
    text = catalogue(lang if lang in LANGUAGES else DEFAULT).gettext(message)
    return text.format(**values) if values else text


def translate_plural(lang: str, singular: str, plural: str, n: int, **values: Any) -> str:
    text = catalogue(lang if lang in LANGUAGES else DEFAULT).ngettext(singular, plural, n)
    return text.format(n=n, **values)


def negotiate(accept_language: str | None, locale: str | None = None) -> str:
    """The interface language for a browser: its locale (``es-ES``), else the first supported
    language of its ``Accept-Language`` header by preference, else English."""
    if locale:
        base = locale.replace("_", "-").split("-")[0].strip().lower()
        if base in LANGUAGES:
            return base
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _sep, params = part.strip().partition(";")
        quality = 1.0
        for p in params.split(";"):
            key, _eq, value = p.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        base = tag.strip().split("-")[0].lower()
        if base in LANGUAGES and quality > 0:
            ranked.append((-quality, i, base))
    return sorted(ranked)[0][2] if ranked else DEFAULT


LOCALE_VARIABLES: tuple[str, ...] = ("LC_ALL", "LC_MESSAGES", "LANG")
"""Where a terminal's language is read, first set wins (POSIX's order for messages)."""


def from_locale(environ: Mapping[str, str]) -> str:
    """The language of a terminal: Spanish when its locale for messages is ``es`` (``es_ES.UTF-8``,
    ``es_MX``, ``es``), else English (``C``, ``POSIX``, ``en_US.UTF-8``, anything else or nothing)."""
    for name in LOCALE_VARIABLES:
        value = environ.get(name, "").strip()
        if value:
            base = re.split(r"[_.@-]", value, maxsplit=1)[0].lower()
            return base if base in LANGUAGES else DEFAULT
    return DEFAULT


def choose(stored: str | None, session: str | None, headers: Mapping[str, str], locale: str | None) -> str:
    """The language of a session: the user's stored choice, then this session's, then the browser's."""
    for picked in (stored, session):
        if picked in LANGUAGES:
            return str(picked)
    header = next((v for k, v in headers.items() if k.lower() == "accept-language"), None)
    return negotiate(header, locale)


# --------------------------------------------------------------------------- within a Streamlit run


def browser() -> tuple[dict[str, str], str | None]:
    """The browser's request headers and locale as Streamlit knows them (empty outside a browser)."""
    import streamlit as st

    try:
        headers = dict(st.context.headers or {})
    except Exception:  # no request behind this run (AppTest, bare mode)
        headers = {}
    try:
        locale = st.context.locale
    except Exception:
        locale = None
    return headers, locale


def activate(lang: str) -> str:
    """Draw the rest of this run in ``lang``."""
    import streamlit as st

    st.session_state[LANG_KEY] = lang if lang in LANGUAGES else DEFAULT
    return str(st.session_state[LANG_KEY])


def active() -> str:
    """The language this run draws in (activated by the app, else negotiated with the browser)."""
    import streamlit as st

    lang = st.session_state.get(LANG_KEY)
    if lang in LANGUAGES:
        return str(lang)
    headers, locale = browser()
    return activate(choose(None, st.session_state.get(CHOICE_KEY), headers, locale))


def _(message: str, **values: Any) -> str:
    """``message`` in the run's language (the gettext marker: ``pybabel extract -k _ -k n_:1,2``)."""
    return translate(active(), message, **values)


def n_(singular: str, plural: str, n: int, **values: Any) -> str:
    """The singular or plural of a message in the run's language, ``{n}`` filled in."""
    return translate_plural(active(), singular, plural, n, **values)


def translated(message: str) -> str:
    """A message that is not written in this code (the eval suite's metric names), in the run's language.

    Not marked for extraction: :func:`ui.i18n_catalog.dynamic_messages` lists where such messages come from.
    """
    return translate(active(), message)


LANGUAGE_NAMES: dict[str, str] = {"es": "Español", "en": "English"}
"""Each language by its own name (the selector shows them untranslated, so anyone finds theirs)."""
