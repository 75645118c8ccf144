"""Tests for ingest.scan.scan: what is found, what is skipped, and what is reported unreachable."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ingest.scan import Fence, FoundFile, Unreachable, scan
from rag.settings import IngestSettings

EXCLUDE = IngestSettings().exclude
SIDECAR = "_access.yaml"


def touch(path: Path, text: str = "x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def run(roots: list[Path], *, follow_symlinks: bool = True) -> list[FoundFile | Unreachable]:
    return list(scan(roots, exclude=EXCLUDE, sidecar=SIDECAR, follow_symlinks=follow_symlinks))


def found(items: list[FoundFile | Unreachable]) -> list[Path]:
    return [i.path for i in items if isinstance(i, FoundFile)]


def unreachable(items: list[FoundFile | Unreachable]) -> list[Unreachable]:
    return [i for i in items if isinstance(i, Unreachable)]


def test_files_come_out_in_sorted_order_with_size_and_root(tmp_path: Path) -> None:
    names = ["b.txt", "a.txt", "Z.pdf", "sub/c.docx", "sub/a.md", "sub/deeper/e.txt", "m/n.txt"]
    for name in names:
        touch(tmp_path / name, "hola")

    items = run([tmp_path])

    paths = found(items)
    assert paths == sorted(tmp_path / n for n in names)
    assert not unreachable(items)
    assert all(i.root == tmp_path and i.size == 4 for i in items if isinstance(i, FoundFile))


def test_scan_twice_gives_the_same_order(tmp_path: Path) -> None:
    for i in range(20):
        touch(tmp_path / f"d{i % 3}" / f"f{(i * 7) % 20}.txt")
    assert found(run([tmp_path])) == found(run([tmp_path]))


@pytest.mark.parametrize("name", [".oculto", "~$informe.docx", SIDECAR, "temp.tmp", "Thumbs.db"])
def test_excluded_names_are_skipped(tmp_path: Path, name: str) -> None:
    keep = touch(tmp_path / "informe.docx")
    touch(tmp_path / name)
    touch(tmp_path / "sub" / name)

    assert found(run([tmp_path])) == [keep]


def test_hidden_folders_are_not_entered(tmp_path: Path) -> None:
    keep = touch(tmp_path / "a.txt")
    touch(tmp_path / ".git" / "config")
    touch(tmp_path / ".cache" / "x.txt")

    assert found(run([tmp_path])) == [keep]


def test_symlink_loop_is_reported_and_the_walk_finishes(tmp_path: Path) -> None:
    folder = tmp_path / "dir"
    a = touch(folder / "a.txt")
    (folder / "link").symlink_to(folder, target_is_directory=True)
    z = touch(tmp_path / "z.txt")  # after the loop in walk order

    items = run([tmp_path])

    assert found(items) == [a, z]
    (loop,) = unreachable(items)
    assert loop.path == folder / "link"
    assert "loop" in loop.reason


def test_link_to_an_ancestor_is_reported(tmp_path: Path) -> None:
    a = touch(tmp_path / "sub" / "deep" / "a.txt")
    (tmp_path / "sub" / "deep" / "up").symlink_to(tmp_path, target_is_directory=True)

    items = run([tmp_path])

    assert found(items) == [a]
    assert [u.path for u in unreachable(items)] == [tmp_path / "sub" / "deep" / "up"]


def test_broken_symlink_is_reported(tmp_path: Path) -> None:
    keep = touch(tmp_path / "a.txt")
    (tmp_path / "roto.pdf").symlink_to(tmp_path / "no-existe.pdf")

    items = run([tmp_path])

    assert found(items) == [keep]
    (broken,) = unreachable(items)
    assert broken.path == tmp_path / "roto.pdf"
    assert broken.reason.strip()


def test_link_out_of_the_root_is_not_followed_even_when_following(tmp_path: Path) -> None:
    target = touch(tmp_path / "elsewhere" / "real.txt", "hola")
    root = tmp_path / "docs"
    keep = touch(root / "a.txt")
    (root / "alias.txt").symlink_to(target)
    (root / "linked-dir").symlink_to(target.parent, target_is_directory=True)

    items = run([root], follow_symlinks=True)

    assert found(items) == [keep]
    assert sorted(u.path for u in unreachable(items)) == [root / "alias.txt", root / "linked-dir"]
    assert all("outside" in u.reason for u in unreachable(items))


def test_followed_link_inside_the_root_is_reported_by_its_real_path_once(tmp_path: Path) -> None:
    target = touch(tmp_path / "direccion" / "despidos.md", "secreto")
    (tmp_path / "public").mkdir()
    (tmp_path / "public" / "faq.md").symlink_to(target)

    items = run([tmp_path], follow_symlinks=True)

    assert found(items) == [target]  # the real path: its access comes from direccion/, not public/
    assert not unreachable(items)


def test_links_are_not_followed_by_default(tmp_path: Path) -> None:
    target = touch(tmp_path / "direccion" / "despidos.md")
    (tmp_path / "public").mkdir()
    (tmp_path / "public" / "faq.md").symlink_to(target)

    items = list(scan([tmp_path / "public"], exclude=EXCLUDE, sidecar=SIDECAR))

    assert found(items) == []
    assert [u.path for u in unreachable(items)] == [tmp_path / "public" / "faq.md"]
    assert IngestSettings().follow_symlinks is False


def test_fuente_home_users_file_and_app_secrets_are_never_read(tmp_path: Path) -> None:
    home = tmp_path / "home"
    touch(home / "users.yaml", "users: {}")
    touch(home / "fuente.db")
    upload = touch(home / "uploads" / "everyone-internal" / "menu.txt")
    root = tmp_path / "docs"
    keep = touch(root / "a.txt")
    touch(root / ".streamlit" / "secrets.toml", "cookie_secret = 'x'")
    (root / "users.md").symlink_to(home / "users.yaml")
    (root / "homedir").symlink_to(home, target_is_directory=True)
    (root / "secrets.md").symlink_to(root / ".streamlit" / "secrets.toml")
    fence = Fence.of([home, home / "users.yaml"], [home / "uploads"])

    def walk(roots: list[Path], **kw: object) -> list[FoundFile | Unreachable]:
        return list(scan(roots, exclude=[], sidecar=SIDECAR, fence=fence, **kw))  # type: ignore[arg-type]

    everything = walk([root, home, home / "users.yaml"], follow_symlinks=True)
    assert sorted(found(everything)) == sorted([keep, upload])
    refused = {u.path for u in unreachable(everything)}
    assert {home / "users.yaml", home / "fuente.db", root / "users.md", root / "secrets.md"} <= refused


def test_a_hard_link_is_never_read_whether_walked_or_given(tmp_path: Path) -> None:
    home = tmp_path / "home"
    users = touch(home / "users.yaml", "users: {ana: {password_hash: '$2b$12$x'}}")
    root = tmp_path / "docs"
    secret = touch(root / "direccion" / "despidos.md", "lista de despidos")
    keep = touch(root / "public" / "menu.md", "menú")
    os.link(secret, root / "public" / "faq.md")  # the restricted document, in the public folder
    os.link(users, root / "public" / "users.md")  # the users file, past the path fence
    fence = Fence.of([home, users])

    for follow in (False, True):
        items = list(scan([root], exclude=EXCLUDE, sidecar=SIDECAR, follow_symlinks=follow, fence=fence))
        assert found(items) == [keep]
        skipped = {u.path: u.reason for u in unreachable(items)}
        assert set(skipped) == {secret, root / "public" / "faq.md", root / "public" / "users.md"}
        assert all("hard links" in reason for reason in skipped.values())
    given = run([root / "public" / "users.md"])
    assert found(given) == [] and "hard links" in unreachable(given)[0].reason


def test_symlinks_are_skipped_when_not_followed(tmp_path: Path) -> None:
    target = touch(tmp_path / "elsewhere" / "real.txt")
    root = tmp_path / "docs"
    keep = touch(root / "a.txt")
    (root / "alias.txt").symlink_to(target)
    (root / "linked-dir").symlink_to(target.parent, target_is_directory=True)

    assert found(run([root], follow_symlinks=False)) == [keep]


def test_missing_root_is_reported(tmp_path: Path) -> None:
    missing = tmp_path / "no-existe"
    keep = touch(tmp_path / "ok" / "a.txt")

    items = run([missing, tmp_path / "ok"])

    assert found(items) == [keep]  # the other root is still walked
    (u,) = unreachable(items)
    assert u.path == missing
    assert str(missing) in u.reason


def test_file_given_as_root_is_yielded(tmp_path: Path) -> None:
    f = touch(tmp_path / "solo.pdf", "12345")

    (item,) = run([f])

    assert isinstance(item, FoundFile)
    assert item.path == f
    assert item.root == tmp_path
    assert item.size == 5


def test_relative_root_gives_absolute_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    touch(tmp_path / "docs" / "a.txt")
    monkeypatch.chdir(tmp_path)

    (item,) = run([Path("docs")])

    assert isinstance(item, FoundFile)
    assert item.path == tmp_path / "docs" / "a.txt"
    assert item.path.is_absolute()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every folder regardless of permissions")
def test_unreadable_folder_is_reported(tmp_path: Path) -> None:
    keep = touch(tmp_path / "a.txt")
    locked = tmp_path / "cerrado"
    touch(locked / "b.txt")
    locked.chmod(0)
    try:
        items = run([tmp_path])
    finally:
        locked.chmod(0o755)

    assert found(items) == [keep]
    assert [u.path for u in unreachable(items)] == [locked]
