"""The `fuente` command's language: Spanish or English, from the locale of the terminal.

What the command prints to people (summaries, tables' headers, progress labels, prompts, errors,
help texts) is written in the code as its English message id, marked with :func:`_` (or :func:`n_`
for plurals, :func:`N_` for a message stored before it is shown) and translated from the same
catalogues as the app (``ui/locales``, see :mod:`ui.i18n`). The language is read from the
environment each time a sentence is made (:func:`ui.i18n.from_locale`: ``LC_ALL``, ``LC_MESSAGES``,
``LANG``; ``es_*`` is Spanish, anything else English), so a test that sets ``LANG`` for one
invocation gets that invocation in its language. JSON output is never translated.

The help texts are Typer's: written once, in English, in the decorators and docstrings.
:func:`localize` translates them in the command tree just before the command line is parsed, and
:func:`help_messages` lists them for the catalogue.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import typer
from typer.core import TyperArgument
from typer.main import get_command

from ui import i18n


def language() -> str:
    """The language of this invocation, from the locale variables of its environment."""
    return i18n.from_locale(os.environ)


def _(message: str, **values: Any) -> str:
    """``message`` in the terminal's language (the gettext marker, extracted like the app's)."""
    return i18n.translate(language(), message, **values)


def n_(singular: str, plural: str, n: int, **values: Any) -> str:
    """The singular or plural of a message in the terminal's language, ``{n}`` filled in."""
    return i18n.translate_plural(language(), singular, plural, n, **values)


def N_(message: str) -> str:
    """Marks a message for the catalogue where it is stored; :func:`translated` shows it later."""
    return message


def translated(message: str) -> str:
    """A message held in a variable (a status word, an error of the core) in the terminal's language.

    A message the catalogues lack stays as it is: the core's own sentences are English.
    """
    # gettext("") is the catalogue's header, not an empty message.
    return i18n.translate(language(), message) if message else message


_STATUS_NAMES = {
    "completed": N_("completed"), "completed_with_errors": N_("completed with errors"), "planned": N_("planned"),
    "running": N_("running"), "failed": N_("failed"), "interrupted": N_("interrupted"), "done": N_("done"),
    "added": N_("added"), "updated": N_("updated"), "unchanged": N_("unchanged"), "deleted": N_("deleted"),
    "skipped": N_("skipped"), "moved": N_("moved"), "relabeled": N_("relabeled"), "held": N_("held"),
    "ok": N_("ok"), "warn": N_("warn"), "fail": N_("fail"),
}  # fmt: skip
"""The statuses of jobs, files, eval runs and doctor checks, as people read them (JSON keeps the words)."""


def status_name(status: str) -> str:
    """A stored status word in the terminal's language (unknown ones as they are)."""
    return translated(_STATUS_NAMES.get(status, status))


# --------------------------------------------------------------------------- help texts

# Typer's default panel titles and click's help option: shown on every --help, so translated too.
_ARGUMENTS, _OPTIONS, _COMMANDS = N_("Arguments"), N_("Options"), N_("Commands")
_HELP_OPTION = N_("Show this message and exit.")
_ENGLISH = "_fuente_english"
"""Attribute keeping a command's or parameter's English texts, so a later invocation can switch language."""


def _commands(command: Any) -> Iterator[Any]:
    yield command
    for sub in getattr(command, "commands", {}).values():
        yield from _commands(sub)


def _params(command: Any) -> list[Any]:
    """The command's parameters with its help option (which click makes on first use, then keeps)."""
    params = list(command.params)
    option = command.get_help_option(typer.Context(command))
    if option is not None and option not in params:
        params.append(option)
    return params


def _texts(command: Any) -> Iterator[tuple[Any, str]]:
    """(object, attribute) of every help text in the tree under ``command``."""
    for cmd in _commands(command):
        yield from ((cmd, attr) for attr in ("help", "short_help", "epilog"))
        yield from ((p, "help") for p in _params(cmd))


def localize(command: Any, lang: str) -> None:
    """Translate every help text and panel title of the command tree under ``command`` into ``lang``."""
    for obj, attr in _texts(command):
        english: dict[str, Any] = obj.__dict__.setdefault(_ENGLISH, {})
        source = english.setdefault(attr, getattr(obj, attr, None))
        if isinstance(source, str) and source:
            setattr(obj, attr, i18n.translate(lang, source))
    for cmd in _commands(command):
        # Typer puts what has no panel of its own under English titles: name the panels explicitly.
        for param in _params(cmd):
            panel = _ARGUMENTS if isinstance(param, TyperArgument) else _OPTIONS
            _set_panel(param, i18n.translate(lang, panel))
        for sub in getattr(cmd, "commands", {}).values():
            _set_panel(sub, i18n.translate(lang, _COMMANDS))


def _set_panel(obj: Any, title: str) -> None:
    english: dict[str, Any] = obj.__dict__.setdefault(_ENGLISH, {})
    # No panel of its own is None or Typer's DefaultPlaceholder, which is falsy.
    if not english.setdefault("rich_help_panel", getattr(obj, "rich_help_panel", None)):
        obj.rich_help_panel = title


def help_messages() -> list[str]:
    """Every help text of the `fuente` command, in English, for the catalogue (:mod:`ui.i18n_catalog`)."""
    from ui.cli import app

    root = get_command(app)
    found: list[str] = []
    for obj, attr in _texts(root):
        text = obj.__dict__.get(_ENGLISH, {}).get(attr, getattr(obj, attr, None))
        if isinstance(text, str) and text:
            found.append(text)
    return list(dict.fromkeys(found))
