"""`fuente ask` and `fuente chat`: thin commands over the assistant of :mod:`rag.app`."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from rag.app import App, build_app
from rag.assistant import Answer, Turn, User
from rag.errors import FuenteError
from rag.settings import Settings
from rag.users import groups_of
from ui.cli.base import csv, err, out, settings_of
from ui.cli.language import _, translated


def _echo(piece: str) -> None:
    sys.stdout.write(piece)
    sys.stdout.flush()


def _open(settings: Settings, user: str | None, groups: str | None) -> tuple[User, App]:
    """The asking user and the app."""
    who = User(user, groups_of(settings, user)) if user else User(None, csv(groups))
    return who, build_app(settings)


def _show(answer: Answer) -> None:
    """After the streamed text: the verdict, unsupported sentences, citations or closest sources.

    The answer keeps the language of the question; its labels follow the terminal's.
    """
    if answer.refused:
        if answer.protocol != "extract_v1":  # extract_v1 already printed the refusal as its text
            out.print(answer.text, markup=False)
        if answer.closest_sources:
            out.print(_("Closest sources:"), markup=False)
    else:
        for s in answer.sentences:
            if not s.supported:
                out.print(
                    "  ⚠ " + _("not supported by the cited sources: {sentence}", sentence=s.text),
                    style="yellow",
                    markup=False,
                )
        if answer.citations:
            out.print(_("Sources:"), markup=False)
    listed = answer.closest_sources if answer.refused else answer.citations
    for c in listed:
        where = c.location or _("whole document")
        out.print(f"  [{c.n}] {c.title} ({where}) — {c.source_uri}", markup=False, highlight=False)
        if c.quote and not answer.refused:
            out.print(f"      “{c.quote}”", markup=False, highlight=False, style="dim")
    out.print(f"{answer.route}: {answer.model} · {answer.timings.get('total_s', 0):.1f} s", style="dim", markup=False)


def ask_command(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="The question, in Spanish or English.")],
    user: Annotated[str | None, typer.Option("--user", help="Ask as this user (groups from the users file).")] = None,
    groups: Annotated[str | None, typer.Option("--groups", help="Ask with these groups, comma-separated.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Answer, citations, support, route, timings as JSON.")
    ] = False,
) -> None:
    """Answer a question from the documents the user may see, with citations."""
    who, app = _open(settings_of(ctx), user, groups)
    try:
        answer = app.assistant.ask(question, who, on_token=None if as_json else _echo)
    finally:
        app.close()
    if as_json:
        out.print_json(json.dumps(answer.to_dict(), ensure_ascii=False))
    else:
        sys.stdout.write("\n")
        if answer.refused and answer.protocol != "extract_v1" and answer.verdict != "refusal" and answer.generated_text:
            out.print(_("(the answer above was not supported by the documents)"), style="dim", markup=False)
        _show(answer)


def chat_command(
    ctx: typer.Context,
    user: Annotated[str | None, typer.Option("--user", help="Ask as this user (groups from the users file).")] = None,
    groups: Annotated[str | None, typer.Option("--groups", help="Ask with these groups, comma-separated.")] = None,
) -> None:
    """A conversation: follow-up questions are understood in context. Empty line or Ctrl-D ends it."""
    who, app = _open(settings_of(ctx), user, groups)
    history: list[Turn] = []
    try:
        while True:
            try:
                question = input("\n> ").strip()
            except EOFError:
                break
            if not question:
                break
            try:
                answer = app.assistant.ask(question, who, history, on_token=_echo)
            except FuenteError as e:  # the conversation goes on: the next question may work
                err.print(translated(str(e)), style="red", markup=False, soft_wrap=True)
                continue
            sys.stdout.write("\n")
            _show(answer)
            history.append(Turn(question, answer.text, answer.sensitive))
    finally:
        app.close()
