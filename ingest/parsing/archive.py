"""ZIP archives: every member is parsed as a document of its own, named by its path in the archive.

The registry has already checked the archive against the zip-bomb limits (total uncompressed size,
compression ratio, entry count) before this runs. Members go through ``parse_bytes`` one level
deeper, so an archive inside an archive (or inside an e-mail) is bounded by
``max_attachment_depth``, and every member gets the size limit of a file on disk. Each member's
blocks carry the member path as their part, and its own title, so chunks never mix two members
and citations name the member.
"""

from __future__ import annotations

import dataclasses
import posixpath
import zipfile
from pathlib import Path

from ingest.errors import FileRejected, SkipFile
from ingest.parsing.context import ParseContext
from ingest.parsing.registry import parse_bytes
from rag.types import Block, ParsedFile

_JUNK_DIRS = ("__MACOSX/",)
_JUNK_NAMES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
_ONLY = "The ZIP archive's only file"


def _member_name(info: zipfile.ZipInfo) -> str:
    # Archives made on Windows may use backslashes; a leading slash or '..' must not look like a path out.
    name = info.filename.replace("\\", "/")
    parts = [p for p in name.split("/") if p not in ("", ".", "..")]
    return "/".join(parts)


def parse_zip(path: Path, ctx: ParseContext) -> ParsedFile:
    """Parse each member of a ZIP archive; unsupported or broken members are noted, not fatal.

    Raises:
        SkipFile: No member could be ingested.
    """
    options = ctx.options
    blocks: list[Block] = []
    notes: list[str] = []
    parsed_members = 0
    rejected: list[tuple[str, str]] = []
    with zipfile.ZipFile(path) as archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        members = [
            (info, _member_name(info))
            for info in infos
            if not info.filename.startswith(_JUNK_DIRS) and posixpath.basename(info.filename) not in _JUNK_NAMES
        ]
        members = [(info, name) for info, name in members if name and not posixpath.basename(name).startswith(".")]
        if len(members) > options.max_archive_members:
            notes.append(
                f"The archive has {len(members)} files; only the first {options.max_archive_members} were ingested."
            )
            members = members[: options.max_archive_members]
        for info, name in members:
            if info.file_size > options.max_file_bytes:
                notes.append(f"'{name}' was not ingested: it is over the file size limit.")
                continue
            try:
                parsed = parse_bytes(name, archive.read(info), options, depth=ctx.depth + 1)
            except FileRejected as e:
                notes.append(f"'{name}' was not ingested: {e.reason}")
                rejected.append((name, e.reason))
                continue
            parsed_members += 1
            notes += [f"'{name}': {note}" for note in parsed.notes]
            blocks += [
                dataclasses.replace(
                    block,
                    part=f"{name}/{block.part}" if block.part else name,
                    part_title=block.part_title or parsed.title,
                )
                for block in parsed.blocks
            ]
    if not members:
        raise SkipFile("The ZIP archive is empty (it holds no files); nothing was ingested.")
    if not blocks and len(rejected) == 1 == len(members):
        # Say why rather than "unpack it to see"; through nested archives, the innermost reason.
        name, reason = rejected[0]
        raise SkipFile(reason if reason.startswith(_ONLY) else f"{_ONLY}, '{name}', was not ingested: {reason}")
    if not blocks:
        raise SkipFile(
            f"None of the {len(members)} files in the ZIP archive holds text that could be ingested; unpack it to "
            "see each file's reason."
        )
    return ParsedFile(title=ctx.stem, blocks=tuple(blocks), format="zip", notes=tuple(notes))
