"""What every `fuente` command shares: the exit codes, the one error handler, the consoles, the settings.

Commands raise :class:`rag.errors.FuenteError` (or let it through) and never print it themselves:
:class:`HandledGroup`, the root group of the Typer app, turns it into one red sentence on stderr and
the exit code of the table below. Anything unforeseen becomes one sentence too; its traceback goes to
the log, shown with ``-v``. Every sentence is in the terminal's language (:mod:`ui.cli.language`);
an error of the core keeps its own (English) sentence unless the catalogues have it.
"""

from __future__ import annotations

import logging
from typing import Any, NoReturn

import typer
from rich.console import Console
from typer.core import TyperGroup
from typer.exceptions import TyperException

from rag.errors import FuenteError
from rag.index.lock import IndexLockedError
from rag.settings import Settings
from ui.cli.language import _, language, localize, translated

EXIT_OK = 0
EXIT_FAILED = 1
"""Some files failed to ingest, or a `fuente doctor` check failed."""
# 2 is click's: a usage error (unknown option, bad value).
EXIT_LOCKED = 3
"""Another ingestion holds the index's writer lock."""
EXIT_ERROR = 4
"""A configuration, model or index error; the message says what to do."""

log = logging.getLogger("ui.cli")
err = Console(stderr=True)
out = Console()


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    """Print one sentence in red on stderr and exit with ``code``."""
    err.print(message, style="red", markup=False, soft_wrap=True)
    raise typer.Exit(code)


def exit_code(e: FuenteError) -> int:
    return EXIT_LOCKED if isinstance(e, IndexLockedError) else EXIT_ERROR


class HandledGroup(TyperGroup):
    """The root command group: every subcommand (and the global options) runs inside its handler."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        localize(self, language())  # before the command line is parsed: --help and usage errors read it
        return super().main(*args, **kwargs)

    def invoke(self, ctx: Any) -> Any:  # typer's own (vendored) click Context
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, TyperException):
            raise  # exit codes chosen by a command, usage errors and Ctrl-C are Typer's to report
        except FuenteError as e:
            err.print(translated(str(e)), style="red", markup=False, soft_wrap=True)
            raise typer.Exit(exit_code(e)) from e
        except Exception as e:
            log.info("fuente %s failed", ctx.invoked_subcommand, exc_info=True)
            err.print(_unexpected(ctx.invoked_subcommand or "", type(e).__name__), style="red", markup=False)
            raise typer.Exit(EXIT_ERROR) from e


def _unexpected(command: str, error: str) -> str:
    """An unexpected failure in one sentence: ingestion and search by name, other commands by their command line."""
    if command == "ingest":
        return _("The ingestion failed unexpectedly ({error}); run with -v for details.", error=error)
    if command == "search":
        return _("The search failed unexpectedly ({error}); run with -v for details.", error=error)
    return _("`fuente {command}` failed unexpectedly ({error}); run with -v for details.", command=command, error=error)


def settings_of(ctx: typer.Context) -> Settings:
    """The settings the global options loaded (``fuente [--profile P] COMMAND``)."""
    settings: Settings = ctx.find_root().obj["settings"]
    return settings


def csv(value: str | None) -> frozenset[str]:
    """A comma-separated option as a set, blanks dropped."""
    return frozenset(v.strip() for v in (value or "").split(",") if v.strip())
