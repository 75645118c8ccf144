"""The sync plan: a pure function from what is recorded and what is on disk to what to do.

A document's id is derived from its bytes and its access set, so identical content at a new path
is a move (metadata only, no embedding), a changed file is an update (new id, old one dropped),
and a file moved into a folder with other groups is re-added under the new access set.

A file whose bytes did not change but whose label did (an access file edited, added or removed)
is a *relabel*: its chunks and vectors are copied to the new access set (or, for a sensitivity
change alone, their metadata updated), never embedded again. A relabel that would let more
groups see a file is *held* (the file keeps its old label and is reported) unless the run allows
widening.

Bytes keep the narrowest label they are known under: a file whose bytes are recorded (or found in
this run) under a label that its own would widen (a copy, a move or an overwrite into a folder
that more groups see, or a rename in a folder whose access file is gone) is held too, and so is a
new file whose nearest recorded relatives are held. Without that, renaming the files of a folder
whose access file was deleted, or moving one into the public folder, would widen them silently.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field

from rag.index.base import FileRecord
from rag.types import EVERYONE, Sensitivity


def document_id(content_hash: str, access_key: str) -> str:
    return hashlib.sha256(f"{content_hash}\0{access_key}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class ScannedFile:
    """A file found on disk, hashed, with its access set resolved."""

    path: str
    size: int
    mtime_ns: int
    content_hash: str
    access_key: str
    sensitivity: str = Sensitivity.INTERNAL.value

    @property
    def doc_id(self) -> str:
        return document_id(self.content_hash, self.access_key)


def widens(old_key: str, new_key: str) -> bool:
    """True when access set ``new_key`` lets someone see what ``old_key`` hid from them."""
    old, new = set(old_key.split("+")), set(new_key.split("+"))
    if EVERYONE in old:
        return False
    return EVERYONE in new or not new <= old


def _max_sensitivity(values: list[str]) -> str:
    return max(values, key=lambda v: Sensitivity(v).rank)


@dataclass
class Relabel:
    """A new document made from an indexed one with the same bytes: its chunks and vectors copied."""

    source: str
    """Doc id whose chunks (and vectors) are copied."""
    files: list[ScannedFile]
    sensitivity: str


@dataclass
class Plan:
    add: dict[str, list[ScannedFile]] = field(default_factory=dict)
    """New documents to parse and embed: doc id -> the files holding it (first one is parsed)."""
    updated_paths: set[str] = field(default_factory=set)
    """Paths whose content changed (reported as 'updated' rather than 'added')."""
    link: list[ScannedFile] = field(default_factory=list)
    """Files whose document is already indexed under another path: record them, no embedding."""
    delete: set[str] = field(default_factory=set)
    """Documents no file refers to any more."""
    resource: dict[str, str] = field(default_factory=dict)
    """Kept documents whose primary path changed: doc id -> new primary path (a move or rename)."""
    removed_paths: set[str] = field(default_factory=set)
    unchanged: list[ScannedFile] = field(default_factory=list)
    retry: list[ScannedFile] = field(default_factory=list)
    """Previously rejected files whose bytes are unchanged, when the caller asked to retry them."""
    rejected_unchanged: list[tuple[ScannedFile, FileRecord]] = field(default_factory=list)
    relabel: dict[str, Relabel] = field(default_factory=dict)
    """New doc id -> the indexed document it is copied from (groups changed, bytes did not)."""
    resensitize: dict[str, str] = field(default_factory=dict)
    """Kept documents whose sensitivity changed: doc id -> new sensitivity (metadata only)."""
    relabeled_paths: set[str] = field(default_factory=set)
    held: list[tuple[ScannedFile, FileRecord | None, str]] = field(default_factory=list)
    """Files whose access would widen: the file as found, its record (kept; None for a new file beside
    held ones or a new copy of restricted bytes), and why it was held."""

    @property
    def changes(self) -> int:
        return (
            len(self.add)
            + len(self.link)
            + len(self.delete)
            + len(self.resource)
            + len(self.removed_paths)
            + len(self.relabel)
            + len(self.resensitize)
        )


def _folders(path: str) -> Iterator[str]:
    """The folders holding ``path``, nearest first, each ending with '/'."""
    folder = posixpath.dirname(path)
    while True:
        yield folder.rstrip("/") + "/"
        parent = posixpath.dirname(folder)
        if parent == folder:
            return
        folder = parent


def _keys(access_key: str) -> str:
    return access_key.replace("+", ", ")


def _hold_new_files_near_held_ones(plan: Plan, recorded: dict[str, FileRecord], held_keys: dict[str, str]) -> None:
    """A new file that would get the widened label of the held files nearest to it: hold it too.

    The nearest relatives are the recorded files under the deepest folder that holds the new file and
    any of them; ``held_keys`` gives the old label of the held ones (by recorded path: the files held
    in place, and the old paths of held moves). The new file is held when its label widens a held relative's old label and no relative
    that is not held has its label: a new file beside held ones, or in a new sub-folder of a folder
    whose access file is gone, is held; a new file among files that already had its label is not.
    """
    if not held_keys:
        return
    with_records: set[str] = set()
    held_below: dict[str, set[str]] = {}
    kept_below: dict[str, set[str]] = {}
    for path, rec in recorded.items():
        for folder in _folders(path):
            with_records.add(folder)
            if path in held_keys:
                held_below.setdefault(folder, set()).add(held_keys[path])
            else:
                kept_below.setdefault(folder, set()).add(rec.access_key)
    for doc in list(plan.add):
        keep = []
        for f in plan.add[doc]:
            nearest = next((d for d in _folders(f.path) if d in with_records), "")
            narrower = sorted(k for k in held_below.get(nearest, ()) if widens(k, f.access_key))
            if f.path in recorded or not narrower or f.access_key in kept_below.get(nearest, ()):
                keep.append(f)
                continue
            reason = (
                f"It is new beside files that are held: its label [{_keys(f.access_key)}] would widen their "
                f"[{_keys(narrower[0])}]; restore the access file, or ingest with --allow-widen."
            )
            plan.held.append((f, None, reason))
        if keep:
            plan.add[doc] = keep
        else:
            del plan.add[doc]


def _known_labels(
    recorded: dict[str, FileRecord], scanned: list[ScannedFile], known_keys: Mapping[str, Collection[str]] | None
) -> dict[str, list[tuple[str, str | None]]]:
    """content hash -> (access key, path or None) it is known under: recorded, found now, or indexed elsewhere."""
    known: dict[str, list[tuple[str, str | None]]] = {}
    for rec in recorded.values():
        known.setdefault(rec.content_hash, []).append((rec.access_key, rec.path))
    for f in scanned:
        known.setdefault(f.content_hash, []).append((f.access_key, f.path))
    for content_hash, keys in (known_keys or {}).items():
        known.setdefault(content_hash, []).extend((k, None) for k in keys)
    return known


def make_plan(
    recorded: dict[str, FileRecord],
    scanned: list[ScannedFile],
    indexed_docs: set[str],
    doc_paths: dict[str, list[str]],
    *,
    retry_rejected: bool = False,
    doc_sensitivity: dict[str, str] | None = None,
    allow_widen: bool = False,
    known_keys: Mapping[str, Collection[str]] | None = None,
    unlabeled: Collection[str] = (),
) -> Plan:
    """Compare the files recorded under the scanned roots with the files found there.

    Args:
        recorded: file records under the scanned roots, by path.
        scanned: files found under those roots now.
        indexed_docs: ids of every document in the index.
        doc_paths: for every indexed document, all recorded paths (under any root) that map to it.
        retry_rejected: re-parse files that were skipped or failed before even if unchanged.
        doc_sensitivity: the recorded sensitivity of indexed documents (none given: never compared).
        allow_widen: apply labels that let more groups see a file instead of holding them.
        known_keys: content hash -> access keys those bytes are recorded under anywhere (outside the
            scanned roots too), so a copy of a document indexed from another root is held as well.
        unlabeled: recorded paths found on disk whose label could not be read (an invalid access file):
            they keep their record and document as they are, so that deleting the broken access file
            later is seen as a widening, not as new files.
    """
    plan = Plan()
    found_paths = {f.path for f in scanned}
    kept = {p for p in unlabeled if p in recorded}
    plan.removed_paths = set(recorded) - found_paths - kept
    wanted: dict[str, list[str]] = {}
    for path in sorted(kept):
        kept_doc = recorded[path].doc_id
        if kept_doc is not None and kept_doc in indexed_docs:
            wanted.setdefault(kept_doc, []).append(path)
    known = _known_labels(recorded, scanned, known_keys)
    held_keys: dict[str, str] = {}  # recorded path -> old key: files held in place, old paths of held moves
    sensitivities: dict[str, list[str]] = {}
    for f in scanned:
        old = recorded.get(f.path)
        if old is not None and not allow_widen and widens(old.access_key, f.access_key):
            # The file keeps its indexed document and old label until someone confirms the wider one.
            reason = (
                f"Its access would widen from [{_keys(old.access_key)}] to [{_keys(f.access_key)}] (an access file "
                "changed, moved or is missing); it keeps its old label: restore the access file, or ingest with "
                "--allow-widen to apply it."
            )
            plan.held.append((f, old, reason))
            held_keys[f.path] = old.access_key
            if old.doc_id is not None and old.doc_id in indexed_docs:
                wanted.setdefault(old.doc_id, []).append(f.path)
            continue
        narrower = sorted(
            (
                (key, path or "")
                for key, path in known.get(f.content_hash, [])
                if path != f.path and widens(key, f.access_key)
            ),
            key=lambda known_as: (not known_as[1], known_as),  # name a path when one is known
        )
        if narrower and not allow_widen and (old is None or old.content_hash != f.content_hash):
            key, where = narrower[0]
            reason = (
                f"Its bytes are those of {where or 'a document indexed elsewhere'}, labelled [{_keys(key)}]: a copy, "
                f"move or rename that would let [{_keys(f.access_key)}] see them is held; it is left out until you "
                "remove the copy, restore the access file, or ingest with --allow-widen."
            )
            plan.held.append((f, old, reason))
            if old is not None and old.doc_id is not None and old.doc_id in indexed_docs:
                wanted.setdefault(old.doc_id, []).append(f.path)  # an overwritten file keeps its old document
            for _, path in narrower:
                source = recorded.get(path)
                if source is not None and path in plan.removed_paths:
                    # A move: the old path's record and document stay (cited there, under its label) for as
                    # long as the copy is held, so the next run still knows these bytes are restricted.
                    plan.removed_paths.discard(path)
                    held_keys[path] = source.access_key
                    if source.doc_id is not None and source.doc_id in indexed_docs:
                        wanted.setdefault(source.doc_id, []).append(path)
            continue
        if (
            old is not None
            and old.doc_id is None
            and old.content_hash == f.content_hash
            and old.access_key == f.access_key
        ):
            if retry_rejected:
                plan.retry.append(f)
                plan.add.setdefault(f.doc_id, []).append(f)
            else:
                plan.rejected_unchanged.append((f, old))
            continue
        doc = f.doc_id
        wanted.setdefault(doc, []).append(f.path)
        sensitivities.setdefault(doc, []).append(f.sensitivity)
        if doc in indexed_docs:
            if old is not None and old.doc_id == doc:
                plan.unchanged.append(f)
            else:
                plan.link.append(f)
        elif doc in plan.relabel:
            plan.relabel[doc].files.append(f)  # another copy of a document being relabeled
        elif (
            doc not in plan.add
            and old is not None
            and old.doc_id is not None
            and old.doc_id in indexed_docs
            and old.content_hash == f.content_hash
        ):
            # Same bytes, other groups: copy the chunks and vectors under the new access set.
            relabel = plan.relabel.setdefault(doc, Relabel(old.doc_id, [], f.sensitivity))
            relabel.files.append(f)
            plan.relabeled_paths.add(f.path)
        else:
            plan.add.setdefault(doc, []).append(f)
            if old is not None and old.content_hash != f.content_hash:
                plan.updated_paths.add(f.path)
    for doc, values in sensitivities.items():
        wanted_sensitivity = _max_sensitivity(values)  # copies of one document: the strictest label holds
        if doc in plan.relabel:
            plan.relabel[doc].sensitivity = wanted_sensitivity
        elif doc in indexed_docs and doc_sensitivity is not None and doc_sensitivity.get(doc) != wanted_sensitivity:
            plan.resensitize[doc] = wanted_sensitivity
            plan.relabeled_paths.update(f.path for f in plan.unchanged if f.doc_id == doc)
    plan.unchanged = [f for f in plan.unchanged if f.path not in plan.relabeled_paths]

    # Documents that lost every path under the scanned roots, unless a path elsewhere keeps them.
    scanned_docs = {r.doc_id for r in recorded.values() if r.doc_id}
    for doc in scanned_docs:
        if doc in wanted:
            continue
        elsewhere = sorted(p for p in doc_paths.get(doc, []) if p not in recorded)
        if not elsewhere:
            plan.delete.add(doc)
        elif doc_paths[doc][0] != elsewhere[0]:
            plan.resource[doc] = elsewhere[0]  # the cited path is gone: cite the surviving copy
    # The cited path of a document is always its first path in sorted order, here and in the ledger.
    _hold_new_files_near_held_ones(plan, recorded, held_keys)
    for files in plan.add.values():
        files.sort(key=lambda f: f.path)
    for relabel in plan.relabel.values():
        relabel.files.sort(key=lambda f: f.path)
    # Kept documents whose primary (first, sorted) path is gone get a new primary path.
    for doc, paths in wanted.items():
        if doc not in indexed_docs:
            continue
        current = doc_paths.get(doc, [])
        survivors = sorted({*(p for p in current if p in found_paths or p not in recorded), *paths})
        if current and current[0] != survivors[0] or not current:
            plan.resource[doc] = survivors[0]
    return plan
