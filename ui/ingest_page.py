"""Ingestion (role knowledge_manager): add documents, watch jobs, re-index, delete, statistics."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pandas as pd
import streamlit as st

from ingest.pipeline import uploads_dir
from rag.errors import FuenteError
from rag.types import EVERYONE, Sensitivity
from ui import corpus
from ui.context import Context, require
from ui.render import escape
from ui.runtime import JobProgress

ROLE = "knowledge_manager"


def source_folders(ctx: Context) -> list[str]:
    """Folders a knowledge manager may pick: ``ingest.sources``, FUENTE_APP_SOURCES (os.pathsep-separated)
    and earlier roots (the uploads folder excepted: uploads are ingested file by file)."""
    configured = [p for p in os.environ.get("FUENTE_APP_SOURCES", "").split(os.pathsep) if p.strip()]
    configured += [str(p) for p in ctx.settings.ingest.sources]
    uploads = str(uploads_dir(ctx.settings).resolve())
    found = {str(Path(p).expanduser().resolve()) for p in configured} | set(corpus.job_roots(ctx.settings))
    return sorted(p for p in found if not p.startswith(uploads))


def _add(ctx: Context) -> None:
    st.subheader("Add documents")
    mode = st.radio("From", ["Upload files", "A source folder"], horizontal=True)
    if mode == "Upload files":
        files = st.file_uploader("Files", accept_multiple_files=True)
        admin = ctx.user.has_role("admin")
        choices = sorted(ctx.user.groups | {EVERYONE})
        # A knowledge manager labels documents only with groups they belong to, so they cannot hide
        # documents from themselves or hand them to groups they do not manage; an admin may use any.
        # No defaults: who may see an upload and how sensitive it is are chosen, never assumed.
        groups = st.multiselect("Groups who may see them", choices, default=[], placeholder="Choose groups")
        if admin:
            extra = st.text_input("Other groups (comma-separated, admin only)")
            groups += [g.strip() for g in extra.split(",") if g.strip()]
        sensitivity = st.selectbox(
            "Sensitivity", [s.value for s in Sensitivity], index=None, placeholder="Choose a sensitivity"
        )
        if st.button("Start ingestion", type="primary", disabled=not files):
            if not groups or sensitivity is None:
                st.error("Choose the groups who may see the files (or everyone) and their sensitivity.")
                return
            _require_role(ctx)
            if not admin and not set(groups) <= choices_set(ctx):
                st.error("You may label uploads only with your own groups (or everyone).")
                return
            try:
                written, refused = corpus.save_uploads(
                    ctx.settings, [(f.name, f.getvalue()) for f in files or []], groups, sensitivity
                )
            except FuenteError as e:
                st.error(str(e))
                return
            for name in refused:
                st.warning(f"Skipped {escape(name)}: hidden or reserved file name.")
            if written:
                # Only the files just uploaded: the rest of the folder is not ingested again.
                _start(ctx, written, f"upload of {len(written)} file(s) to {written[0].parent.name}")
    else:
        folders = source_folders(ctx)
        if not folders:
            st.info("No source folders are configured; set FUENTE_APP_SOURCES or ingest one with `fuente ingest`.")
            return
        picked = st.selectbox("Folder", folders)
        st.caption("Groups and sensitivity come from the folder's _access.yaml files and the configured rules.")
        widen = ctx.user.has_role("admin") and st.checkbox(
            "Apply relabels that widen access",
            help="Off: a file whose access file was widened, renamed or removed keeps its old label and is "
            "reported as held. Admins only.",
        )
        if st.button("Start ingestion", type="primary") and picked:
            _require_role(ctx)
            _start(ctx, [Path(picked)], f"folder {picked}", allow_widen=widen and ctx.user.has_role("admin"))


def choices_set(ctx: Context) -> set[str]:
    return set(ctx.user.groups | {EVERYONE})


def _require_role(ctx: Context) -> None:
    if not ctx.user.has_role(ROLE):  # checked again at the action, not only when the page is drawn
        st.error("Ingestion needs the knowledge_manager role.")
        st.stop()


def _start(ctx: Context, paths: list[Path], label: str, retry: bool = False, allow_widen: bool = False) -> None:
    try:
        ctx.runtime.ingest(paths, label=label, retry=retry, allow_widen=allow_widen)
    except FuenteError as e:
        st.error(str(e))


@st.fragment(run_every=1.0)
def _progress() -> None:
    """The current write job; redrawn every second on its own, so the rest of the page stays usable."""
    ctx = require(ROLE)
    job: JobProgress | None = ctx.runtime.current
    if job is None:
        return
    if not job.done:
        total = job.to_parse
        share = min(job.parsed / total, 1.0) if total else 0.0
        st.progress(share, text=f"Running {escape(job.label)}: {job.parsed}/{total if total is not None else '?'} "
                    f"files, {job.chunks_embedded} chunks embedded")  # fmt: skip
        return
    if st.session_state.get("job_seen") != job.started:
        # The job just finished: redraw the whole page once so jobs, documents and statistics update.
        st.session_state.job_seen = job.started
        st.rerun(scope="app")
    if job.error:
        st.error(f"{escape(job.label)}: {escape(job.error)}")
    elif job.summary is not None:
        c = job.summary.counts
        st.success(
            f"Job {job.summary.job_id} {job.summary.status}: {c.get('added', 0)} added, {c.get('updated', 0)} updated, "
            f"{c.get('relabeled', 0)} relabeled, {c.get('deleted', 0)} deleted, {c.get('skipped', 0)} skipped, "
            f"{c.get('failed', 0)} failed."
        )
        if c.get("held"):
            st.warning(
                f"{c['held']} file(s) held: their access would widen (an access file changed or is missing). "
                "They keep their old label; see the job, restore the access file or run "
                "`fuente ingest --allow-widen`."
            )


def _jobs(ctx: Context) -> None:
    st.subheader("Jobs")
    if st.button("Re-index everything", icon=":material/refresh:"):
        roots = corpus.job_roots(ctx.settings)
        if roots:
            _start(ctx, [Path(r) for r in roots], "re-index", retry=True)
        else:
            st.info("Nothing has been ingested yet.")
    for job, hidden in corpus.jobs(ctx.settings, ctx.user.groups):
        took = f"{job.ended - job.started:.1f} s" if job.ended else "running"
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(job.started))
        with st.expander(f"Job {job.job_id} · {when} · {job.status} · {took}"):
            st.text("Roots: " + ", ".join(job.roots))
            if job.files:
                st.dataframe(
                    pd.DataFrame(
                        [
                            {"status": f.status, "chunks": f.chunks, "file": f.path, "reason": f.reason or ""}
                            for f in job.files
                        ]
                    ),
                    hide_index=True,
                )
            if hidden:
                st.caption(f"{hidden} file(s) in groups you do not belong to are not shown.")


def _documents(ctx: Context) -> None:
    docs = corpus.documents(ctx.settings, ctx.user.groups)
    st.subheader(f"Documents ({len(docs)})")
    if not docs:
        st.info("No documents you may see are indexed.")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "title": d.title,
                    "type": d.format,
                    "groups": d.groups,
                    "sensitivity": d.sensitivity,
                    "language": d.language,
                    "chunks": d.chunks,
                    "file": d.source_uri,
                }
                for d in docs
            ]  # fmt: skip
        ),
        hide_index=True,
    )
    by_id = {d.doc_id: d for d in docs}
    doc_id = st.selectbox(
        "Delete a document", list(by_id), format_func=lambda i: f"{by_id[i].title} — {by_id[i].source_uri}"
    )
    if st.button("Delete it from the index", icon=":material/delete:"):
        _require_role(ctx)
        if doc_id not in {d.doc_id for d in corpus.documents(ctx.settings, ctx.user.groups)}:
            st.error("That document is not one you may see.")
            return
        try:
            job = ctx.runtime.write(
                "delete", f"delete {by_id[doc_id].title}", lambda index: corpus.delete_document(index, doc_id)
            )
        except FuenteError as e:
            st.error(str(e))
            return
        if job.error:
            st.error(job.error)
        else:
            st.success(f"Deleted {by_id[doc_id].title}: its chunks are gone from every index (and its upload, if any).")
            st.rerun()


def _statistics(ctx: Context) -> None:
    stats = corpus.statistics(corpus.documents(ctx.settings, ctx.user.groups))
    st.subheader("Corpus")
    cols = st.columns(3)
    for col, (name, counts) in zip(cols, stats.items(), strict=True):
        with col:
            st.caption(f"Documents by {name}")
            if counts:
                st.bar_chart(pd.DataFrame({"documents": counts}).sort_index(), horizontal=True)


def page() -> None:
    ctx = require(ROLE)
    st.title("Ingestion")
    _progress()
    add, jobs, docs, stats = st.tabs(["Add", "Jobs", "Documents", "Statistics"])
    with add:
        _add(ctx)
    with jobs:
        _jobs(ctx)
    with docs:
        _documents(ctx)
    with stats:
        _statistics(ctx)
