"""Walk the folders to ingest: the files found, and the ones that cannot be read, with why."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class FoundFile:
    path: Path
    """Absolute path as reached (not resolved), so a file behind a link keeps its link name."""
    root: Path
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Unreachable:
    path: Path
    reason: str


def _excluded(name: str, patterns: list[str], sidecar: str) -> bool:
    return name == sidecar or any(fnmatch.fnmatch(name, p) for p in patterns)


def scan(
    roots: list[Path], *, exclude: list[str], sidecar: str, follow_symlinks: bool = True
) -> Iterator[FoundFile | Unreachable]:
    """Yield every candidate file under ``roots`` (files may be roots too), in sorted order.

    Symbolic-link loops, broken links and unreadable folders are yielded as ``Unreachable``
    with a one-sentence reason instead of stopping the walk.
    """
    for root in roots:
        root = Path(os.path.abspath(root.expanduser()))
        if root.is_file():
            st = root.stat()
            yield FoundFile(root, root.parent, st.st_size, st.st_mtime_ns)
            continue
        if not root.is_dir():
            yield Unreachable(root, f"{root} does not exist or is not a folder; check the path.")
            continue
        yield from _walk(root, root, exclude, sidecar, follow_symlinks, set())


def _walk(
    root: Path, folder: Path, exclude: list[str], sidecar: str, follow: bool, seen: set[tuple[int, int]]
) -> Iterator[FoundFile | Unreachable]:
    try:
        st = folder.stat()
    except OSError as e:
        yield Unreachable(folder, f"The folder {folder} cannot be read ({e.strerror}); check its permissions.")
        return
    identity = (st.st_dev, st.st_ino)
    if identity in seen:
        yield Unreachable(
            folder, f"{folder} links back to a folder above it (a symbolic-link loop); it was not followed."
        )
        return
    seen = seen | {identity}
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as e:
        yield Unreachable(folder, f"The folder {folder} cannot be listed ({e.strerror}); check its permissions.")
        return
    for entry in entries:
        if _excluded(entry.name, exclude, sidecar):
            continue
        path = Path(entry.path)
        try:
            if entry.is_symlink() and not follow:
                continue
            if entry.is_dir(follow_symlinks=True):
                yield from _walk(root, path, exclude, sidecar, follow, seen)
            elif entry.is_file(follow_symlinks=True):
                est = entry.stat(follow_symlinks=True)
                yield FoundFile(path, root, est.st_size, est.st_mtime_ns)
            elif entry.is_symlink():
                yield Unreachable(path, f"{path} is a broken or looping symbolic link; fix or remove it.")
        except OSError as e:
            yield Unreachable(path, f"{path} cannot be read ({e.strerror}); check its permissions.")
