"""Legacy Office and friends (.doc, .rtf, .xls, .ppt, .odp, .ods): converted, then parsed as modern files.

LibreOffice (``ingest.parsing.convert``) turns each into .docx, .xlsx or .pptx and the existing
parsers read that, so pages, slides and sheets come out as they do for modern files. ``.xls`` is read
directly with xlrd when it is installed: no LibreOffice start-up, and the same cell values.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import tempfile
from pathlib import Path

from ingest.errors import SkipFile
from ingest.parsing.context import ParseContext, pick_title
from ingest.parsing.convert import ConverterUnavailable, convert
from ingest.parsing.markdown import render_table
from ingest.parsing.sheets import MAX_COLS, MAX_ROWS, parse_xlsx
from ingest.parsing.slides import parse_pptx
from ingest.parsing.word import parse_docx
from rag.types import Block, BlockKind, ParsedFile

_LABELS = {
    ".doc": "Word 97-2003 (.doc)",
    ".rtf": "RTF",
    ".xls": "Excel 97-2003 (.xls)",
    ".ppt": "PowerPoint 97-2003 (.ppt)",
    ".odp": "OpenDocument presentation (.odp)",
    ".ods": "OpenDocument spreadsheet (.ods)",
}


def _converted(path: Path, ctx: ParseContext, target: str, fmt: str) -> ParsedFile:
    suffix = Path(ctx.name).suffix.lower() or path.suffix.lower()
    # An old binary file under a modern name reaches us too (see registry): name it for what it is.
    suffix = {".docx": ".doc", ".xlsx": ".xls", ".xlsm": ".xls", ".pptx": ".ppt"}.get(suffix, suffix)
    return convert_and_parse(path, ctx, suffix, target, fmt, _LABELS.get(suffix, suffix))


def convert_and_parse(path: Path, ctx: ParseContext, suffix: str, target: str, fmt: str, label: str) -> ParsedFile:
    """Convert ``path`` (really a ``suffix`` file) to ``target`` with LibreOffice and parse that.

    Raises:
        SkipFile: LibreOffice is not installed, or the file is password-protected.
        ParseFailure: The conversion failed or overran its time limit.
    """
    try:
        data, seconds = convert(path, suffix, target, ctx.options.convert_timeout_s, label)
    except ConverterUnavailable as e:
        raise SkipFile(
            f"The {label} file needs LibreOffice to be read, which is not installed; run `make system` "
            "(or install libreoffice-writer-nogui, -calc-nogui and -impress-nogui) and ingest again."
        ) from e
    parse = {"docx": parse_docx, "xlsx": parse_xlsx, "pptx": parse_pptx}[target]
    with tempfile.TemporaryDirectory(prefix="fuente-converted-") as tmp:
        modern = Path(tmp) / f"converted.{target}"
        modern.write_bytes(data)
        parsed = parse(modern, ctx)
    return dataclasses.replace(
        parsed,
        format=fmt,
        notes=(*parsed.notes, f"Converted from {label} with LibreOffice in {seconds:.1f} s."),
    )


def parse_doc(path: Path, ctx: ParseContext) -> ParsedFile:
    """Word 97-2003: converted to .docx (headings, lists and tables kept)."""
    return _converted(path, ctx, "docx", "doc")


def parse_rtf(path: Path, ctx: ParseContext) -> ParsedFile:
    """Rich Text Format: converted to .docx."""
    return _converted(path, ctx, "docx", "rtf")


def parse_ppt(path: Path, ctx: ParseContext) -> ParsedFile:
    """PowerPoint 97-2003: converted to .pptx (one block run per slide, notes kept)."""
    return _converted(path, ctx, "pptx", "ppt")


def parse_odp(path: Path, ctx: ParseContext) -> ParsedFile:
    """OpenDocument presentation: converted to .pptx."""
    return _converted(path, ctx, "pptx", "odp")


def parse_ods(path: Path, ctx: ParseContext) -> ParsedFile:
    """OpenDocument spreadsheet: converted to .xlsx (one TABLE block per sheet)."""
    return _converted(path, ctx, "xlsx", "ods")


def _xls_value(cell: object, datemode: int) -> str:
    import xlrd

    kind, value = cell.ctype, cell.value  # type: ignore[attr-defined]
    if kind in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
        return ""
    if kind == xlrd.XL_CELL_BOOLEAN:
        return "TRUE" if value else "FALSE"
    if kind == xlrd.XL_CELL_ERROR:
        return xlrd.error_text_from_code.get(value, "#ERR")
    if kind == xlrd.XL_CELL_DATE:
        try:
            moment = xlrd.xldate.xldate_as_datetime(value, datemode)
        except (ValueError, OverflowError, xlrd.xldate.XLDateError):
            return str(value)
        return moment.date().isoformat() if moment.time() == dt.time() else moment.isoformat(" ")
    if kind == xlrd.XL_CELL_NUMBER:
        return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


def _xlrd_tables(path: Path) -> tuple[list[Block], list[str]]:
    import xlrd

    book = xlrd.open_workbook(str(path), on_demand=True)
    blocks: list[Block] = []
    notes: list[str] = []
    try:
        for index in range(book.nsheets):
            sheet = book.sheet_by_index(index)
            rows: list[list[str]] = []
            for r in range(sheet.nrows):
                cells = [_xls_value(c, book.datemode) for c in sheet.row(r)[:MAX_COLS]]
                if not any(c.strip() for c in cells):
                    continue
                if len(rows) == MAX_ROWS:
                    notes.append(f"Sheet '{sheet.name}' has more than {MAX_ROWS} rows; only the first were kept.")
                    break
                rows.append(cells)
            table = render_table(rows)
            if table:
                blocks.append(Block(table, BlockKind.TABLE, sheet=sheet.name))
            book.unload_sheet(index)
    finally:
        book.release_resources()
    return blocks, notes


def _summary_title(path: Path) -> str | None:
    """The title in an OLE file's summary information (xlrd does not read it), if any."""
    try:
        import olefile
    except ImportError:
        return None
    try:
        with olefile.OleFileIO(str(path)) as ole:
            meta = ole.get_metadata()
    except Exception:  # noqa: BLE001 - a damaged summary only costs the title
        return None
    raw = meta.title
    if not raw:
        return None
    if isinstance(raw, str):
        return raw
    codec = "utf-8" if meta.codepage in (None, 65001) else f"cp{meta.codepage}"
    try:
        return bytes(raw).decode(codec)
    except (LookupError, UnicodeDecodeError):
        return bytes(raw).decode("cp1252", errors="replace")


def parse_xls(path: Path, ctx: ParseContext) -> ParsedFile:
    """Excel 97-2003: read with xlrd (one TABLE block per sheet), else converted by LibreOffice.

    Raises:
        SkipFile: The workbook is password-protected or has no cells with data.
    """
    try:
        import xlrd
    except ImportError:
        return _converted(path, ctx, "xlsx", "xls")
    try:
        blocks, notes = _xlrd_tables(path)
    except xlrd.XLRDError as e:
        if "encrypted" in str(e).lower():
            raise SkipFile(
                "The Excel 97-2003 (.xls) file is password-protected; remove the password or ingest an unprotected copy."
            ) from e
        # Not a BIFF8 workbook after all (HTML or XML saved as .xls, BIFF5): LibreOffice reads those.
        return _converted(path, ctx, "xlsx", "xls")
    except Exception:  # noqa: BLE001 - xlrd trips on odd records that LibreOffice reads fine
        return _converted(path, ctx, "xlsx", "xls")
    if not blocks:
        raise SkipFile("The spreadsheet has no cells with data; nothing was ingested.")
    title = pick_title(_summary_title(path), fallback=ctx.stem)
    return ParsedFile(title=title, blocks=tuple(blocks), format="xls", notes=tuple(notes))
