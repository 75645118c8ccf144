"""Walk the folders to ingest: the files found, and the ones that cannot be read, with why.

Every file is reported by its real path (symbolic links resolved), so one file is one document
whatever root or link it was reached from, and its access comes from the folders it really lives
in. Links are not followed unless asked; a followed link must resolve inside the root being
walked. A file with several hard links is never read: it has no one real folder to take its
access from, and the path fence cannot see that it is also Fuente's users file or a restricted
document elsewhere. Nothing under a forbidden path (Fuente's own home, the users file, the app's secrets) is
ever yielded, whatever the configuration.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

SECRETS_FOLDER = ".streamlit"
"""Streamlit keeps the app's secrets (OIDC client secret, cookie secret) in a folder of this name."""


@dataclass(frozen=True)
class FoundFile:
    path: Path
    """Absolute real path: symbolic links resolved."""
    root: Path
    """The real path of the root it was found under (its folder, for a file given as a root)."""
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Unreachable:
    path: Path
    reason: str


def _excluded(name: str, patterns: list[str], sidecar: str) -> bool:
    return name == sidecar or any(fnmatch.fnmatch(name, p) for p in patterns)


def real(path: Path) -> Path:
    return Path(os.path.realpath(os.path.abspath(path.expanduser())))


@dataclass(frozen=True)
class Fence:
    """Paths never read: ``forbidden`` and everything below them, except below one of ``allowed``."""

    forbidden: tuple[Path, ...] = ()
    allowed: tuple[Path, ...] = ()

    @classmethod
    def of(cls, forbidden: Sequence[Path], allowed: Sequence[Path] = ()) -> Fence:
        return cls(tuple(real(p) for p in forbidden), tuple(real(p) for p in allowed))

    def refuses(self, path: Path) -> bool:
        if SECRETS_FOLDER in path.parts:
            return True
        if any(path.is_relative_to(a) or a.is_relative_to(path) for a in self.allowed):
            return False  # an allowed folder, something in it, or a folder on the way to it (walked, then fenced)
        return any(path.is_relative_to(f) for f in self.forbidden)


def _hard_linked(path: Path, links: int) -> Unreachable:
    return Unreachable(
        path,
        f"{path} has {links} hard links (one file in several folders), so who may see it cannot be told from its "
        "folder; it was not read: replace the links by copies.",
    )


def _refused(path: Path) -> Unreachable:
    return Unreachable(
        path, f"{path} is part of Fuente's own data or secrets (its home, users file or app secrets); it is never read."
    )


def scan(
    roots: list[Path],
    *,
    exclude: list[str],
    sidecar: str,
    follow_symlinks: bool = False,
    fence: Fence | None = None,
) -> Iterator[FoundFile | Unreachable]:
    """Yield every candidate file under ``roots`` (files may be roots too), in sorted order, once each.

    Symbolic-link loops, broken links, links out of their root, links when links are not followed,
    forbidden paths and unreadable folders are yielded as ``Unreachable`` with a one-sentence reason
    instead of stopping the walk.
    """
    fence = fence or Fence()
    yielded: set[Path] = set()
    for given in roots:
        root = real(given)
        if fence.refuses(root):
            yield _refused(Path(os.path.abspath(given.expanduser())))
            continue
        if root.is_file():
            if root not in yielded:
                yielded.add(root)
                st = root.stat()
                if st.st_nlink > 1:
                    yield _hard_linked(root, st.st_nlink)
                    continue
                yield FoundFile(root, root.parent, st.st_size, st.st_mtime_ns)
            continue
        if not root.is_dir():
            yield Unreachable(root, f"{root} does not exist or is not a folder; check the path.")
            continue
        walk = _Walk(root, exclude, sidecar, follow_symlinks, fence, yielded)
        yield from walk.folder(root, set())


@dataclass
class _Walk:
    root: Path
    exclude: list[str]
    sidecar: str
    follow: bool
    fence: Fence
    yielded: set[Path]

    def folder(
        self, folder: Path, seen: set[tuple[int, int]], reached: Path | None = None
    ) -> Iterator[FoundFile | Unreachable]:
        shown = reached or folder
        try:
            st = folder.stat()
        except OSError as e:
            yield Unreachable(shown, f"The folder {shown} cannot be read ({e.strerror}); check its permissions.")
            return
        identity = (st.st_dev, st.st_ino)
        if identity in seen:
            yield Unreachable(
                shown, f"{shown} links back to a folder above it (a symbolic-link loop); it was not followed."
            )
            return
        seen = seen | {identity}
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as e:
            yield Unreachable(folder, f"The folder {folder} cannot be listed ({e.strerror}); check its permissions.")
            return
        for entry in entries:
            if _excluded(entry.name, self.exclude, self.sidecar):
                continue
            yield from self.entry(Path(entry.path), entry, seen)

    def entry(
        self, path: Path, entry: os.DirEntry[str], seen: set[tuple[int, int]]
    ) -> Iterator[FoundFile | Unreachable]:
        try:
            target = path
            if entry.is_symlink():
                if not self.follow:
                    yield Unreachable(
                        path, f"{path} is a symbolic link; links are not followed (ingest.follow_symlinks is off)."
                    )
                    return
                target = real(path)
                if not target.is_relative_to(self.root):
                    yield Unreachable(
                        path,
                        f"{path} is a symbolic link to {target}, outside the ingested folder; it was not followed.",
                    )
                    return
                if not target.exists():
                    yield Unreachable(path, f"{path} is a broken or looping symbolic link; fix or remove it.")
                    return
                if _excluded(target.name, self.exclude, self.sidecar):
                    return
            if self.fence.refuses(target):
                yield _refused(path)
                return
            if target.is_dir():
                yield from self.folder(target, seen, path)
            elif target.is_file():
                if target in self.yielded:
                    return  # the same file reached again (through a link inside the root)
                self.yielded.add(target)
                est = target.stat()
                if est.st_nlink > 1:
                    yield _hard_linked(path, est.st_nlink)
                    return
                yield FoundFile(target, self.root, est.st_size, est.st_mtime_ns)
            elif entry.is_symlink():
                yield Unreachable(path, f"{path} is a broken or looping symbolic link; fix or remove it.")
        except OSError as e:
            yield Unreachable(path, f"{path} cannot be read ({e.strerror}); check its permissions.")
