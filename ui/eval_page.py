"""Evaluation (role ai_lead): stored runs, comparisons with intervals, drill-down, new runs."""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from rag.errors import FuenteError
from ui.context import Context, failure, require
from ui.eval_view import latencies, side_by_side
from ui.i18n import _, n_, translated
from ui.render import escape, plain, safe_inline

ROLE = "ai_lead"
log = logging.getLogger(__name__)


@dataclass
class EvalJob:
    label: str
    total: int
    done: int = 0
    run_ids: list[str] = field(default_factory=list)
    error: str | None = None
    finished: bool = False


@st.cache_resource(show_spinner=False)
def _jobs() -> dict[str, EvalJob]:
    """The evaluation started from this app process (one at a time), shared by every session."""
    return {}


def _store(ctx: Context) -> Any:
    from eval.store import RunStore

    return RunStore.from_settings(ctx.settings)


def _label(run: Any) -> str:
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(run.started))
    return f"{run.contender} · {run.dataset.rsplit('/', 1)[-1]} · {when} · {run.short_id}"


def verdict_name(verdict: str) -> str:
    names = {
        "supported": _("supported"), "partially_supported": _("partially supported"),
        "unsupported": _("unsupported"), "refusal": _("refusal"),
    }  # fmt: skip
    return names.get(verdict, verdict)


def _fmt(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.3f}"


def _compare(ctx: Context, store: Any, runs: list[Any]) -> None:
    from eval.compare import METRICS, summarize

    rows = {_label(r): store.rows(r.run_id) for r in runs}
    info = {m.name: m for m in METRICS}
    st.subheader(_("Metrics (value, 95% bootstrap interval)"))
    table: dict[str, dict[str, str]] = {}
    chart: list[dict[str, Any]] = []
    for name, run_rows in rows.items():
        try:
            stats = summarize(run_rows)
        except (KeyError, TypeError, ValueError) as e:  # rows written by an older or broken runner
            st.error(
                _("The rows of run {run} cannot be summarised ({error}); run it again.",
                  run=escape(name), error=escape(repr(e)))
            )  # fmt: skip
            continue
        for metric, stat in stats.items():
            if metric not in info:
                continue
            value, lo, hi = (float(stat[k]) for k in ("value", "lo", "hi"))
            unit = info[metric].unit
            cell = f"{_fmt(value)}{unit} [{_fmt(lo)}, {_fmt(hi)}]" + (
                f" ({stat['n_nan']} n/a)" if stat["n_nan"] else ""
            )
            # The eval suite names its metrics in English; the catalogues translate them (tests check all are).
            family, label = translated(info[metric].family), translated(info[metric].label)
            table.setdefault(f"{family} · {label}", {})[name] = cell
            if info[metric].family != "operations" and not math.isnan(value):
                chart.append({"metric": label, "run": name, "value": value, "low": lo, "high": hi})
    st.dataframe(pd.DataFrame(table).T, width="stretch")
    if chart:
        data = pd.DataFrame(chart)
        bars = (
            alt.Chart()
            .mark_bar()
            .encode(
                x=alt.X("value:Q", scale=alt.Scale(domain=[0, 1]), title=None),
                y=alt.Y("run:N", title=None),
                color="run:N",
            )
        )
        errors = alt.Chart().mark_errorbar().encode(x="low:Q", x2="high:Q", y="run:N")
        st.altair_chart(
            alt.layer(bars, errors, data=data)
            .facet(row=alt.Row("metric:N", title=None))
            .properties(title=_("Quality metrics by run (95% intervals)"))
        )
    st.subheader(_("Latency (seconds per question)"))
    lat = pd.DataFrame([{"run": name, "seconds": s} for name, run_rows in rows.items() for s in latencies(run_rows)])
    if not lat.empty:
        st.altair_chart(
            alt.Chart(lat)
            .mark_boxplot(extent="min-max")
            .encode(x="seconds:Q", y=alt.Y("run:N", title=None), color="run:N"),
            width="stretch",
        )
    _drill_down(ctx, rows)


def _drill_down(ctx: Context, rows: dict[str, list[dict[str, Any]]]) -> None:
    st.subheader(_("Per question"))
    ids, by_run, hidden = side_by_side(rows, ctx.user.groups)
    if hidden:
        st.caption(
            n_("{n} question asked for groups you do not belong to is not shown.",
               "{n} questions asked for groups you do not belong to are not shown.", hidden)
        )  # fmt: skip
    if not ids:
        st.info(_("The selected runs have no questions in common that you may see."))
        return
    first = by_run[next(iter(by_run))]
    qid = st.selectbox(_("Question"), ids, format_func=lambda q: f"{q}: {first[q].get('question', '')[:90]}")
    st.markdown(f"**{escape(str(first[qid].get('question', '')))}**")
    for col, (name, run_rows) in zip(st.columns(len(by_run)), by_run.items(), strict=True):
        row = run_rows[qid]
        with col:
            st.caption(escape(name))
            if row.get("error"):
                st.error(escape(str(row["error"])))
            verdict = row.get("verdict") or ""
            (st.warning if row.get("refused") else st.success)(
                escape(verdict_name(str(verdict)) + (" · " + _("refused") if row.get("refused") else ""))
            )
            st.markdown(safe_inline(plain(str(row.get("answer") or ""))))
            for c in row.get("citations") or []:
                if isinstance(c, dict):
                    where = c.get("location") or _("whole document")
                    st.caption(escape(f"[{c.get('n', '')}] {c.get('title', '')} ({where})"))
            metrics = {k: v for k, v in (row.get("metrics") or {}).items() if isinstance(v, int | float)}
            if metrics:
                st.dataframe(pd.DataFrame({"value": metrics}), width="stretch")
            judge = row.get("judge") or {}
            if judge:
                st.caption(_("Judges"))
                st.dataframe(
                    pd.DataFrame({k: {"mean": v.get("mean"), "spread": v.get("spread")} for k, v in judge.items()}).T,
                    width="stretch",
                )


def _new_run(ctx: Context) -> None:
    from eval.contenders import load_book
    from eval.datasets import PUBLIC_SETS

    st.subheader(_("Start a run"))
    jobs = _jobs()
    try:
        book = load_book()
    except FuenteError as e:
        st.error(failure(e))
        return
    dataset = st.selectbox(_("Dataset"), ["sample", *PUBLIC_SETS])
    contenders = st.multiselect(
        _("Contenders"), sorted(book.contenders), default=[], placeholder=_("Choose contenders")
    )
    limit = st.number_input(_("Questions (0: all)"), min_value=0, value=10, step=5)
    running = any(not j.finished for j in jobs.values())
    if st.button(_("Start"), type="primary", disabled=running or not contenders):
        require(ROLE)
        _start(ctx, book, dataset, contenders, int(limit) or None)
    _eval_progress()


def _start(ctx: Context, book: Any, dataset: str, contenders: list[str], limit: int | None) -> None:
    from eval.datasets import dataset_hash, dataset_path, load_dataset
    from eval.runner import Runner, select

    try:
        samples = select(load_dataset(dataset), limit)
        digest = dataset_hash(dataset_path(dataset))
    except FuenteError as e:
        st.error(failure(e))
        return
    job = EvalJob(f"{', '.join(contenders)} on {dataset}", total=len(samples) * len(contenders))
    _jobs()["current"] = job
    settings = ctx.settings

    def run() -> None:
        from eval.store import RunStore

        store = RunStore.from_settings(settings)  # its own connection, on this thread
        try:
            runner = Runner(settings, book, store)

            def progress(p: Any) -> None:
                job.done += 1

            job.run_ids = runner.run(contenders, samples, dataset=dataset, dataset_hash=digest, progress=progress)
        except Exception as e:
            job.error = str(e) if isinstance(e, FuenteError) else f"{type(e).__name__}: {e}"
            if not isinstance(e, FuenteError):
                log.exception("evaluation run from the app failed")
        finally:
            job.finished = True
            store.close()

    threading.Thread(target=run, name="fuente-eval", daemon=True).start()


@st.fragment(run_every=2.0)
def _eval_progress() -> None:
    job = _jobs().get("current")
    if job is None:
        return
    if not job.finished:
        st.progress(job.done / job.total if job.total else 0.0, text=f"{escape(job.label)}: {job.done}/{job.total}")
    elif job.error:
        st.error(_("The run failed: {error}", error=escape(job.error)))
    else:
        st.success(
            n_("{label}: done ({n} run).", "{label}: done ({n} runs).", len(job.run_ids), label=escape(job.label))
        )


def page() -> None:
    ctx = require(ROLE)
    st.title(_("Evaluation"))
    store = _store(ctx)
    try:
        runs = store.list_runs()
        st.subheader(_("Runs"))
        if not runs:
            st.info(_("No evaluation runs yet; start one below or with `fuente eval run`."))
        else:
            st.dataframe(
                pd.DataFrame(
                    [
                        {
                            _("run"): r.short_id,
                            _("contender"): r.contender,
                            _("dataset"): r.dataset,
                            _("status"): r.status,
                            _("questions"): r.n_questions,
                            _("started"): time.strftime("%Y-%m-%d %H:%M", time.localtime(r.started)),
                        }
                        for r in runs
                    ]  # fmt: skip
                ),
                hide_index=True,
            )
            by_label = {_label(r): r for r in runs}
            chosen = st.multiselect(
                _("Compare runs (two or more)"), list(by_label), key="compare_runs", placeholder=_("Choose runs")
            )
            if len(chosen) >= 2:
                _compare(ctx, store, [by_label[c] for c in chosen])
            elif chosen:
                st.caption(_("Pick at least one more run to compare."))
        _new_run(ctx)
    finally:
        store.close()
