"""Hostile and broken Office, PDF and archive inputs: each is parsed or refused with one clear sentence.

All inputs are generated here (python-docx, openpyxl, reportlab). Text encodings, HTML, e-mail and
slides are in tests/test_parsing_text_and_mail.py.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import docx
import openpyxl
import pytest
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from ingest.errors import ParseFailure, SkipFile
from ingest.parsing import SUPPORTED_SUFFIXES, ParseOptions, parse_file
from ingest.parsing.safety import OLE2_MAGIC
from rag.types import BlockKind
from tests.helpers import OPTIONS, rejected, text_of

# -- builders ----------------------------------------------------------------------------------


def make_docx(path: Path) -> Path:
    document = docx.Document()
    document.add_heading("Informe anual", level=1)
    document.add_paragraph("Resumen del año con acentos: información, órdenes.")
    document.add_heading("Ventas", level=2)
    table = document.add_table(rows=3, cols=2)
    for r, row in enumerate([("Región", "Ventas"), ("Norte", "120"), ("Sur", "95")]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    document.add_paragraph("Texto después de la tabla.")
    document.save(str(path))
    return path


def make_xlsx(path: Path) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Datos"
    sheet.append([None, None, None])
    sheet.append([None, "Producto", "Precio"])
    sheet.append([None, "Café", 2.5])
    sheet.append([None, "Té", 3.0])
    workbook.save(str(path))
    return path


def make_pdf(path: Path, pages: list[str], title: str | None = "Manual de prueba") -> Path:
    pdf = canvas.Canvas(str(path), pagesize=A4)
    if title:
        pdf.setTitle(title)
    for text in pages:
        if text:
            pdf.drawString(72, 760, text)
        pdf.showPage()
    pdf.save()
    return path


def rewrite_zip(source: Path, target: Path, replace: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            new.writestr(info.filename, replace.get(info.filename, old.read(info.filename)))
    return target


ENTITY_BOMB_PROLOG = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode() for i in range(1, 10)
    )
    + b"]>\n"
)


# -- zip-based formats -------------------------------------------------------------------------


def test_zip_bomb_docx_over_uncompressed_cap_fails(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.docx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/media/zeros.bin", "w", force_zip64=True) as entry:
            chunk = bytes(1 << 20)
            for _ in range(24):
                entry.write(chunk)
    assert bomb.stat().st_size < 200_000
    error = rejected(bomb, ParseOptions(ocr=False, max_uncompressed_bytes=16 * 2**20))
    assert isinstance(error, ParseFailure)
    assert "zip bomb" in error.reason


def test_zip_bomb_by_compression_ratio_fails_with_default_limits(tmp_path: Path) -> None:
    bomb = tmp_path / "ratio.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/zeros.bin", bytes(12 * 2**20))
    error = rejected(bomb)
    assert isinstance(error, ParseFailure)
    assert "zip bomb" in error.reason


def test_small_highly_compressible_docx_is_not_a_bomb(tmp_path: Path) -> None:
    source = make_docx(tmp_path / "plain.docx")
    padded = rewrite_zip(source, tmp_path / "padded.docx", {"word/zeros.bin": bytes(2 * 2**20)})
    assert "Informe anual" in text_of(parse_file(padded, OPTIONS))


@pytest.mark.parametrize(
    ("maker", "suffix", "part"),
    [(make_docx, "docx", "word/document.xml"), (make_xlsx, "xlsx", "xl/workbook.xml")],
)
def test_xml_entity_bomb_fails(tmp_path: Path, maker: object, suffix: str, part: str) -> None:
    source = maker(tmp_path / f"source.{suffix}")  # type: ignore[operator]
    with zipfile.ZipFile(source) as archive:
        original = archive.read(part)
    body = original[original.index(b"?>") + 2 :] if original.startswith(b"<?xml") else original
    bomb = rewrite_zip(source, tmp_path / f"bomb.{suffix}", {part: ENTITY_BOMB_PROLOG + body})
    error = rejected(bomb)
    assert isinstance(error, ParseFailure)
    assert "entity" in error.reason


def test_truncated_docx_fails(tmp_path: Path) -> None:
    source = make_docx(tmp_path / "full.docx")
    truncated = tmp_path / "truncated.docx"
    truncated.write_bytes(source.read_bytes()[: source.stat().st_size // 2])
    error = rejected(truncated)
    assert isinstance(error, ParseFailure)
    assert "damaged" in error.reason


@pytest.mark.parametrize("suffix", ["docx", "pptx", "xlsx", "odt"])
def test_zip_of_the_wrong_kind_fails_without_leaking_library_errors(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"not-really.{suffix}"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert isinstance(rejected(path), ParseFailure)


def test_docx_named_pptx_fails(tmp_path: Path) -> None:
    wrong = tmp_path / "deck.pptx"
    wrong.write_bytes(make_docx(tmp_path / "doc.docx").read_bytes())
    assert isinstance(rejected(wrong), ParseFailure)


def test_encrypted_office_file_is_skipped_as_password_protected(tmp_path: Path) -> None:
    # An encrypted OOXML file is an OLE2 container holding an "EncryptedPackage" stream.
    path = tmp_path / "secret.xlsx"
    path.write_bytes(OLE2_MAGIC + bytes(500) + "EncryptedPackage".encode("utf-16-le") + bytes(500))
    error = rejected(path)
    assert isinstance(error, SkipFile)
    assert "password-protected" in error.reason


def test_a_broken_legacy_binary_file_with_a_new_extension_fails_with_a_reason(tmp_path: Path) -> None:
    # A real one is converted and parsed (tests/test_formats.py); zeros in an OLE2 header are not a document.
    path = tmp_path / "old.docx"
    path.write_bytes(OLE2_MAGIC + bytes(1000))
    error = rejected(path)
    assert isinstance(error, (ParseFailure, SkipFile))
    assert "not supported" not in error.reason


# -- Office output -----------------------------------------------------------------------------


def test_docx_headings_become_markdown_and_tables_table_blocks(tmp_path: Path) -> None:
    parsed = parse_file(make_docx(tmp_path / "informe.docx"), OPTIONS)
    kinds = [block.kind for block in parsed.blocks]
    assert kinds == [BlockKind.TEXT, BlockKind.TABLE, BlockKind.TEXT]
    first, table, last = parsed.blocks
    assert first.text.startswith("# Informe anual\n\nResumen del año")
    assert "## Ventas" in first.text
    assert table.text.splitlines() == [
        "| Región | Ventas |",
        "|---|---|",
        "| Norte | 120 |",
        "| Sur | 95 |",
    ]
    assert table.heading_path == ("Informe anual", "Ventas")
    assert last.text == "Texto después de la tabla."
    assert parsed.title == "Informe anual"


def test_xlsx_header_is_first_non_empty_row_and_empty_columns_are_dropped(tmp_path: Path) -> None:
    parsed = parse_file(make_xlsx(tmp_path / "precios.xlsx"), OPTIONS)
    (block,) = parsed.blocks
    assert block.kind is BlockKind.TABLE and block.sheet == "Datos"
    assert block.text.splitlines() == [
        "| Producto | Precio |",
        "|---|---|",
        "| Café | 2.5 |",
        "| Té | 3 |",
    ]


def test_csv_in_cp1252_with_semicolons(tmp_path: Path) -> None:
    path = tmp_path / "gastos.csv"
    path.write_bytes("Concepto;Importe\nCafé;2,50 €\nAlmuerzo del niño;12,00 €\n".encode("cp1252"))
    (block,) = parse_file(path, OPTIONS).blocks
    assert block.kind is BlockKind.TABLE
    assert block.text.splitlines()[0] == "| Concepto | Importe |"
    assert "| Almuerzo del niño | 12,00 € |" in block.text


# -- PDF ---------------------------------------------------------------------------------------


def test_pdf_pages_are_numbered_and_titled(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "manual.pdf", ["Primera página del manual", "Segunda página"])
    parsed = parse_file(path, OPTIONS)
    assert [(b.page, b.text) for b in parsed.blocks] == [
        (1, "Primera página del manual"),
        (2, "Segunda página"),
    ]
    assert parsed.title == "Manual de prueba"


def test_pdf_title_falls_back_to_first_line(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "sin-titulo.pdf", ["Política de vacaciones"], title=None)
    assert parse_file(path, OPTIONS).title == "Política de vacaciones"


def test_pdf_without_tesseract_keeps_text_pages_and_notes_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no tesseract to be found
    path = make_pdf(tmp_path / "mixto.pdf", ["Página con texto suficiente para no OCR", ""])
    parsed = parse_file(path, ParseOptions(ocr=True))
    assert [b.page for b in parsed.blocks] == [1]
    assert parsed.ocr_pages == ()
    assert any("tesseract" in note for note in parsed.notes)


def test_random_bytes_pdf_fails(tmp_path: Path) -> None:
    path = tmp_path / "random.pdf"
    path.write_bytes(os.urandom(4096))
    assert isinstance(rejected(path), ParseFailure)


def test_encrypted_pdf_is_skipped(tmp_path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    source = make_pdf(tmp_path / "open.pdf", ["Contenido confidencial"])
    writer = PdfWriter()
    writer.append(PdfReader(source))
    writer.encrypt(user_password="secreto", algorithm="AES-256")
    locked = tmp_path / "locked.pdf"
    with locked.open("wb") as handle:
        writer.write(handle)
    error = rejected(locked)
    assert isinstance(error, SkipFile)
    assert "password-protected" in error.reason


def test_pdf_encrypted_with_empty_user_password_is_read(tmp_path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    source = make_pdf(tmp_path / "open.pdf", ["Solo restringe la impresión"])
    writer = PdfWriter()
    writer.append(PdfReader(source))
    writer.encrypt(user_password="", owner_password="dueño", algorithm="AES-128")
    locked = tmp_path / "owner-only.pdf"
    with locked.open("wb") as handle:
        writer.write(handle)
    assert "Solo restringe la impresión" in text_of(parse_file(locked, OPTIONS))


# -- generic refusals --------------------------------------------------------------------------


def test_unknown_suffix_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "diagram.xyz"
    path.write_text("data")
    error = rejected(path)
    assert isinstance(error, SkipFile)
    assert "not supported" in error.reason
    assert ".xyz" not in SUPPORTED_SUFFIXES and ".pdf" in SUPPORTED_SUFFIXES


def test_suffix_is_case_insensitive(tmp_path: Path) -> None:
    path = tmp_path / "NOTAS.TXT"
    path.write_text("Notas en mayúsculas.", encoding="utf-8")
    assert text_of(parse_file(path, OPTIONS)) == "Notas en mayúsculas."


def test_file_over_size_limit_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_text("x" * 2048)
    error = rejected(path, ParseOptions(ocr=False, max_file_bytes=1024))
    assert isinstance(error, SkipFile)
    assert "limit" in error.reason


def test_empty_file_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "empty.docx"
    path.write_bytes(b"")
    error = rejected(path)
    assert isinstance(error, SkipFile)
    assert "empty" in error.reason


@pytest.mark.parametrize("suffix", ["txt", "md"])
def test_whitespace_only_text_is_skipped(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"blank.{suffix}"
    path.write_text(" \n\t\n   \n")
    error = rejected(path)
    assert isinstance(error, SkipFile)
    assert "whitespace" in error.reason


def test_unreadable_path_fails(tmp_path: Path) -> None:
    folder = tmp_path / "actually-a-folder.txt"
    folder.mkdir()
    error = rejected(folder)
    assert isinstance(error, ParseFailure)
    assert "could not be read" in error.reason


def test_binary_data_named_txt_fails(tmp_path: Path) -> None:
    path = tmp_path / "image.txt"
    path.write_bytes(bytes(range(256)) * 20)
    assert isinstance(rejected(path), ParseFailure)
