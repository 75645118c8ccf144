"""Choosing a parser for a file, and the guarantees every parse gives its caller.

Whatever happens inside a third-party library, a caller gets a ``ParsedFile`` with at least one
block, or a ``SkipFile``/``ParseFailure`` whose reason is one sentence for the knowledge manager.
"""

from __future__ import annotations

import importlib
import tempfile
from pathlib import Path, PurePath

from ingest.errors import FileRejected, IngestError, ParseFailure, SkipFile
from ingest.parsing.base import ParseOptions
from ingest.parsing.context import ParseContext, Parser
from ingest.parsing.safety import check_zip, is_legacy_ole2
from rag.types import ParsedFile

_FORMAT_BY_SUFFIX: dict[str, str] = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".pptx": "pptx",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".csv": "csv",
    ".tsv": "csv",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".md": "md",
    ".markdown": "md",
    ".txt": "txt",
    ".text": "txt",
    ".log": "txt",
    ".eml": "eml",
    ".msg": "msg",
    ".odt": "odt",
    ".doc": "doc",
    ".dot": "doc",
    ".rtf": "rtf",
    ".xls": "xls",
    ".ppt": "ppt",
    ".pps": "ppt",
    ".odp": "odp",
    ".ods": "ods",
    ".epub": "epub",
    ".zip": "zip",
    ".xml": "xml",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".png": "image",
    ".jpg": "image",
    ".jpeg": "image",
    ".tif": "image",
    ".tiff": "image",
    ".bmp": "image",
    ".gif": "image",
    ".webp": "image",
}

SUPPORTED_SUFFIXES: frozenset[str] = frozenset(_FORMAT_BY_SUFFIX)

# format -> (module, function). Imported on first use so that listing a folder does not load
# pypdf, python-pptx, openpyxl and friends.
_PARSERS: dict[str, tuple[str, str]] = {
    "pdf": ("ingest.parsing.pdf", "parse_pdf"),
    "docx": ("ingest.parsing.word", "parse_docx"),
    "pptx": ("ingest.parsing.slides", "parse_pptx"),
    "xlsx": ("ingest.parsing.sheets", "parse_xlsx"),
    "csv": ("ingest.parsing.sheets", "parse_csv"),
    "html": ("ingest.parsing.html_page", "parse_html"),
    "md": ("ingest.parsing.plain_text", "parse_markdown"),
    "txt": ("ingest.parsing.plain_text", "parse_text"),
    "eml": ("ingest.parsing.mail", "parse_eml"),
    "msg": ("ingest.parsing.mail", "parse_msg"),
    "odt": ("ingest.parsing.odt", "parse_odt"),
    "doc": ("ingest.parsing.legacy", "parse_doc"),
    "rtf": ("ingest.parsing.legacy", "parse_rtf"),
    "xls": ("ingest.parsing.legacy", "parse_xls"),
    "ppt": ("ingest.parsing.legacy", "parse_ppt"),
    "odp": ("ingest.parsing.legacy", "parse_odp"),
    "ods": ("ingest.parsing.legacy", "parse_ods"),
    "epub": ("ingest.parsing.epub", "parse_epub"),
    "zip": ("ingest.parsing.archive", "parse_zip"),
    "xml": ("ingest.parsing.xml_text", "parse_xml"),
    "json": ("ingest.parsing.json_text", "parse_json"),
    "jsonl": ("ingest.parsing.json_text", "parse_jsonl"),
    "image": ("ingest.parsing.image", "parse_image"),
}

LABELS: dict[str, str] = {
    "pdf": "PDF",
    "docx": "Word (.docx)",
    "pptx": "PowerPoint (.pptx)",
    "xlsx": "Excel (.xlsx)",
    "csv": "CSV",
    "html": "HTML",
    "md": "Markdown",
    "txt": "text",
    "eml": "e-mail (.eml)",
    "msg": "Outlook (.msg)",
    "odt": "OpenDocument (.odt)",
    "doc": "Word 97-2003 (.doc)",
    "rtf": "RTF",
    "xls": "Excel 97-2003 (.xls)",
    "ppt": "PowerPoint 97-2003 (.ppt)",
    "odp": "OpenDocument presentation (.odp)",
    "ods": "OpenDocument spreadsheet (.ods)",
    "epub": "EPUB",
    "zip": "ZIP archive",
    "xml": "XML",
    "json": "JSON",
    "jsonl": "JSON Lines",
    "image": "image",
}

_ZIP_FORMATS = frozenset({"docx", "pptx", "xlsx", "odt", "odp", "ods", "epub", "zip"})
_LEGACY_OF = {"docx": "doc", "xlsx": "xls", "pptx": "ppt"}
_EXTRA = "extra"
"""Format name of a parser added by settings (``ingest.parsers``)."""


def _extra_parser(name: str, options: ParseOptions) -> str | None:
    suffix = PurePath(name).suffix.lower()
    for extra_suffix, target in options.extra_parsers:
        if extra_suffix.lower() == suffix:
            return target
    return None


def _format_of(name: str, options: ParseOptions | None = None) -> str:
    if options is not None and _extra_parser(name, options) is not None:
        return _EXTRA
    suffix = PurePath(name).suffix.lower()
    fmt = _FORMAT_BY_SUFFIX.get(suffix)
    if fmt is None:
        kind = f"'{suffix}'" if suffix else "without an extension"
        raise SkipFile(
            f"Files of type {kind} are not supported; convert it to PDF, Word, Markdown or text to ingest it."
        )
    return fmt


def label_for(name: str) -> str:
    """How messages name the format of a file called ``name`` ("PDF", "Word (.docx)")."""
    fmt = _FORMAT_BY_SUFFIX.get(PurePath(name).suffix.lower())
    return LABELS[fmt] if fmt else (PurePath(name).suffix.lstrip(".").upper() or "file")


def _load(fmt: str, name: str = "", options: ParseOptions | None = None) -> Parser:
    """Import a parser on first use.

    Raises:
        IngestError: The parser's library is missing: an installation fault that would fail
            every file of the format, so it stops the job instead of marking files as broken.
    """
    if fmt == _EXTRA:
        assert options is not None
        target = _extra_parser(name, options) or ""
        module, _, function = target.partition(":")
        label = f"'{PurePath(name).suffix}' parser ({target})"
    else:
        module, function = _PARSERS[fmt]
        label = f"{LABELS[fmt]} parser"
    try:
        parser: Parser = getattr(importlib.import_module(module), function)
    except (ImportError, AttributeError, ValueError) as e:
        raise IngestError(f"The {label} cannot be loaded ({e}); reinstall Fuente with its dependencies.") from e
    return parser


def _human(size: int) -> str:
    return f"{size / 2**20:,.1f} MB" if size >= 2**20 else f"{size / 1024:,.1f} KB"


def _check_size(size: int, options: ParseOptions) -> None:
    if size > options.max_file_bytes:
        raise SkipFile(
            f"The file is {_human(size)}, over the {_human(options.max_file_bytes)} limit; split "
            "it or raise the size limit in the settings."
        )
    if size == 0:
        raise SkipFile("The file is empty (0 bytes); add content or remove it from the folder.")


def _parse_path(path: Path, ctx: ParseContext) -> ParsedFile:
    fmt = _format_of(ctx.name, ctx.options)
    label = label_for(ctx.name)
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:  # fail here, clearly, if we may not read it
            handle.read(1)
    except OSError as e:
        raise ParseFailure(
            "The file could not be read from disk; check that it still exists and that Fuente "
            "has permission to read it."
        ) from e
    _check_size(size, ctx.options)
    if fmt in _LEGACY_OF and is_legacy_ole2(path):
        # An old binary file saved under a new name (report.doc renamed report.docx): read it as what it is.
        fmt = _LEGACY_OF[fmt]
    parser = _load(fmt, ctx.name, ctx.options)
    try:
        if fmt in _ZIP_FORMATS:
            # A generic archive may hold any XML file; its members are checked when they are parsed.
            check_zip(path, ctx.options, label, scan_xml=fmt != "zip")
        parsed = parser(path, ctx)
    except FileRejected:
        raise
    except Exception as e:  # noqa: BLE001 - any library failure is a broken file, not a crash
        raise ParseFailure(
            f"The {label} file could not be parsed ({type(e).__name__}); open and re-save it in "
            "its application, or ingest a fresh copy."
        ) from e
    if not parsed.blocks:
        raise SkipFile(f"The {label} file contains no text to index; nothing was ingested.")
    return parsed


def parse_file(path: Path, options: ParseOptions) -> ParsedFile:
    """Parse one file on disk, choosing the parser by its (case-insensitive) suffix.

    Args:
        path: The file.
        options: Limits and OCR switches.

    Returns:
        The title and blocks, with at least one block.

    Raises:
        SkipFile: The file is left out on purpose (unsupported, empty, too large, encrypted).
        ParseFailure: The file is broken or unsafe; no third-party exception escapes.
    """
    return _parse_path(path, ParseContext(options=options, name=path.name))


def parse_bytes(name: str, data: bytes, options: ParseOptions, depth: int = 1) -> ParsedFile:
    """Parse an embedded part (an e-mail attachment) given its file name and bytes.

    The bytes go to a temporary file because most libraries want a path; ``name`` is what the
    user sees and what picks the parser.

    Args:
        name: The part's file name, e.g. ``"budget.xlsx"``.
        data: Its content.
        options: Limits and OCR switches.
        depth: 1 for an attachment of a file on disk, 2 for an attachment of that, and so on.

    Raises:
        SkipFile: As for ``parse_file``, or when nesting is deeper than allowed.
        ParseFailure: As for ``parse_file``.
    """
    if depth > options.max_attachment_depth:
        raise SkipFile(
            f"The attachment is nested more than {options.max_attachment_depth} levels deep; "
            "save it separately to ingest it."
        )
    _format_of(name, options)  # refuse unsupported parts before writing them anywhere
    _check_size(len(data), options)
    with tempfile.TemporaryDirectory(prefix="fuente-part-") as tmp:
        # Only the suffix of the untrusted name reaches the file system.
        part = Path(tmp) / f"part{PurePath(name).suffix.lower()}"
        part.write_bytes(data)
        return _parse_path(part, ParseContext(options=options, name=name, depth=depth))
