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
from ui.context import Context, failure, require
from ui.i18n import _, n_
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
    st.subheader(_("Add documents"))
    mode = st.radio(
        _("From"), ["upload", "folder"], horizontal=True,
        format_func={"upload": _("Upload files"), "folder": _("A source folder")}.__getitem__,
    )  # fmt: skip
    if mode == "upload":
        files = st.file_uploader(_("Files"), accept_multiple_files=True)
        admin = ctx.user.has_role("admin")
        choices = sorted(ctx.user.groups | {EVERYONE})
        # A knowledge manager labels documents only with groups they belong to, so they cannot hide
        # documents from themselves or hand them to groups they do not manage; an admin may use any.
        # No defaults: who may see an upload and how sensitive it is are chosen, never assumed.
        groups = st.multiselect(_("Groups who may see them"), choices, default=[], placeholder=_("Choose groups"))
        if admin:
            extra = st.text_input(_("Other groups (comma-separated, admin only)"))
            groups += [g.strip() for g in extra.split(",") if g.strip()]
        sensitivity = st.selectbox(
            _("Sensitivity"), [s.value for s in Sensitivity], index=None, placeholder=_("Choose a sensitivity")
        )
        if st.button(_("Start ingestion"), type="primary", disabled=not files):
            if not groups or sensitivity is None:
                st.error(_("Choose the groups who may see the files (or everyone) and their sensitivity."))
                return
            _require_role(ctx)
            if not admin and not set(groups) <= choices_set(ctx):
                st.error(_("You may label uploads only with your own groups (or everyone)."))
                return
            try:
                written, refused = corpus.save_uploads(
                    ctx.settings, [(f.name, f.getvalue()) for f in files or []], groups, sensitivity
                )
            except FuenteError as e:
                st.error(failure(e))
                return
            for name in refused:
                st.warning(_("Skipped {name}: hidden or reserved file name.", name=escape(name)))
            if written:
                # Only the files just uploaded: the rest of the folder is not ingested again.
                _start(
                    ctx, written,
                    n_("upload of {n} file to {folder}", "upload of {n} files to {folder}", len(written),
                       folder=written[0].parent.name),
                )  # fmt: skip
    else:
        folders = source_folders(ctx)
        if not folders:
            st.info(_("No source folders are configured; set FUENTE_APP_SOURCES or ingest one with `fuente ingest`."))
            return
        picked = st.selectbox(_("Folder"), folders)
        st.caption(
            escape(_("Groups and sensitivity come from the folder's _access.yaml files and the configured rules."))
        )
        widen = ctx.user.has_role("admin") and st.checkbox(
            _("Apply relabels that widen access"),
            help=_(
                "Off: a file whose access file was widened, renamed or removed keeps its old label and is reported as held. Admins only."
            ),
        )
        if st.button(_("Start ingestion"), type="primary") and picked:
            _require_role(ctx)
            _start(
                ctx,
                [Path(picked)],
                _("folder {folder}", folder=picked),
                allow_widen=widen and ctx.user.has_role("admin"),
            )


def status_name(status: str) -> str:
    """A job's or file's status in the interface language (the log keeps its English word)."""
    names = {
        "completed": _("completed"), "completed_with_errors": _("completed with errors"), "planned": _("planned"),
        "indexed": _("indexed"), "running": _("running"), "failed": _("failed"), "interrupted": _("interrupted"),
        "added": _("added"), "updated": _("updated"), "unchanged": _("unchanged"), "deleted": _("deleted"),
        "skipped": _("skipped"), "moved": _("moved"), "relabeled": _("relabeled"), "held": _("held"),
    }  # fmt: skip
    return names.get(status, status)


def choices_set(ctx: Context) -> set[str]:
    return set(ctx.user.groups | {EVERYONE})


def _require_role(ctx: Context) -> None:
    if not ctx.user.has_role(ROLE):  # checked again at the action, not only when the page is drawn
        st.error(_("Ingestion needs the knowledge_manager role."))
        st.stop()


def _start(ctx: Context, paths: list[Path], label: str, retry: bool = False, allow_widen: bool = False) -> None:
    try:
        ctx.runtime.ingest(paths, label=label, retry=retry, allow_widen=allow_widen)
    except FuenteError as e:
        st.error(failure(e))


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
        st.progress(share, text=_("Running {label}: {parsed}/{total} files, {chunks} chunks embedded",
                                  label=escape(job.label), parsed=job.parsed,
                                  total=total if total is not None else "?", chunks=job.chunks_embedded))  # fmt: skip
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
            _("Job {job} {status}: {added} added, {updated} updated, {relabeled} relabeled, {deleted} deleted, {skipped} skipped, {failed} failed.",
              job=job.summary.job_id, status=status_name(job.summary.status), added=c.get("added", 0),
              updated=c.get("updated", 0), relabeled=c.get("relabeled", 0), deleted=c.get("deleted", 0),
              skipped=c.get("skipped", 0), failed=c.get("failed", 0))
        )  # fmt: skip
        if c.get("held"):
            st.warning(
                n_("{n} file held: its access would widen (an access file changed or is missing). It keeps its old label; see the job, restore the access file or run `fuente ingest --allow-widen`.",
                   "{n} files held: their access would widen (an access file changed or is missing). They keep their old label; see the job, restore the access file or run `fuente ingest --allow-widen`.",
                   c["held"])
            )  # fmt: skip


def _jobs(ctx: Context) -> None:
    st.subheader(_("Jobs"))
    if st.button(_("Re-index everything"), icon=":material/refresh:"):
        roots = corpus.job_roots(ctx.settings)
        if roots:
            _start(ctx, [Path(r) for r in roots], _("re-index"), retry=True)
        else:
            st.info(_("Nothing has been ingested yet."))
    jobs = corpus.jobs(ctx.settings, ctx.user.groups)
    if not jobs:
        st.info(_("No jobs yet: add documents above."))
    for job, hidden in jobs:
        took = _("{seconds:.1f} s", seconds=job.ended - job.started) if job.ended else _("running")
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(job.started))
        with st.expander(_("Job {job} · {when} · {status} · {took}", job=job.job_id, when=when,
                           status=status_name(job.status), took=took)):  # fmt: skip
            st.text(_("Roots: {roots}", roots=", ".join(job.roots)))
            if job.files:
                st.dataframe(
                    pd.DataFrame(
                        [
                            {
                                _("status"): status_name(f.status),
                                _("chunks"): f.chunks,
                                _("file"): f.path,
                                _("reason"): f.reason or "",
                            }
                            for f in job.files
                        ]  # fmt: skip
                    ),
                    hide_index=True,
                )
            if hidden:
                st.caption(
                    n_("{n} file in groups you do not belong to is not shown.",
                       "{n} files in groups you do not belong to are not shown.", hidden)
                )  # fmt: skip


def _documents(ctx: Context) -> None:
    docs = corpus.documents(ctx.settings, ctx.user.groups)
    st.subheader(_("Documents ({count})", count=len(docs)))
    if not docs:
        st.info(_("No documents you may see are indexed."))
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    _("title"): d.title,
                    _("type"): d.format,
                    _("groups"): d.groups,
                    _("sensitivity"): d.sensitivity,
                    _("language"): d.language,
                    _("chunks"): d.chunks,
                    _("file"): d.source_uri,
                }
                for d in docs
            ]  # fmt: skip
        ),
        hide_index=True,
    )
    by_id = {d.doc_id: d for d in docs}
    doc_id = st.selectbox(
        _("Delete a document"), list(by_id), format_func=lambda i: f"{by_id[i].title} — {by_id[i].source_uri}"
    )
    if st.button(_("Delete it from the index"), icon=":material/delete:"):
        _require_role(ctx)
        if doc_id not in {d.doc_id for d in corpus.documents(ctx.settings, ctx.user.groups)}:
            st.error(_("That document is not one you may see."))
            return
        try:
            job = ctx.runtime.write(
                "delete", f"delete {by_id[doc_id].title}", lambda index: corpus.delete_document(index, doc_id)
            )
        except FuenteError as e:
            st.error(failure(e))
            return
        if job.error:
            st.error(job.error)
        else:
            st.success(
                _("Deleted {title}: its chunks are gone from every index (and its upload, if any).",
                  title=escape(by_id[doc_id].title))
            )  # fmt: skip
            st.rerun()


def _statistics(ctx: Context) -> None:
    stats = corpus.statistics(corpus.documents(ctx.settings, ctx.user.groups))
    st.subheader(_("Corpus"))
    if not any(stats.values()):
        st.info(_("No documents you may see are indexed."))
        return
    names = {"group": _("Documents by group"), "type": _("Documents by type"), "language": _("Documents by language")}
    cols = st.columns(3)
    for col, (name, counts) in zip(cols, stats.items(), strict=True):
        with col:
            st.caption(names[name])
            if counts:
                st.bar_chart(pd.DataFrame({_("documents"): counts}).sort_index(), horizontal=True)


def page() -> None:
    ctx = require(ROLE)
    st.title(_("Ingestion"))
    _progress()
    add, jobs, docs, stats = st.tabs([_("Add"), _("Jobs"), _("Documents"), _("Statistics")])
    with add:
        _add(ctx)
    with jobs:
        _jobs(ctx)
    with docs:
        _documents(ctx)
    with stats:
        _statistics(ctx)
