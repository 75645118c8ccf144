"""The ingestion job: scan, plan, then apply the plan to the index, recording every file.

Every write goes through the index's facade (:class:`rag.index.Index`: add, move, relabel, delete),
whose write order keeps the index repairable at every instant, and
:meth:`rag.index.Index.reconcile` at the start of the next job repairs what a killed job left.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections import Counter
from collections.abc import Generator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.access import AccessResolver
from ingest.chunking import ChunkDraft, Chunker, TokenIds
from ingest.errors import FileRejected
from ingest.jobs import FileOutcome, JobLog, JobSummary
from ingest.parse_pool import parse_all, warm_workers
from ingest.parsing import ParseOptions
from ingest.plan import Plan, Relabel, ScannedFile, make_plan
from ingest.scan import Fence, FoundFile, Unreachable, real, scan
from rag.embedders import Embedder, takes_token_ids
from rag.index.base import FileRecord, NewDocument
from rag.language import detect_language
from rag.settings import Settings
from rag.types import AccessLabel, Chunk, ParsedFile, Sensitivity
from rag.users import users_file

if TYPE_CHECKING:  # rag.app builds the assistant too; parsing workers need none of it
    from rag.app import Writer

log = logging.getLogger(__name__)


class ProgressSink:
    """Receives progress; the CLI draws a bar from it. The default does nothing."""

    def planned(self, files_to_parse: int) -> None: ...

    def file_done(self, outcome: FileOutcome) -> None: ...

    def chunks_embedded(self, count: int) -> None: ...


def parse_options(settings: Settings) -> ParseOptions:
    cfg = settings.ingest
    return ParseOptions(
        max_file_bytes=int(cfg.max_file_mb * 1024 * 1024),
        max_uncompressed_bytes=int(cfg.max_uncompressed_mb * 1024 * 1024),
        ocr=cfg.ocr,
        ocr_languages=cfg.ocr_languages,
        ocr_max_pages=cfg.ocr_max_pages,
        convert_timeout_s=cfg.convert_timeout_s,
        extra_parsers=tuple(sorted(cfg.parsers.items())),
    )


def sha256_path(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def chunk_id(doc_id: str, ordinal: int, text: str) -> str:
    return hashlib.sha256(f"{doc_id}\0{ordinal}\0{text}".encode()).hexdigest()[:32]


def uploads_dir(settings: Settings) -> Path:
    """Where the app keeps uploaded files: the one part of FUENTE_HOME that is ingested."""
    return settings.paths.resolve("uploads")


def fence(settings: Settings) -> Fence:
    """What ingestion never reads: FUENTE_HOME (index, records, models; uploads excepted), the users file
    and the app's secrets (any ``.streamlit`` folder), whatever the configuration."""
    return Fence.of([settings.paths.home, users_file(settings)], [uploads_dir(settings)])


def access_sources(settings: Settings) -> list[Path]:
    """Corpus roots for access: the configured sources and the uploads folder."""
    return [real(Path(p)) for p in settings.ingest.sources] + [real(uploads_dir(settings))]


@dataclass
class _PendingDoc:
    files: list[ScannedFile]
    chunks: list[Chunk]
    token_ids: list[TokenIds | None]
    """Each chunk's token ids from the chunker (None where it had no tokenizer to give)."""
    fmt: str
    notes: tuple[str, ...] = ()
    """The parser's remarks (pages re-read by OCR, members left out of an archive): the job keeps them."""


@dataclass
class _Run:
    plan: Plan
    labels: dict[str, AccessLabel]
    outcomes: list[FileOutcome] = field(default_factory=list)
    embedded: int = 0
    chunks_deleted: int = 0


class Ingestor:
    """Runs ingestion jobs on one writer (:func:`rag.app.build_writer`): its index, its embedder, its lock."""

    def __init__(self, writer: Writer, progress: ProgressSink | None = None) -> None:
        self.writer = writer
        self.settings = writer.settings
        self.index = writer.index
        self._chunker: Chunker | None = None
        self.progress = progress or ProgressSink()
        self.jobs = JobLog(self.index.log_connection())
        self._allow_widen = False
        self._warm_parsers = False

    # -- lazy model: an unchanged corpus never loads it ----------------------------------------
    @property
    def embedder(self) -> Embedder:
        return self.writer.embedder

    @property
    def chunker(self) -> Chunker:
        if self._chunker is None:
            embedder = self.embedder
            self._chunker = Chunker(
                self.settings.chunking,
                embedder.count_tokens,
                embedder.max_tokens,
                embedder.count_tokens_many,
                embedder.token_ids_many if takes_token_ids(embedder) else None,
            )
        return self._chunker

    # -- public entry --------------------------------------------------------------------------
    def run(
        self,
        roots: list[Path],
        *,
        dry_run: bool = False,
        retry_rejected: bool = False,
        wait_s: float = 0.0,
        allow_widen: bool = False,
        repair: bool = False,
    ) -> JobSummary:
        """Ingest ``roots``: files under them are added, updated, moved, relabeled or removed to match disk.

        A relabel that would let more groups see a file is held (reported, not applied) unless
        ``allow_widen``. The repair pass compares the whole vector store with the records only after
        a writer that did not end cleanly, or with ``repair``.
        """
        root_names = [str(real(r)) for r in roots]
        self._allow_widen = allow_widen
        self._warm_parsers = not dry_run and self.settings.ingest.workers > 1
        if dry_run:
            job_id = self.jobs.start(root_names, dry_run=True)
            run = self._prepare(roots, root_names, retry_rejected)
            return self._finish(job_id, run, dry_run=True)
        with self.writer.locked(wait_s):
            self.jobs.mark_interrupted()
            job_id = self.jobs.start(root_names, dry_run=False)
            try:
                self.index.reconcile(full=repair)
                run = self._prepare(roots, root_names, retry_rejected)
                self._apply(run)
                self.index.sync_keywords()
            except BaseException as e:
                self.jobs.finish(job_id, "failed", {}, error=str(e) or type(e).__name__)
                raise
            return self._finish(job_id, run, dry_run=False)

    # -- scan and plan ---------------------------------------------------------------------------
    def _prepare(self, roots: list[Path], root_names: list[str], retry_rejected: bool) -> _Run:
        records = self.index.records
        recorded = records.files_under(root_names)
        known = {Path(r) for job in self.jobs.list(10_000) if not job.dry_run for r in job.roots}
        resolver = AccessResolver(
            self.settings.access,
            sources=access_sources(self.settings),
            known_roots=sorted(known | {Path(r) for r in root_names}),
        )
        scanned: list[ScannedFile] = []
        labels: dict[str, AccessLabel] = {}
        outcomes: list[FileOutcome] = []
        cfg = self.settings.ingest
        for item in scan(
            roots,
            exclude=cfg.exclude,
            sidecar=self.settings.access.sidecar,
            follow_symlinks=cfg.follow_symlinks,
            fence=fence(self.settings),
        ):
            if isinstance(item, Unreachable):
                outcomes.append(FileOutcome(str(item.path), "skipped", reason=item.reason))
                continue
            found = self._hash(item, recorded, resolver, labels, outcomes)
            if found is not None:
                scanned.append(found)
        # A recorded file that could not be labelled (its access file is invalid) keeps its document and
        # record, so deleting the broken access file later is held as a widening, not read as new files.
        unlabeled = {o.path for o in outcomes if o.status == "failed"} & recorded.keys()
        plan = make_plan(
            recorded,
            scanned,
            records.doc_ids(),
            records.doc_paths(),
            retry_rejected=retry_rejected,
            doc_sensitivity=records.doc_sensitivity(),
            allow_widen=self._allow_widen,
            known_keys=records.access_keys_by_hash(),
            unlabeled=unlabeled,
        )
        return _Run(plan=plan, labels=labels, outcomes=outcomes)

    def _hash(
        self,
        item: FoundFile,
        recorded: dict[str, FileRecord],
        resolver: AccessResolver,
        labels: dict[str, AccessLabel],
        outcomes: list[FileOutcome],
    ) -> ScannedFile | None:
        path = str(item.path)
        try:
            label = resolver.label_for(item.path)
        except FileRejected as e:
            outcomes.append(FileOutcome(path, e.status, reason=e.reason))
            return None
        labels[path] = label
        old = recorded.get(path)
        if old is not None and old.size == item.size and old.mtime_ns == item.mtime_ns:
            content_hash = old.content_hash  # unchanged size and mtime: trust the recorded hash
        else:
            if self._warm_parsers:
                # New or changed bytes: a parse is likely; the parsers load while the scan goes on. Once a job.
                warm_workers()
                self._warm_parsers = False
            try:
                content_hash = sha256_path(item.path)
            except OSError as e:
                outcomes.append(
                    FileOutcome(
                        path, "failed", reason=f"The file cannot be read ({e.strerror}); check its permissions."
                    )
                )
                return None
        return ScannedFile(path, item.size, item.mtime_ns, content_hash, label.key, label.sensitivity.value)

    # -- apply -----------------------------------------------------------------------------------
    def _apply(self, run: _Run) -> None:
        plan = run.plan
        for f in plan.unchanged:
            run.outcomes.append(FileOutcome(f.path, "unchanged"))
        for f, old in plan.rejected_unchanged:
            run.outcomes.append(FileOutcome(f.path, old.status, reason=old.reason))
        for f, _old, reason in plan.held:
            run.outcomes.append(FileOutcome(f.path, "held", reason=reason))
            log.warning("held a widening relabel of %s", f.path)
        self._move_and_link(run)
        self._relabel(run)
        self._delete(run)
        self._add(run)
        # Paths that vanished: their documents are gone (above) or live on under another path.
        self.index.remove_files(plan.removed_paths)
        for path in sorted(plan.removed_paths):
            run.outcomes.append(FileOutcome(path, "deleted"))

    def _move_and_link(self, run: _Run) -> None:
        plan = run.plan
        for doc_id, new_path in sorted(plan.resource.items()):
            self.index.move(doc_id, new_path)
        self.index.put_files([_indexed(f, f.doc_id) for f in plan.link])
        for f in plan.link:
            run.outcomes.append(FileOutcome(f.path, "moved"))

    def _relabel(self, run: _Run) -> None:
        """Labels changed, bytes did not: copy chunks and vectors to the new access set, or update metadata.

        The source document is dropped afterwards by :meth:`_delete` when no file refers to it any more.
        """
        plan = run.plan
        for doc_id, sensitivity in sorted(plan.resensitize.items()):
            self.index.resensitize(doc_id, sensitivity)
        for doc_id, relabel in sorted(plan.relabel.items()):
            if not self._copy_document(run, doc_id, relabel):
                plan.add[doc_id] = relabel.files  # the vectors are not all there: embed it again
                plan.relabeled_paths.difference_update(f.path for f in relabel.files)
        for path in sorted(plan.relabeled_paths):
            run.outcomes.append(FileOutcome(path, "relabeled"))

    def _copy_document(self, run: _Run, doc_id: str, relabel: Relabel) -> bool:
        primary = relabel.files[0]
        label = AccessLabel(run.labels[primary.path].groups, Sensitivity(relabel.sensitivity))

        def relabeled(old: list[Chunk]) -> list[Chunk]:
            return [
                replace(c, id=chunk_id(doc_id, c.ordinal, c.text), doc_id=doc_id, access=label, source_uri=primary.path)
                for c in old
            ]

        return self.index.copy_document(relabel.source, relabeled, [_indexed(f, doc_id) for f in relabel.files])

    def _delete(self, run: _Run) -> None:
        for doc_id in sorted(run.plan.delete):
            run.chunks_deleted += self.index.delete_document(doc_id).chunks

    def _add(self, run: _Run) -> None:
        todo = list(run.plan.add.items())
        self.progress.planned(len(todo))
        if not todo:
            return
        pending: list[_PendingDoc] = []
        buffered = 0
        self.chunker  # noqa: B018 - loads the embedder now, while the parse workers' fork server starts
        # Closed on the way out, error or not: the parse pool's thread and workers stop now, not when the
        # error's traceback lets go of this frame.
        with contextlib.closing(self._parsed(todo)) as parsed:
            for (doc_id, files), result in parsed:
                if isinstance(result, FileRejected):
                    self._record_rejected(run, files, result.status, result.reason)
                    continue
                chunks, token_ids = self._make_chunks(doc_id, files[0], run.labels[files[0].path], result)
                if not chunks:
                    self._record_rejected(
                        run, files, "skipped", "The file contains no text to index (it may be a scan without OCR text)."
                    )
                    continue
                pending.append(_PendingDoc(files, chunks, token_ids, result.format, result.notes))
                buffered += len(chunks)
                if buffered >= self.settings.ingest.flush_chunks:
                    self._flush(run, pending)
                    pending, buffered = [], 0
        if pending:
            self._flush(run, pending)

    def _parsed(
        self, todo: list[tuple[str, list[ScannedFile]]]
    ) -> Generator[tuple[tuple[str, list[ScannedFile]], ParsedFile | FileRejected], None, None]:
        """Documents parsed in reading order, in worker processes when configured (ingest/parse_pool.py)."""
        cfg = self.settings.ingest
        items = (((doc_id, files), files[0].path) for doc_id, files in todo)
        return parse_all(items, parse_options(self.settings), cfg.workers, cfg.parse_timeout_s)

    def _make_chunks(
        self, doc_id: str, primary: ScannedFile, label: AccessLabel, parsed: ParsedFile
    ) -> tuple[list[Chunk], list[TokenIds | None]]:
        """The document's chunks, and each one's token ids where the chunker had them."""
        drafts: list[ChunkDraft] = self.chunker.chunk(parsed.blocks)
        modified = primary.mtime_ns / 1e9
        chunks = []
        for ordinal, draft in enumerate(drafts):
            language = detect_language(draft.text)
            chunks.append(
                Chunk(
                    id=chunk_id(doc_id, ordinal, draft.text),
                    doc_id=doc_id,
                    text=draft.text,
                    ordinal=ordinal,
                    source_uri=primary.path,
                    title=draft.part_title or parsed.title,
                    access=label,
                    language=language,
                    modified=modified,
                    content_hash=primary.content_hash,
                    page=draft.page,
                    slide=draft.slide,
                    sheet=draft.sheet,
                    section=draft.section,
                    part=draft.part,
                    kind=draft.kind,
                )
            )
        return chunks, [draft.token_ids for draft in drafts]

    def _flush(self, run: _Run, pending: list[_PendingDoc]) -> None:
        chunks = [c for doc in pending for c in doc.chunks]
        token_ids = [ids for doc in pending for ids in doc.token_ids]
        embedder = self.embedder
        if takes_token_ids(embedder) and all(ids is not None for ids in token_ids):
            # Tokenised once, by the chunker: the encoder gets the ids it would have made of the texts.
            vectors = embedder.embed_token_ids([ids for ids in token_ids if ids is not None])
        else:
            vectors = embedder.embed_documents([c.text for c in chunks])
        self.index.add(
            [NewDocument(d.chunks, d.fmt, [_indexed(f, f.doc_id) for f in d.files]) for d in pending], vectors
        )
        run.embedded += len(chunks)
        self.progress.chunks_embedded(len(chunks))
        for doc in pending:
            for i, f in enumerate(doc.files):
                status = "updated" if f.path in run.plan.updated_paths else "added"
                outcome = FileOutcome(
                    f.path, status, chunks=len(doc.chunks) if i == 0 else 0, reason=" ".join(doc.notes) or None
                )
                run.outcomes.append(outcome)
                self.progress.file_done(outcome)

    def _record_rejected(self, run: _Run, files: list[ScannedFile], status: str, reason: str) -> None:
        self.index.put_files(
            [FileRecord(f.path, f.size, f.mtime_ns, f.content_hash, f.access_key, None, status, reason) for f in files]
        )
        for f in files:
            outcome = FileOutcome(f.path, status, reason=reason)
            run.outcomes.append(outcome)
            self.progress.file_done(outcome)

    # -- report ----------------------------------------------------------------------------------
    def _finish(self, job_id: int, run: _Run, *, dry_run: bool) -> JobSummary:
        if dry_run:
            run.outcomes.extend(_planned_outcomes(run.plan))
        counts: Counter[str] = Counter(o.status for o in run.outcomes)
        totals = {
            **{
                k: counts.get(k, 0)
                for k in ("added", "updated", "moved", "relabeled", "held", "unchanged", "deleted", "skipped", "failed")
            },
            "chunks_embedded": run.embedded,
            "chunks_deleted": run.chunks_deleted,
            "chunks_total": self.index.records.chunk_count(),
        }
        self.jobs.record(job_id, run.outcomes)
        status = "planned" if dry_run else ("completed_with_errors" if counts.get("failed") else "completed")
        self.jobs.finish(job_id, status, totals)
        summary = self.jobs.get(job_id)
        assert summary is not None
        return summary


def _indexed(f: ScannedFile, doc_id: str | None) -> FileRecord:
    return FileRecord(f.path, f.size, f.mtime_ns, f.content_hash, f.access_key, doc_id, "indexed", None)


def _planned_outcomes(plan: Plan) -> list[FileOutcome]:
    out = [FileOutcome(f.path, "unchanged") for f in plan.unchanged]
    out += [FileOutcome(f.path, old.status, reason=old.reason) for f, old in plan.rejected_unchanged]
    for files in plan.add.values():
        out += [
            FileOutcome(f.path, "updated" if f.path in plan.updated_paths else "added", reason="planned") for f in files
        ]
    out += [FileOutcome(f.path, "moved", reason="planned") for f in plan.link]
    out += [FileOutcome(p, "relabeled", reason="planned") for p in sorted(plan.relabeled_paths)]
    out += [FileOutcome(f.path, "held", reason=reason) for f, _old, reason in plan.held]
    out += [FileOutcome(p, "deleted", reason="planned") for p in sorted(plan.removed_paths)]
    return out
