"""`fuente ingest` and `fuente jobs`: thin commands over :mod:`ingest.pipeline` and :mod:`ingest.jobs`."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ingest.jobs import FileOutcome, JobLog, JobSummary
from ingest.pipeline import Ingestor, ProgressSink
from rag.app import build_writer
from rag.sqlite import connect
from ui.cli.base import EXIT_FAILED, EXIT_OK, err, fail, out, settings_of
from ui.cli.language import N_, _, status_name, translated


class _Bar(ProgressSink):
    """A terminal progress bar: files parsed, chunks embedded, ETA."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._files = progress.add_task(_("files"), total=None)
        self._chunks = progress.add_task(_("chunks embedded"), total=None)

    def planned(self, files_to_parse: int) -> None:
        self._progress.update(self._files, total=files_to_parse)

    def file_done(self, outcome: FileOutcome) -> None:
        self._progress.advance(self._files)

    def chunks_embedded(self, count: int) -> None:
        self._progress.advance(self._chunks, count)


# The counts of a job summary as people read them (the JSON keeps the keys); statuses by status_name.
_COUNT_NAMES = {
    "chunks_embedded": N_("chunks embedded"), "chunks_deleted": N_("chunks deleted"), "chunks_total": N_("chunks total"),
}  # fmt: skip


def _count_name(key: str) -> str:
    return translated(_COUNT_NAMES[key]) if key in _COUNT_NAMES else status_name(key)


def _summary_table(summary: JobSummary) -> Table:
    table = Table(title=_("Job {job}: {status}", job=summary.job_id, status=status_name(summary.status)))
    table.add_column(_("files / chunks"))
    table.add_column(_("count"), justify="right")
    for key, value in summary.counts.items():
        table.add_row(_count_name(key).replace("_", " "), str(value))
    return table


def _print_problems(summary: JobSummary, limit: int = 25) -> None:
    problems = [f for f in summary.files if f.status in ("held", "skipped", "failed")]
    if not problems:
        return
    table = Table(title=_("Left out or held"), show_header=True)
    table.add_column(_("status"))
    table.add_column(_("file"), overflow="fold")
    table.add_column(_("reason"), overflow="fold")
    for f in problems[:limit]:
        table.add_row(status_name(f.status), f.path, translated(f.reason or ""))
    out.print(table)
    if len(problems) > limit:
        more = len(problems) - limit
        out.print(_("... and {more} more: fuente jobs show {job}", more=more, job=summary.job_id), markup=False)


def ingest_command(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="Folders or files to ingest.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan; change nothing.")] = False,
    retry: Annotated[bool, typer.Option("--retry", help="Parse again files that were skipped or failed.")] = False,
    wait: Annotated[
        float, typer.Option("--wait", help="Seconds to wait for another ingestion to finish (-1: forever).")
    ] = 0.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the job summary as JSON.")] = False,
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help="Compare every vector in the store with the records first, even after clean runs "
            "(after restoring the vector store or the records from separate backups).",
        ),
    ] = False,
    allow_widen: Annotated[
        bool,
        typer.Option(
            "--allow-widen",
            help="Apply relabels that let more groups see a file (otherwise they are held and reported).",
        ),
    ] = False,
) -> None:
    """Scan PATHS, plan what changed (add, update, move, relabel, delete) and apply it to the index."""
    settings = settings_of(ctx)
    show_bar = not as_json and sys.stderr.isatty()
    started = time.monotonic()
    writer = build_writer(settings)
    try:
        if show_bar:
            columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
            with Progress(*columns, console=err) as progress:
                ingestor = Ingestor(writer, _Bar(progress))
                summary = ingestor.run(
                    paths, dry_run=dry_run, retry_rejected=retry, wait_s=wait, allow_widen=allow_widen, repair=repair
                )
        else:
            summary = Ingestor(writer).run(
                paths, dry_run=dry_run, retry_rejected=retry, wait_s=wait, allow_widen=allow_widen, repair=repair
            )
    finally:
        writer.close()
    if as_json:
        out.print_json(json.dumps(summary.to_dict(), ensure_ascii=False))
    else:
        if dry_run:
            for f in summary.files:
                if f.status != "unchanged":
                    # One unwrapped line per file, whatever the width, so the plan can be piped or grepped.
                    out.print(f"{status_name(f.status):>9}  {f.path}", soft_wrap=True, markup=False, highlight=False)
        out.print(_summary_table(summary))
        _print_problems(summary)
        took = f"{time.monotonic() - started:.1f}"
        out.print(_("Done in {seconds} s. Details: fuente jobs show {job}", seconds=took, job=summary.job_id),
                  markup=False)  # fmt: skip
    raise typer.Exit(EXIT_FAILED if summary.counts.get("failed") else EXIT_OK)


jobs_app = typer.Typer(help="Ingestion jobs: what ran, and what happened to each file.", no_args_is_help=False)


def _jobs(ctx: typer.Context) -> JobLog:
    return JobLog(connect(settings_of(ctx).paths.records_db))


@jobs_app.callback(invoke_without_command=True)
def jobs_list(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="How many recent jobs.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print the jobs as JSON.")] = False,
) -> None:
    """List recent ingestion jobs."""
    if ctx.invoked_subcommand is not None:
        return
    jobs = _jobs(ctx).list(limit)
    if as_json:
        out.print_json(json.dumps([j.to_dict() for j in jobs], ensure_ascii=False))
        return
    table = Table(show_header=True)
    counted = ("added", "updated", "deleted", "skipped", "failed")
    for col in (_("id"), _("started"), _("took"), _("status"), *map(status_name, counted), _("roots")):
        table.add_column(col)
    for j in jobs:
        took = f"{j.ended - j.started:.1f}s" if j.ended else "-"
        c = j.counts
        table.add_row(
            str(j.job_id),
            time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(j.started)),
            took,
            status_name(j.status) + (" " + _("(dry run)") if j.dry_run else ""),
            *(str(c.get(k, 0)) for k in counted),
            ", ".join(j.roots),
        )
    out.print(table)


@jobs_app.command("show")
def jobs_show(
    ctx: typer.Context,
    job_id: Annotated[int, typer.Argument(help="Job id from `fuente jobs`.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the job as JSON.")] = False,
) -> None:
    """Show one job: counts and every file with its status and reason."""
    summary = _jobs(ctx).get(job_id)
    if summary is None:
        fail(_("No job {job}; list jobs with `fuente jobs`.", job=job_id))
    if as_json:
        out.print_json(json.dumps(summary.to_dict(), ensure_ascii=False))
        return
    out.print(_summary_table(summary))
    table = Table(show_header=True)
    for col in (_("status"), _("chunks"), _("file"), _("reason")):
        table.add_column(col, overflow="fold")
    for f in summary.files:
        table.add_row(status_name(f.status), str(f.chunks), f.path, translated(f.reason or ""))
    out.print(table)
