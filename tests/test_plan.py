"""Tests for ingest.plan.make_plan: the pure sync plan between recorded files and files on disk."""

from __future__ import annotations

from ingest.plan import Plan, ScannedFile, document_id, make_plan
from rag.index.base import FileRecord

ROOT = "/data/docs"
EVERYONE = "everyone"
RRHH = "rrhh"


def found(path: str, content: str = "h1", access: str = EVERYONE, *, size: int = 10, mtime: int = 1) -> ScannedFile:
    return ScannedFile(path=path, size=size, mtime_ns=mtime, content_hash=content, access_key=access)


def indexed(f: ScannedFile) -> FileRecord:
    """The record a successful ingestion of ``f`` leaves behind."""
    return FileRecord(f.path, f.size, f.mtime_ns, f.content_hash, f.access_key, f.doc_id, "indexed", None)


def rejected(f: ScannedFile, status: str = "failed", reason: str = "The PDF is damaged.") -> FileRecord:
    return FileRecord(f.path, f.size, f.mtime_ns, f.content_hash, f.access_key, None, status, reason)


class Ledger:
    """A tiny in-memory stand-in for the records, applying a plan the way the pipeline does.

    It keeps each document's cited path (``source``) so tests can check what a user would see
    in a citation after several runs.
    """

    def __init__(self) -> None:
        self.files: dict[str, FileRecord] = {}
        self.source: dict[str, str] = {}

    def under(self, root: str) -> dict[str, FileRecord]:
        return {p: r for p, r in self.files.items() if p.startswith(root.rstrip("/") + "/")}

    def doc_paths(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for path in sorted(self.files):  # Records.doc_paths orders by path
            doc = self.files[path].doc_id
            if doc:
                out.setdefault(doc, []).append(path)
        return out

    def sync(self, root: str, scanned: list[ScannedFile]) -> Plan:
        plan = make_plan(self.under(root), scanned, set(self.source), self.doc_paths())
        for doc, path in plan.resource.items():
            self.source[doc] = path
        for f in plan.link:
            self.files[f.path] = indexed(f)
        for doc in plan.delete:
            self.source.pop(doc, None)
        for doc, files in plan.add.items():
            self.source[doc] = files[0].path  # the pipeline cites the first file of the group
            for f in files:
                self.files[f.path] = indexed(f)
        for path in plan.removed_paths:
            self.files.pop(path, None)
        return plan


def test_new_file_is_added() -> None:
    f = found(f"{ROOT}/a.txt")
    plan = make_plan({}, [f], set(), {})

    assert plan.add == {f.doc_id: [f]}
    assert plan.updated_paths == set()
    assert not plan.delete and not plan.link and not plan.removed_paths
    assert plan.changes == 1


def test_unchanged_file_is_not_added_again() -> None:
    f = found(f"{ROOT}/a.txt")
    plan = make_plan({f.path: indexed(f)}, [f], {f.doc_id}, {f.doc_id: [f.path]})

    assert plan.unchanged == [f]
    assert plan.add == {}
    assert not plan.delete and not plan.link and not plan.resource and not plan.removed_paths
    assert plan.changes == 0


def test_changed_content_at_same_path_replaces_the_document() -> None:
    old = found(f"{ROOT}/a.txt", "h1")
    new = found(f"{ROOT}/a.txt", "h2", mtime=2)
    plan = make_plan({old.path: indexed(old)}, [new], {old.doc_id}, {old.doc_id: [old.path]})

    assert new.doc_id != old.doc_id
    assert plan.add == {new.doc_id: [new]}
    assert plan.delete == {old.doc_id}
    assert plan.updated_paths == {new.path}
    assert plan.removed_paths == set()
    assert plan.unchanged == []


def test_renamed_file_is_linked_not_reembedded() -> None:
    old = found(f"{ROOT}/a.txt")
    moved = found(f"{ROOT}/b.txt")  # same bytes, same access
    plan = make_plan({old.path: indexed(old)}, [moved], {old.doc_id}, {old.doc_id: [old.path]})

    assert plan.add == {}
    assert plan.link == [moved]
    assert plan.delete == set()
    assert plan.resource == {old.doc_id: moved.path}
    assert plan.removed_paths == {old.path}


def test_two_identical_files_make_one_document_with_both_files() -> None:
    a = found(f"{ROOT}/a.txt")
    b = found(f"{ROOT}/copia/a.txt")
    plan = make_plan({}, [a, b], set(), {})

    assert list(plan.add) == [a.doc_id]
    assert plan.add[a.doc_id] == [a, b]  # the first is the one parsed


def test_second_copy_of_an_indexed_file_is_linked() -> None:
    a = found(f"{ROOT}/a.txt")
    b = found(f"{ROOT}/b.txt")
    plan = make_plan({a.path: indexed(a)}, [a, b], {a.doc_id}, {a.doc_id: [a.path]})

    assert plan.add == {}
    assert plan.unchanged == [a]
    assert plan.link == [b]
    assert plan.delete == set()
    assert plan.resource == {}  # a.txt still sorts first: the citation stays


def test_file_moved_into_folder_with_other_groups_is_readded_under_new_id() -> None:
    old = found(f"{ROOT}/general/nomina.pdf", access=EVERYONE)
    moved = found(f"{ROOT}/rrhh/nomina.pdf", access=RRHH)  # same bytes
    plan = make_plan({old.path: indexed(old)}, [moved], {old.doc_id}, {old.doc_id: [old.path]})

    assert moved.doc_id != old.doc_id
    assert plan.add == {moved.doc_id: [moved]}
    assert plan.delete == {old.doc_id}
    assert plan.link == []
    assert plan.removed_paths == {old.path}


def test_access_change_in_place_is_a_relabel_not_a_new_embedding() -> None:
    old = found(f"{ROOT}/nomina.pdf", access=EVERYONE)
    now = found(f"{ROOT}/nomina.pdf", access=RRHH)  # a sidecar was added; bytes unchanged
    plan = make_plan({old.path: indexed(old)}, [now], {old.doc_id}, {old.doc_id: [old.path]})

    assert plan.add == {}
    assert plan.relabel[now.doc_id].source == old.doc_id
    assert plan.relabel[now.doc_id].files == [now]
    assert plan.relabeled_paths == {now.path}
    assert plan.delete == {old.doc_id}  # no copy left readable by the old groups


def test_a_widening_relabel_is_held_unless_allowed() -> None:
    old = found(f"{ROOT}/nomina.pdf", access=RRHH)
    now = found(f"{ROOT}/nomina.pdf", access=EVERYONE)  # its access file is gone: the default applies
    args = ({old.path: indexed(old)}, [now], {old.doc_id}, {old.doc_id: [old.path]})

    held = make_plan(*args)
    assert [(f.path, r.access_key) for f, r, _ in held.held] == [(now.path, RRHH)]
    assert held.add == {} and held.relabel == {} and held.delete == set()
    assert "--allow-widen" in held.held[0][2]

    allowed = make_plan(*args, allow_widen=True)
    assert not allowed.held and now.doc_id in allowed.relabel and allowed.delete == {old.doc_id}


def test_a_new_file_beside_held_ones_is_held_too() -> None:
    old = found(f"{ROOT}/rrhh/nomina.pdf", access=RRHH)
    now = found(f"{ROOT}/rrhh/nomina.pdf", access=EVERYONE)  # the folder's access file is gone
    new = found(f"{ROOT}/rrhh/sub/despidos.pdf", "h9", access=EVERYONE)
    public = found(f"{ROOT}/general/horario.pdf", "h7", access=EVERYONE)  # open to everyone all along
    elsewhere = found(f"{ROOT}/general/menu.pdf", "h8", access=EVERYONE)
    plan = make_plan(
        {old.path: indexed(old), public.path: indexed(public)},
        [now, new, public, elsewhere],
        {old.doc_id, public.doc_id},
        {old.doc_id: [old.path], public.doc_id: [public.path]},
    )

    assert [(f.path, r is None) for f, r, _ in plan.held] == [(now.path, False), (new.path, True)]
    assert plan.add == {elsewhere.doc_id: [elsewhere]}


def test_a_new_file_in_a_sibling_folder_of_held_ones_is_held_too() -> None:
    old = found(f"{ROOT}/rrhh/nominas/enero.pdf", access=RRHH)
    now = found(f"{ROOT}/rrhh/nominas/enero.pdf", access=EVERYONE)  # rrhh/_access.yaml is gone
    public = found(f"{ROOT}/general/horario.pdf", "h7", access=EVERYONE)
    sibling = found(f"{ROOT}/rrhh/contratos/pedro.pdf", "h9", access=EVERYONE)  # a new sub-folder of rrhh
    beside_public = found(f"{ROOT}/general/menu.pdf", "h8", access=EVERYONE)
    plan = make_plan(
        {old.path: indexed(old), public.path: indexed(public)},
        [now, public, sibling, beside_public],
        {old.doc_id, public.doc_id},
        {old.doc_id: [old.path], public.doc_id: [public.path]},
    )

    assert [f.path for f, _, _ in plan.held] == [now.path, sibling.path]
    assert plan.add == {beside_public.doc_id: [beside_public]}


def test_renaming_the_files_of_a_folder_whose_access_file_is_gone_is_held() -> None:
    old = found(f"{ROOT}/rrhh/despidos.pdf", "h1", access=RRHH)
    renamed = found(f"{ROOT}/rrhh/despidos-v2.pdf", "h1", access=EVERYONE)  # same bytes, access file deleted
    added = found(f"{ROOT}/rrhh/contratos/pedro.pdf", "h2", access=EVERYONE)  # and a new sub-folder
    plan = make_plan({old.path: indexed(old)}, [renamed, added], {old.doc_id}, {old.doc_id: [old.path]})

    assert [(f.path, r) for f, r, _ in plan.held] == [(renamed.path, None), (added.path, None)]
    assert "--allow-widen" in plan.held[0][2] and old.path in plan.held[0][2]
    assert plan.add == {} and plan.delete == set()
    # The old path keeps its record and document (under rrhh) while the copy is held.
    assert plan.removed_paths == set()

    allowed = make_plan(
        {old.path: indexed(old)}, [renamed, added], {old.doc_id}, {old.doc_id: [old.path]}, allow_widen=True
    )
    assert set(allowed.add) == {renamed.doc_id, added.doc_id} and allowed.delete == {old.doc_id}
    assert not allowed.held


def test_a_copy_or_move_of_restricted_bytes_into_a_wider_folder_is_held_run_after_run() -> None:
    ledger = Ledger()
    secret = found(f"{ROOT}/direccion/despidos.pdf", "h1", access="direccion")
    menu = found(f"{ROOT}/public/menu.pdf", "h2")
    copy = found(f"{ROOT}/public/faq.pdf", "h1")  # cp direccion/despidos.pdf public/faq.pdf
    first = ledger.sync(ROOT, [secret, menu, copy])  # both found in the same run
    assert [f.path for f, _, _ in first.held] == [copy.path]
    assert set(first.add) == {secret.doc_id, menu.doc_id}

    moved = ledger.sync(ROOT, [menu, copy])  # then the original is deleted: the copy is all that is left
    assert [f.path for f, _, _ in moved.held] == [copy.path] and moved.delete == set()
    assert ledger.source[secret.doc_id] == secret.path  # still indexed, still under direccion only
    again = ledger.sync(ROOT, [menu, copy])
    assert [f.path for f, _, _ in again.held] == [copy.path] and again.add == {}

    overwritten = found(f"{ROOT}/public/menu.pdf", "h1", mtime=2)  # a public file overwritten with the bytes
    plan = make_plan(ledger.under(ROOT), [overwritten], set(ledger.source), ledger.doc_paths())
    assert [f.path for f, _, _ in plan.held] == [overwritten.path]
    assert menu.doc_id not in plan.delete  # the public file's old document stays as it was


def test_a_copy_of_a_document_indexed_from_another_root_is_held() -> None:
    copy = found("/data/public/faq.pdf", "h1")
    plan = make_plan({}, [copy], {"d1"}, {"d1": ["/data/direccion/despidos.pdf"]}, known_keys={"h1": ["direccion"]})

    assert [f.path for f, _, _ in plan.held] == [copy.path] and plan.add == {}
    assert "indexed elsewhere" in plan.held[0][2]


def test_a_file_under_an_unreadable_access_file_keeps_its_document_and_its_label() -> None:
    old = found(f"{ROOT}/rrhh/nomina.pdf", access=RRHH)
    # The access file is emptied: the pipeline cannot label the file, so it is not among the scanned ones.
    broken = make_plan({old.path: indexed(old)}, [], {old.doc_id}, {old.doc_id: [old.path]}, unlabeled=[old.path])
    assert broken.removed_paths == set() and broken.delete == set()

    # Then it is deleted: the folder falls to the default, which is a widening of the kept record.
    now = found(old.path, access=EVERYONE)
    gone = make_plan({old.path: indexed(old)}, [now], {old.doc_id}, {old.doc_id: [old.path]})
    assert [f.path for f, _, _ in gone.held] == [now.path] and gone.add == {} and gone.delete == set()


def test_a_file_that_failed_under_a_narrow_label_is_not_parsed_under_a_wide_one() -> None:
    old = found(f"{ROOT}/rrhh/nomina.pdf", access=RRHH)
    now = found(old.path, access=EVERYONE)  # its access file is gone

    plan = make_plan({old.path: rejected(old)}, [now], set(), {}, retry_rejected=True)

    assert [f.path for f, _, _ in plan.held] == [now.path] and plan.add == {} and plan.retry == []


def test_a_sensitivity_change_alone_is_a_metadata_update() -> None:
    old = found(f"{ROOT}/nomina.pdf", access=RRHH)
    now = ScannedFile(old.path, old.size, old.mtime_ns, old.content_hash, RRHH, "confidential")
    plan = make_plan(
        {old.path: indexed(old)},
        [now],
        {old.doc_id},
        {old.doc_id: [old.path]},
        doc_sensitivity={old.doc_id: "internal"},
    )

    assert plan.resensitize == {old.doc_id: "confidential"}
    assert plan.relabeled_paths == {now.path} and plan.unchanged == []
    assert not plan.add and not plan.delete and not plan.relabel


def test_deleted_file_drops_its_document() -> None:
    old = found(f"{ROOT}/a.txt")
    plan = make_plan({old.path: indexed(old)}, [], {old.doc_id}, {old.doc_id: [old.path]})

    assert plan.delete == {old.doc_id}
    assert plan.removed_paths == {old.path}
    assert plan.add == {}


def test_deleting_one_of_two_copies_keeps_the_document() -> None:
    a = found(f"{ROOT}/a.txt")
    b = found(f"{ROOT}/b.txt")
    recorded = {a.path: indexed(a), b.path: indexed(b)}
    plan = make_plan(recorded, [b], {a.doc_id}, {a.doc_id: [a.path, b.path]})

    assert plan.delete == set()
    assert plan.removed_paths == {a.path}
    assert plan.resource == {a.doc_id: b.path}  # the citation moves to the surviving copy


def test_document_also_referenced_outside_the_scanned_roots_is_kept() -> None:
    inside = found(f"{ROOT}/a.txt")
    outside = "/data/other/a.txt"
    plan = make_plan({inside.path: indexed(inside)}, [], {inside.doc_id}, {inside.doc_id: [outside, inside.path]})

    assert plan.delete == set()
    assert plan.removed_paths == {inside.path}


def test_document_kept_by_an_outside_path_is_cited_from_that_path() -> None:
    """The cited path of a kept document must not be a file that was just deleted.

    /data/docs/a.txt (the cited, first-sorted path) is deleted; a copy lives on under
    /data/other, which is not scanned this time.
    """
    ledger = Ledger()
    ledger.sync("/data/other", [found("/data/other/a.txt")])
    ledger.sync("/data/docs", [found("/data/docs/a.txt")])
    doc = document_id("h1", EVERYONE)
    assert ledger.doc_paths()[doc] == ["/data/docs/a.txt", "/data/other/a.txt"]

    plan = ledger.sync("/data/docs", [])

    assert plan.delete == set()
    assert ledger.source[doc] == "/data/other/a.txt"


def test_citation_survives_deleting_the_first_scanned_copy() -> None:
    """Two identical files are added in scan order; deleting the cited one must re-point the citation.

    scan() walks folders depth-first with names sorted, so ``sub/x.txt`` ("sub" < "sub.txt")
    comes before ``sub.txt``, while the ledger sorts paths as strings ("sub.txt" < "sub/x.txt").
    """
    ledger = Ledger()
    first, second = found(f"{ROOT}/sub/x.txt"), found(f"{ROOT}/sub.txt")
    ledger.sync(ROOT, [first, second])  # the order scan() yields them in
    doc = first.doc_id
    cited = ledger.source[doc]

    remaining = [f for f in (first, second) if f.path != cited]
    ledger.sync(ROOT, remaining)

    assert ledger.source[doc] == remaining[0].path


def test_previously_rejected_unchanged_file_is_not_reparsed() -> None:
    f = found(f"{ROOT}/roto.pdf")
    record = rejected(f)
    plan = make_plan({f.path: record}, [f], set(), {})

    assert plan.add == {}
    assert plan.rejected_unchanged == [(f, record)]
    assert plan.retry == []
    assert plan.changes == 0


def test_previously_rejected_file_is_retried_on_request() -> None:
    f = found(f"{ROOT}/roto.pdf")
    plan = make_plan({f.path: rejected(f, "skipped", "Encrypted.")}, [f], set(), {}, retry_rejected=True)

    assert plan.add == {f.doc_id: [f]}
    assert plan.retry == [f]
    assert plan.rejected_unchanged == []


def test_previously_rejected_file_that_changed_is_parsed_again() -> None:
    old = found(f"{ROOT}/roto.pdf", "h1")
    fixed = found(f"{ROOT}/roto.pdf", "h2", mtime=2)
    plan = make_plan({old.path: rejected(old)}, [fixed], set(), {})

    assert plan.add == {fixed.doc_id: [fixed]}
    assert plan.rejected_unchanged == []
    assert plan.updated_paths == {fixed.path}


def test_rejected_file_that_disappeared_is_removed() -> None:
    old = found(f"{ROOT}/roto.pdf")
    plan = make_plan({old.path: rejected(old)}, [], set(), {})

    assert plan.removed_paths == {old.path}
    assert plan.delete == set()


def test_ledger_sync_twice_is_a_no_op() -> None:
    """Re-ingesting the same bytes changes nothing (deterministic ids)."""
    ledger = Ledger()
    files = [found(f"{ROOT}/a.txt", "h1"), found(f"{ROOT}/b.txt", "h2"), found(f"{ROOT}/c.txt", "h1")]
    first = ledger.sync(ROOT, files)
    second = ledger.sync(ROOT, files)

    assert len(first.add) == 2
    assert second.changes == 0
    assert sorted(f.path for f in second.unchanged) == [f.path for f in files]
