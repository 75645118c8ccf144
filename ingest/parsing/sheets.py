"""XLSX and CSV: each sheet becomes one Markdown TABLE block, its first non-empty row the header."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

import openpyxl

from ingest.errors import SkipFile
from ingest.parsing.context import ParseContext, pick_title
from ingest.parsing.encoding import decode_bytes
from ingest.parsing.markdown import render_table
from rag.types import Block, BlockKind, ParsedFile

MAX_ROWS = 20_000
"""Non-empty rows kept per sheet; beyond this a sheet is a database export, not a document."""
MAX_COLS = 200


def _format(value: object) -> str:
    """Show a cell the way a reader expects: 3 not 3.0, dates without a midnight time."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _collect(rows: Iterable[Sequence[object]], where: str, notes: list[str]) -> list[list[str]]:
    """Keep up to MAX_ROWS non-empty rows of up to MAX_COLS cells, noting any cut."""
    kept: list[list[str]] = []
    wide = False
    for row in rows:
        cells = [_format(v) for v in row[:MAX_COLS]]
        wide = wide or len(row) > MAX_COLS and any(v is not None for v in row[MAX_COLS:])
        if not any(cell.strip() for cell in cells):
            continue
        if len(kept) == MAX_ROWS:
            notes.append(f"{where} has more than {MAX_ROWS} rows; only the first were kept.")
            break
        kept.append(cells)
    if wide:
        notes.append(f"{where} has more than {MAX_COLS} columns; only the first were kept.")
    return kept


def parse_xlsx(path: Path, ctx: ParseContext) -> ParsedFile:
    """Parse a workbook: one TABLE block per non-empty worksheet, with cached formula values.

    Raises:
        SkipFile: No worksheet holds any data.
    """
    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    notes: list[str] = []
    blocks: list[Block] = []
    try:
        for sheet in workbook.worksheets:
            rows = _collect(sheet.iter_rows(values_only=True), f"Sheet '{sheet.title}'", notes)
            table = render_table(rows)
            if table:
                blocks.append(Block(table, BlockKind.TABLE, sheet=sheet.title))
        title = pick_title(workbook.properties.title, fallback=ctx.stem)
    finally:
        workbook.close()
    if not blocks:
        raise SkipFile("The spreadsheet has no cells with data; nothing was ingested.")
    return ParsedFile(title=title, blocks=tuple(blocks), format="xlsx", notes=tuple(notes))


def parse_csv(path: Path, ctx: ParseContext) -> ParsedFile:
    """Parse a CSV/TSV file of any common encoding and delimiter into one TABLE block.

    Raises:
        SkipFile: The file holds no values.
    """
    text = decode_bytes(path.read_bytes())
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:64_000], delimiters=",;\t|")
    except csv.Error:  # one column, or too irregular to tell: the comma is the safe guess
        dialect = csv.excel_tab if path.suffix.lower() == ".tsv" else csv.excel
    notes: list[str] = []
    rows = _collect(csv.reader(io.StringIO(text, newline=""), dialect), "The file", notes)
    table = render_table(rows)
    if not table:
        raise SkipFile("The CSV file has no values; nothing was ingested.")
    block = Block(table, BlockKind.TABLE)
    return ParsedFile(title=ctx.stem, blocks=(block,), format="csv", notes=tuple(notes))
