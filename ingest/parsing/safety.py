"""Checks that run before a zip-based file (docx, pptx, xlsx, odt) reaches any library.

Office libraries trust their input: a zip that inflates to gigabytes, or an XML part with a
recursive entity declaration, would exhaust memory inside them. These checks read only the zip
directory and the first few KB of each XML part.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from pathlib import Path

from ingest.errors import FileRejected, ParseFailure, SkipFile
from ingest.parsing.base import ParseOptions

OLE2_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
"""Compound File Binary: legacy .doc/.xls/.ppt, .msg, and password-protected OOXML."""

_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
_XML_HEAD_BYTES = 8192
_MAX_ENTRIES = 20_000
_RATIO_CHECK_FLOOR = 10 * 1024 * 1024
"""Below this total size the compression ratio is not checked: small files of zeros are fine."""
_INTERNAL_SUBSET = re.compile(rb"<!DOCTYPE[^>\[]*\[", re.IGNORECASE)


def rejection_for_ole2(path: Path, label: str) -> FileRejected:
    """Explain an OLE2 file found where a zip-based Office file was expected.

    Office wraps a password-protected .docx/.xlsx/.pptx in an OLE2 container with an
    ``EncryptedPackage`` stream; otherwise it is an old binary file with a new extension.
    """
    if _ENCRYPTED_PACKAGE in path.read_bytes():
        return SkipFile(f"The {label} file is password-protected; remove the password or ingest an unprotected copy.")
    return SkipFile(
        f"The file is an old binary Office document named like a {label} file; save it in the "
        "modern format and ingest that copy."
    )


def is_legacy_ole2(path: Path) -> bool:
    """True for an OLE2 file that is not an encrypted OOXML package: a legacy .doc/.xls/.ppt."""
    with path.open("rb") as handle:
        if handle.read(len(OLE2_MAGIC)) != OLE2_MAGIC:
            return False
    return _ENCRYPTED_PACKAGE not in path.read_bytes()


def _declares_entities(head: bytes) -> bool:
    # UTF-16 XML parts are legal; dropping NULs lets one byte pattern cover both.
    head = head.replace(b"\x00", b"")
    upper = head.upper()
    if b"<!DOCTYPE" not in upper:
        return False
    return b"<!ENTITY" in upper or bool(_INTERNAL_SUBSET.search(head))


def check_zip(path: Path, options: ParseOptions, label: str, *, scan_xml: bool = True) -> None:
    """Refuse a zip package that is not a zip, is encrypted, or looks like a bomb.

    Args:
        path: The file on disk.
        options: Supplies the uncompressed-size and compression-ratio caps.
        label: How to name the format in messages ("Word (.docx)").
        scan_xml: Refuse XML parts that declare entities (Office packages never do; a generic
            archive's XML members are checked by the XML parser instead).

    Raises:
        SkipFile: The package is password-protected.
        ParseFailure: It is not a valid zip, inflates past the caps, or an XML part declares
            entities.
    """
    with path.open("rb") as handle:
        if handle.read(len(OLE2_MAGIC)) == OLE2_MAGIC:
            raise rejection_for_ole2(path, label)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as e:
        raise ParseFailure(
            f"The {label} file is damaged (it is not a readable zip package); open and re-save "
            "it in its application, or ingest a fresh copy."
        ) from e
    with archive:
        infos = archive.infolist()
        total = sum(info.file_size for info in infos)
        compressed = sum(info.compress_size for info in infos)
        ratio = total / max(compressed, 1)
        too_big = total > options.max_uncompressed_bytes
        too_dense = total > _RATIO_CHECK_FLOOR and ratio > options.max_compression_ratio
        if too_big or too_dense or len(infos) > _MAX_ENTRIES:
            raise ParseFailure(
                f"The {label} file would expand to {total / 2**20:,.0f} MB across {len(infos)} "
                "entries, which looks like a zip bomb; check where it came from before "
                "ingesting it."
            )
        if any(info.flag_bits & 0x1 for info in infos):
            raise SkipFile(
                f"The {label} file is password-protected; remove the password or ingest an unprotected copy."
            )
        for info in infos if scan_xml else []:
            if not info.filename.lower().endswith((".xml", ".rels")):
                continue
            try:
                with archive.open(info) as part:
                    head = part.read(_XML_HEAD_BYTES)
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as e:
                raise ParseFailure(
                    f"The {label} file is damaged (part {info.filename} cannot be unpacked); "
                    "open and re-save it in its application, or ingest a fresh copy."
                ) from e
            if _declares_entities(head):
                raise ParseFailure(
                    f"The {label} file contains XML entity declarations, which Office files never "
                    "use (possible entity bomb); check where it came from before ingesting it."
                )
