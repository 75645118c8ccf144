"""`fuente eval`: run contenders over a question set, compare runs, export reports, draft questions.

    fuente eval run --dataset sample --contender local --contender cloud [--limit N] [--judge local]
    fuente eval compare A B [--markdown report.md] [--html report.html]
    fuente eval list
    fuente eval show RUN [--question ID] [--json]
    fuente eval generate --limit N --out drafts.jsonl

Runs are stored in FUENTE_HOME/eval.db; A and B are run ids (any unique prefix) or contender names
(their newest run). Thin commands over :mod:`eval.runner`, :mod:`eval.compare` and :mod:`eval.report`.
"""

from __future__ import annotations

import json
import math
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from eval.compare import BY_NAME, fmt
from eval.store import RunStore
from rag.settings import Settings
from ui.cli.base import err, fail, out, settings_of
from ui.cli.language import _, n_, status_name, translated

eval_app = typer.Typer(help="Evaluation: run contenders on a question set, compare runs, export reports.",
                       no_args_is_help=True)  # fmt: skip
HEADLINE = ("contains_answer", "support_offline", "abstention_recall", "latency_p50")


@eval_app.command("run")
def run_command(
    ctx: typer.Context,
    contender: Annotated[list[str], typer.Option("--contender", "-c", help="A contender name; repeat to compare.")],
    dataset: Annotated[
        str, typer.Option("--dataset", "-d", help="`sample`, a .jsonl in our format, or a public set name.")
    ] = "sample",
    limit: Annotated[
        int | None,
        typer.Option("--limit", "-n", help="Ask only N questions (mixed: answerable, unanswerable, restricted)."),
    ] = None,
    corpus: Annotated[
        Path | None, typer.Option("--corpus", help="Ingest this folder into a throwaway index first and run on it.")
    ] = None,
    judge: Annotated[
        str | None, typer.Option("--judge", help="Contender whose model judges claims and faithfulness (slow).")
    ] = None,
    judge_passes: Annotated[
        int, typer.Option("--judge-passes", min=1, help="Judge each answer N times (mean and spread).")
    ] = 1,
    judge_limit: Annotated[int | None, typer.Option("--judge-limit", help="Judge at most N questions per run.")] = None,
    contenders_file: Annotated[
        Path | None, typer.Option("--contenders", help="Contenders file (default configs/contenders.yaml).")
    ] = None,
    shared_data: Annotated[Path | None, typer.Option("--shared-data", help="Folder of the public data sets.")] = None,
) -> None:
    """Ask every contender the same questions (temperature 0) and store each run."""
    from eval.contenders import contender_settings, load_book
    from eval.datasets import dataset_hash, dataset_path, load_dataset
    from eval.errors import EvalError
    from eval.runner import Progress, Runner, RunOptions, ingest_corpus, select

    base = settings_of(ctx)
    store: RunStore | None = None
    tmp: tempfile.TemporaryDirectory[str] | None = None
    judge_client: Any = None
    try:
        book = load_book(contenders_file)
        samples = select(load_dataset(dataset, shared_data), limit)
        digest = dataset_hash(dataset_path(dataset, shared_data))
        store = RunStore.from_settings(base)
        run_base = base
        if corpus is not None:
            tmp = tempfile.TemporaryDirectory(prefix="fuente-eval-")
            run_base = base.model_copy(update={"paths": base.paths.model_copy(
                update={"home": Path(tmp.name), "models": base.paths.models_dir})})  # fmt: skip
        runner = Runner(run_base, book, store)
        ready = runner.check(contender)  # keys and names first: fail before any ingestion or model start
        judge_obj = None
        if judge:
            judge_obj, judge_client = _judge(contender_settings(run_base, book.get(judge)))
        if corpus is not None:
            err.print(_("Ingesting {corpus} into a throwaway index…", corpus=corpus), markup=False)
            ingest_corpus(run_base, corpus, runner.embedder())
        elif _chunk_count(run_base) == 0:
            raise EvalError(
                _(
                    "The index under {home} is empty; run `fuente ingest PATH` first or pass --corpus PATH.",
                    home=run_base.paths.home,
                )
            )

        def show(p: Progress) -> None:
            status = _("error: {error}", error=p.error) if p.error else f"{p.seconds:.1f} s"
            err.print(f"[{p.contender}] {p.done}/{p.total} {p.question_id}: {status}", markup=False, highlight=False)

        options = RunOptions(judge_passes=judge_passes, judge_limit=judge_limit)
        run_ids = [
            runner.run_one(
                c,
                s,
                samples,
                dataset=str(dataset),
                dataset_hash=digest,
                judge=judge_obj,
                judge_name=judge_obj.name if judge_obj is not None else None,
                options=options,
                progress=show,
            )  # fmt: skip
            for c, s in ready
        ]
        _print_runs([store.get_run(r) for r in run_ids])
        if len(run_ids) >= 2:
            command = f"fuente eval compare {run_ids[0][:8]} {run_ids[1][:8]} --html report.html"
            out.print(_("Compare: {command}", command=command), markup=False)
    finally:
        if judge_client is not None:
            judge_client.close()
        if store is not None:
            store.close()
        if tmp is not None:
            tmp.cleanup()


def _chunk_count(settings: Settings) -> int:
    from rag.index import Index

    index = Index(settings)
    try:
        return index.records.chunk_count()
    finally:
        index.close()


def _judge(settings: Settings) -> tuple[Any, Any]:
    """The LLM judge on a contender's local endpoint (started if it is the packaged server), and what to close."""
    from eval.judges import Judge
    from rag.llm_server import ensure_local_server

    ensure_local_server(settings)
    judge = Judge.from_endpoint(settings.llm.local)
    return judge, judge


@eval_app.command("compare")
def compare_command(
    ctx: typer.Context,
    a: Annotated[str, typer.Argument(help="Run A: id, id prefix, or contender name (its newest run).")],
    b: Annotated[str, typer.Argument(help="Run B, compared against A.")],
    markdown: Annotated[Path | None, typer.Option("--markdown", help="Write the Markdown report here.")] = None,
    html: Annotated[Path | None, typer.Option("--html", help="Write the self-contained HTML report here.")] = None,
) -> None:
    """Side-by-side metrics with 95% intervals, per-question wins and losses; optional reports."""
    from eval.compare import compare_runs
    from eval.report import write_reports

    with RunStore.from_settings(settings_of(ctx)) as store:
        comparison = compare_runs(store, a, b)
    table = Table(
        title=f"A = {comparison.a.contender} ({comparison.a.short_id})   B = {comparison.b.contender} ({comparison.b.short_id})"
    )
    # Metrics keep their names (the reports' and the JSON's); their families are read in the terminal's language.
    for i, col in enumerate((_("metric"), "A", "B", "Δ", _("W/L/T"))):
        table.add_column(col, justify="left" if i == 0 else "right", no_wrap=i == 0)
    for family in comparison.families:
        table.add_row(translated(family), style="bold")
        for m in comparison.family(family):
            cells = []
            for stat, side in ((m.a, "a"), (m.b, "b")):
                text = "—" if stat is None else fmt(stat.value, m.info.unit)
                if stat is not None and not math.isnan(stat.lo):
                    text += f" [{fmt(stat.lo, m.info.unit)}–{fmt(stat.hi, m.info.unit)}]"
                if stat is not None and stat.n_nan:
                    text += f" ({stat.n_nan} NaN)"
                cells.append(f"[bold]{text}[/bold]" if m.better == side else text)
            wl = f"{m.wins}/{m.losses}/{m.ties}" if m.info.per_question else ""
            table.add_row("  " + m.info.name, cells[0], cells[1], fmt(m.delta, m.info.unit), wl)
        table.add_section()
    out.print(table)
    for note in comparison.notes:
        err.print(translated(note), style="yellow", markup=False)
    wins = sum(1 for q in comparison.questions if q.winner == "b")
    losses = sum(1 for q in comparison.questions if q.winner == "a")
    out.print(_("Per question (headline outcome): B better on {wins}, A better on {losses}, {ties} tied or not judged.",
                wins=wins, losses=losses, ties=len(comparison.questions) - wins - losses), markup=False)  # fmt: skip
    for path in write_reports(comparison, markdown_path=markdown, html_path=html):
        out.print(_("wrote {path}", path=path), markup=False)


def _print_runs(runs: list[Any]) -> None:
    table = Table()
    columns = (_("run"), _("contender"), _("dataset"), "n", _("status"), _("started"), *HEADLINE)
    for i, col in enumerate(columns):
        table.add_column(col, no_wrap=i < 2, min_width=8 if i == 0 else None)
    for r in runs:
        started = datetime.fromtimestamp(r.started, UTC).strftime("%Y-%m-%d %H:%M")
        values = []
        for name in HEADLINE:
            stat = r.summary.get(name)
            values.append("—" if stat is None else fmt(float(stat["value"]), BY_NAME[name].unit))
        table.add_row(r.short_id, r.contender, Path(r.dataset).name, str(r.n_questions), status_name(r.status), started,
                      *values)  # fmt: skip
    out.print(table)


@eval_app.command("list")
def list_command(
    ctx: typer.Context,
    contender: Annotated[str | None, typer.Option("--contender", "-c", help="Only this contender's runs.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="Newest N runs.")] = 20,
) -> None:
    """Stored runs, newest first, with headline metrics."""
    with RunStore.from_settings(settings_of(ctx)) as store:
        runs = store.list_runs(contender=contender, limit=limit)
    if not runs:
        out.print(_("No evaluation runs yet; start one with `fuente eval run --contender local`."), markup=False)
        return
    _print_runs(runs)


@eval_app.command("show")
def show_command(
    ctx: typer.Context,
    run: Annotated[str, typer.Argument(help="Run id, id prefix, or contender name.")],
    question: Annotated[str | None, typer.Option("--question", "-q", help="Show this question's full row.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The run (and its rows) as JSON.")] = False,
) -> None:
    """One run: its configuration, summary and per-question outcomes."""
    with RunStore.from_settings(settings_of(ctx)) as store:
        info = store.get_run(run)
        rows = store.rows(info.run_id)
    if question is not None:
        match = [r for r in rows if r["question_id"] == question]
        if not match:
            fail(_("Run {run} has no question {question!r}.", run=info.short_id, question=question))
        typer.echo(json.dumps(match[0], ensure_ascii=False, indent=2))
        return
    if as_json:
        typer.echo(json.dumps({"run": info.__dict__, "rows": rows}, ensure_ascii=False, indent=2))
        return
    out.print(_("run {run}  contender {contender}  status {status}", run=info.run_id, contender=info.contender,
                status=status_name(info.status)), markup=False)  # fmt: skip
    out.print(_("dataset {dataset} (sha256 {digest})  commit {commit}", dataset=info.dataset,
                digest=info.dataset_hash[:16], commit=info.git_commit or "—"), markup=False)  # fmt: skip
    if info.note:
        out.print(_("note: {note}", note=info.note), markup=False)
    table = Table()
    columns = (_("id"), _("kind"), _("refused"), _("verdict"), _("contains"), _("support"), _("latency"), _("answer"))
    for col in columns:
        table.add_column(col)
    for r in rows:
        m = r.get("metrics", {})
        table.add_row(
            r["question_id"], str(r.get("kind", "")), str(r.get("refused")), str(r.get("verdict")),
            fmt(float(m.get("contains_answer", math.nan))), fmt(float(m.get("support_offline", math.nan))),
            fmt(float(m.get("latency_s", math.nan)), "s"),
            (r.get("error") or (r.get("answer") or ""))[:70].replace("\n", " "),
        )  # fmt: skip
    out.print(table)


@eval_app.command("generate")
def generate_command(
    ctx: typer.Context,
    output: Annotated[Path, typer.Option("--out", "-o", help="JSONL file for the drafts.")] = Path("eval-drafts.jsonl"),
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many drafts (one LLM call each).")] = 10,
    seed: Annotated[int, typer.Option("--seed", help="Which chunks are drawn.")] = 0,
    append: Annotated[bool, typer.Option("--append", help="Add to the file instead of replacing it.")] = False,
) -> None:
    """Draft question/answer pairs from the ingested documents with the local model, for review."""
    from eval.generate import generate, write_drafts
    from rag.llm_server import ensure_local_server

    settings = settings_of(ctx)
    drafts: list[Any] = []

    def show(draft: Any, chunk: Any) -> None:
        what = draft.record["question"] if draft else _("(no usable question; skipped)")
        err.print(f"{len(drafts) + (1 if draft else 0)}/{limit} {chunk.title}: {what}", markup=False, highlight=False)

    ensure_local_server(settings)
    for draft in generate(settings, limit, seed=seed, on_draft=show):
        drafts.append(draft)
        write_drafts([draft], output, append=append or len(drafts) > 1)
    out.print(n_('wrote {n} draft to {path}; review it (edit, keep or delete), then remove "draft": true and the '
                 "draft tag.",
                 'wrote {n} drafts to {path}; review each (edit, keep or delete), then remove "draft": true and the '
                 "draft tag.", len(drafts), path=output), markup=False)  # fmt: skip
