"""`fuente ask`, `fuente chat` and `fuente serve-llm`: thin commands over :mod:`rag.app`."""

from __future__ import annotations

import json
import sys
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from rag.app import App, build_app
from rag.assistant import Answer, Turn, User
from rag.errors import FuenteError
from rag.settings import Settings
from rag.users import groups_of

EXIT_ERROR = 4
err = Console(stderr=True)
out = Console()


def _echo(piece: str) -> None:
    sys.stdout.write(piece)
    sys.stdout.flush()


def _fail(e: FuenteError) -> NoReturn:
    err.print(str(e), style="red", markup=False, soft_wrap=True)
    raise typer.Exit(EXIT_ERROR) from e


def _open(settings: Settings, user: str | None, groups: str | None) -> tuple[User, App]:
    """The asking user and the app, or one sentence and exit 4."""
    try:
        return _user(settings, user, groups), build_app(settings)
    except FuenteError as e:
        _fail(e)


def _user(settings: Settings, user: str | None, groups: str | None) -> User:
    if user:
        return User(user, groups_of(settings, user))
    return User(None, frozenset(g.strip() for g in (groups or "").split(",") if g.strip()))


def _show(answer: Answer) -> None:
    """After the streamed text: the verdict, unsupported sentences, citations or closest sources."""
    if answer.refused:
        if answer.protocol != "extract_v1":  # extract_v1 already printed the refusal as its text
            out.print(answer.text, markup=False)
        if answer.closest_sources:
            out.print("Closest sources:" if answer.language == "en" else "Fuentes más cercanas:")
    else:
        for s in answer.sentences:
            if not s.supported:
                out.print(f"  ⚠ not supported by the cited sources: {s.text}", style="yellow", markup=False)
    listed = answer.closest_sources if answer.refused else answer.citations
    for c in listed:
        out.print(
            f"  [{c.n}] {c.title} ({c.location or 'whole document'}) — {c.source_uri}", markup=False, highlight=False
        )
        if c.quote and not answer.refused:
            out.print(f"      “{c.quote}”", markup=False, highlight=False, style="dim")
    out.print(f"[dim]{answer.route}: {answer.model} · {answer.timings.get('total_s', 0):.1f} s[/dim]")


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
    who, app = _open(ctx.obj["settings"], user, groups)
    try:
        stream = None if as_json else _echo
        answer = app.assistant.ask(question, who, on_token=stream)
    except FuenteError as e:
        _fail(e)
    finally:
        app.close()
    if as_json:
        out.print_json(json.dumps(answer.to_dict(), ensure_ascii=False))
    else:
        sys.stdout.write("\n")
        if answer.refused and answer.protocol != "extract_v1" and answer.verdict != "refusal" and answer.generated_text:
            out.print("[dim](the answer above was not supported by the documents)[/dim]")
        _show(answer)


def chat_command(
    ctx: typer.Context,
    user: Annotated[str | None, typer.Option("--user")] = None,
    groups: Annotated[str | None, typer.Option("--groups")] = None,
) -> None:
    """A conversation: follow-up questions are understood in context. Empty line or Ctrl-D ends it."""
    who, app = _open(ctx.obj["settings"], user, groups)
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
            except FuenteError as e:
                err.print(str(e), style="red", markup=False, soft_wrap=True)
                continue
            sys.stdout.write("\n")
            _show(answer)
            history.append(Turn(question, answer.text, answer.sensitive))
    finally:
        app.close()


def serve_llm_command(
    ctx: typer.Context,
    background: Annotated[
        bool, typer.Option("--background", help="Start detached and return once it answers.")
    ] = False,
    stop: Annotated[bool, typer.Option("--stop", help="Stop a server started with --background.")] = False,
) -> None:
    """Run the local model server (llama.cpp, OpenAI-compatible) on the configured address."""
    import os

    from rag.llm_server import is_up, server_command, start_background, stop_background
    from rag.models import ensure_model

    settings: Settings = ctx.obj["settings"]
    try:
        if stop:
            typer.echo("stopped" if stop_background(settings) else "no background server was recorded")
            return
        if is_up(settings.llm.local.base_url):
            typer.echo(f"A model server already answers at {settings.llm.local.base_url}.")
            return
        if background:
            pid = start_background(settings)
            typer.echo(f"Serving {settings.llm.local.model} at {settings.llm.local.base_url} (pid {pid})")
            return
        path = ensure_model(settings, settings.llm.server.model)
    except FuenteError as e:
        err.print(str(e), style="red", markup=False, soft_wrap=True)
        raise typer.Exit(EXIT_ERROR) from e
    cmd = server_command(settings, path)
    err.print(f"Serving {settings.llm.local.model} at {settings.llm.local.base_url}", markup=False)
    os.execv(cmd[0], cmd)
