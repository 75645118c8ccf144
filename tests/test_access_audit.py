"""Issue 11, more attacks found by an audit run as a new user would: hard links, and restricted bytes
copied, moved or renamed into a folder that more groups see. Real pipeline, real packaged embedder,
embedded Chroma and BM25, checked through ``fuente search``'s code path.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from rag.settings import Settings
from rag.users import add_user, users_file
from tests.conftest import SettingsFactory
from tests.test_access_attacks import CANARY, TEXT, access, all_text, ingest, leaked, write

pytestmark = pytest.mark.integration

MENU = "# Menú\n\nEl comedor abre a las 13:00 todos los días laborables.\n"


@pytest.fixture
def settings(make_settings: SettingsFactory) -> Settings:
    return make_settings(retrieval={"translate_query": False})


def held(summary: Any) -> dict[str, str]:
    return {Path(f.path).name: f.reason or "" for f in summary.files if f.status == "held"}


def test_a_hard_link_gives_neither_a_restricted_document_nor_the_users_file_to_everyone(
    settings: Settings, embedder: Any, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    access(docs / "direccion", ["direccion"], "restricted")
    secret = write(docs / "direccion" / "despidos.md", TEXT)
    write(docs / "public" / "menu.md", MENU)
    add_user(settings, "ana", password="pw-ana-CANARIO-USERS", groups=frozenset({"direccion"}))
    os.link(secret, docs / "public" / "faq.md")  # the path fence and the folder's label see only this path
    os.link(users_file(settings), docs / "public" / "usuarios.md")

    summary = ingest(settings, embedder, docs)

    assert [Path(f.path).name for f in summary.files if f.status == "added"] == ["menu.md"]
    skipped = {Path(f.path).name for f in summary.files if "hard links" in (f.reason or "")}
    assert skipped == {"despidos.md", "faq.md", "usuarios.md"}
    assert not leaked(settings, embedder, set()) and not leaked(settings, embedder, {"direccion"})
    text = all_text(settings)
    assert CANARY not in text and "$2b$" not in text and "CANARIO-USERS" not in text


def test_restricted_bytes_moved_into_the_public_folder_are_held_until_allowed(
    settings: Settings, embedder: Any, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    access(docs / "direccion", ["direccion"], "restricted")
    secret = write(docs / "direccion" / "despidos.md", TEXT)
    write(docs / "public" / "menu.md", MENU)
    ingest(settings, embedder, docs)

    moved = secret.rename(docs / "public" / "faq.md")  # by someone who could read it, or by mistake
    for _ in range(2):  # and it stays held run after run: the restricted bytes are not forgotten
        summary = ingest(settings, embedder, docs)
        assert list(held(summary)) == ["faq.md"] and str(secret) in held(summary)["faq.md"]
        assert summary.counts["added"] == 0
        assert not leaked(settings, embedder, set())
        (hit,) = leaked(settings, embedder, {"direccion"})
        assert hit.groups == ["direccion"] and hit.sensitivity == "restricted"

    summary = ingest(settings, embedder, docs, allow_widen=True)
    assert summary.counts["held"] == 0 and summary.counts["added"] == 1
    (hit,) = leaked(settings, embedder, set())
    assert hit.source == str(moved) and hit.groups == ["everyone"]


def test_renaming_files_or_adding_a_sub_folder_after_an_access_file_is_deleted_is_held(
    settings: Settings, embedder: Any, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    sidecar = access(docs / "rrhh", ["rrhh"])
    payslip = write(docs / "rrhh" / "nominas" / "enero.md", TEXT)
    write(docs / "public" / "menu.md", MENU)
    ingest(settings, embedder, docs)

    sidecar.unlink()  # the folder falls to the default (everyone), and in the same run:
    payslip.rename(payslip.with_name("enero-v2.md"))  # its files are renamed
    write(docs / "rrhh" / "contratos" / "pedro.md", TEXT.replace(CANARY, "CANARIO-CONTRATO-3141"))  # a new sub-folder
    write(docs / "public" / "horario.md", "# Horario\n\nLa oficina abre de 9:00 a 17:00.\n")  # beside public files

    summary = ingest(settings, embedder, docs)

    assert sorted(held(summary)) == ["enero-v2.md", "pedro.md"]
    assert [Path(f.path).name for f in summary.files if f.status == "added"] == ["horario.md"]
    assert not leaked(settings, embedder, set()) and not leaked(settings, embedder, set(), "CANARIO-CONTRATO-3141")
    assert len(leaked(settings, embedder, {"rrhh"})) == 1  # the payslip keeps its label meanwhile


def test_an_access_file_broken_then_deleted_does_not_widen_its_folder(
    settings: Settings, embedder: Any, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    sidecar = access(docs / "rrhh", ["rrhh"])
    write(docs / "rrhh" / "despidos.md", TEXT)
    ingest(settings, embedder, docs)

    sidecar.write_text("", encoding="utf-8")  # emptied (or a typo): its files fail, and keep their label
    summary = ingest(settings, embedder, docs)
    assert summary.counts["failed"] == 1 and summary.counts["deleted"] == 0
    assert len(leaked(settings, embedder, {"rrhh"})) == 1 and not leaked(settings, embedder, set())

    sidecar.unlink()  # then "fixed" by deleting it: a widening, held, not a new file for everyone
    summary = ingest(settings, embedder, docs)
    assert list(held(summary)) == ["despidos.md"] and summary.counts["added"] == 0
    assert not leaked(settings, embedder, set())
