"""Keeping the message catalogues in step with the code: ``python -m ui.i18n_catalog``.

Extracts every message marked with ``_``, ``n_`` or ``N_`` in ``ui/*.py`` and ``ui/cli/*.py``
(Babel's Python extractor), adds the messages that come from elsewhere (:func:`dynamic_messages`:
the eval suite's metric names, the `fuente` command's help texts), writes the template ``ui/locales/fuente.pot`` and updates each
language's ``.po`` with it: new messages arrive untranslated, gone ones are dropped. Then
translate what is empty in ``ui/locales/es/LC_MESSAGES/fuente.po``; the English catalogue's
messages stand for themselves unless a wording is changed there.
"""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from ui.i18n import DOMAIN, LANGUAGES, LOCALES

UI = Path(__file__).resolve().parent
KEYWORDS = {"_": None, "N_": None, "n_": (1, 2)}
SOURCE = "en"
"""The language the message ids are written in."""


def dynamic_messages() -> list[str]:
    """Messages not marked where they are written, so not extracted: the eval suite's metric names
    (shown through :func:`ui.i18n.translated`) and the `fuente` command's help texts (Typer's
    decorators and docstrings, translated by :func:`ui.cli.language.localize`)."""
    from eval.compare import METRICS
    from ui.cli.language import help_messages

    out: list[str] = []
    for m in METRICS:
        out += [m.family, m.label]
    return list(dict.fromkeys(out + help_messages()))


def _extracted(filename: str) -> bool:
    """``ui/*.py`` and ``ui/cli/*.py``: no locales, no caches, not this module."""
    parts = Path(filename).parts
    return parts[-1].endswith(".py") and parts[-1] != Path(__file__).name and parts[:-1] in ((), ("cli",))


def template() -> Catalog:
    """Every message of the app, as a gettext template."""
    catalog = Catalog(domain=DOMAIN, project="Fuente", charset="utf-8")
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(UI),
        method_map=[("*.py", "python"), ("cli/*.py", "python")],
        keywords=KEYWORDS,
        comment_tags=(),
    ):
        if not _extracted(filename):
            continue
        catalog.add(message, locations=[(f"ui/{filename}", lineno)])
    for message in dynamic_messages():
        if message not in catalog:
            catalog.add(message, locations=[("eval/compare.py or ui/cli", 0)])
    return catalog


def load(lang: str) -> Catalog:
    po = LOCALES / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po.is_file():
        return Catalog(locale=lang, domain=DOMAIN, project="Fuente")
    with po.open("rb") as f:
        return read_po(f, locale=lang, domain=DOMAIN)


def _write(catalog: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    write_po(buf, catalog, width=120, no_location=True, omit_header=False, ignore_obsolete=True)
    path.write_bytes(buf.getvalue())


def update() -> dict[str, int]:
    """Rewrite the template and every language's catalogue; how many messages each still lacks."""
    pot = template()
    _write(pot, LOCALES / f"{DOMAIN}.pot")
    missing: dict[str, int] = {}
    for lang in LANGUAGES:
        catalog = load(lang)
        catalog.update(pot, no_fuzzy_matching=True)
        catalog.fuzzy = False
        catalog.copyright_holder = "the Fuente authors"
        catalog.msgid_bugs_address = ""
        catalog.last_translator = "the Fuente authors"
        catalog.language_team = "the Fuente authors"
        if lang == SOURCE:
            # The message ids are English: the English catalogue starts as them, to be reworded in place.
            for m in catalog:
                if m.id and not _translated(m.string):
                    m.string = m.id
        _write(catalog, LOCALES / lang / "LC_MESSAGES" / f"{DOMAIN}.po")
        missing[lang] = sum(1 for m in catalog if m.id and not _translated(m.string))
    return missing


def _translated(string: object) -> bool:
    if isinstance(string, tuple | list):
        return all(bool(s) for s in string)
    return bool(string)


if __name__ == "__main__":
    for lang, n in update().items():
        print(f"{lang}: {n} message(s) without a translation")
