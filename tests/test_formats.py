"""Every format an office keeps: legacy Office via LibreOffice, EPUB, ZIP, XML, JSON, base64 in text.

Fixtures are made here from our own text: python-docx/openpyxl/python-pptx files, converted by
LibreOffice to the legacy formats once per session (soffice starts slowly on 2 cores).
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import docx
import openpyxl
import pytest
from pptx import Presentation

from ingest.errors import FileRejected, ParseFailure, SkipFile
from ingest.parsing import ParseOptions, parse_file
from ingest.parsing.convert import convert, soffice_path
from ingest.parsing.safety import OLE2_MAGIC
from rag.types import BlockKind
from tests.helpers import assert_one_sentence, text_of

OPTIONS = ParseOptions(ocr=False)
DIETA = "La dieta diaria para un viaje internacional es de 85 euros por persona."


def make_docx(path: Path) -> Path:
    document = docx.Document()
    document.core_properties.title = "Política de viajes"
    document.add_heading("Dietas y alojamiento", level=1)
    document.add_paragraph(DIETA)
    table = document.add_table(rows=3, cols=2)
    for r, row in enumerate([("Destino", "Dieta"), ("Europa", "85"), ("América", "95")]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    document.save(str(path))
    return path


def make_xlsx(path: Path) -> Path:
    workbook = openpyxl.Workbook()
    workbook.properties.title = "Gastos de viaje 2025"
    sheet = workbook.active
    sheet.title = "Gastos"
    for row in [("Concepto", "Importe"), ("Hotel", 120.5), ("Taxi", 30)]:
        sheet.append(row)
    workbook.create_sheet("Resumen").append(("Total", "150.5"))
    workbook.save(str(path))
    return path


def make_pptx(path: Path) -> Path:
    deck = Presentation()
    for title, body in [("Plan de formación", "Cursos de seguridad informática"), ("Calendario", "Marzo y abril")]:
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text = body
    deck.slides[0].notes_slide.notes_text_frame.text = "Notas del ponente sobre el plan."
    deck.save(str(path))
    return path


@pytest.fixture(scope="session")
def legacy(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Our own documents in .doc, .rtf, .xls, .ods, .ppt and .odp, converted once per session."""
    if soffice_path() is None:
        pytest.skip("LibreOffice (soffice) is not installed; `make system` installs it.")
    folder = tmp_path_factory.mktemp("legacy")
    sources = {
        "docx": make_docx(folder / "viajes.docx"),
        "xlsx": make_xlsx(folder / "gastos.xlsx"),
        "pptx": make_pptx(folder / "formacion.pptx"),
    }
    made: dict[str, Path] = {}

    def to(src: Path, target: str) -> Path:
        data, _ = convert(src, src.suffix, target, 120, src.suffix)
        out = folder / f"{src.stem}.{target}"
        out.write_bytes(data)
        return out

    # LibreOffice's .doc export drops python-docx's table unless it has been through its own model first.
    made["doc"] = to(to(sources["docx"], "odt"), "doc")
    made["rtf"] = to(sources["docx"], "rtf")
    made["xls"] = to(sources["xlsx"], "xls")
    made["ods"] = to(sources["xlsx"], "ods")
    made["ppt"] = to(sources["pptx"], "ppt")
    made["odp"] = to(sources["pptx"], "odp")
    made["fodt"] = to(sources["docx"], "fodt")  # flat OpenDocument: an office file saved as XML
    return made


@pytest.mark.parametrize("fmt", ["doc", "rtf"])
def test_legacy_word_keeps_headings_tables_and_title(legacy: dict[str, Path], fmt: str) -> None:
    parsed = parse_file(legacy[fmt], OPTIONS)
    assert parsed.format == fmt
    assert parsed.title == "Política de viajes"
    assert parsed.blocks[0].text.startswith("# Dietas y alojamiento")
    assert DIETA in text_of(parsed)
    tables = [b for b in parsed.blocks if b.kind is BlockKind.TABLE]
    assert tables and tables[0].text.splitlines()[0] == "| Destino | Dieta |"
    assert any("LibreOffice" in note for note in parsed.notes)


@pytest.mark.parametrize("fmt", ["xls", "ods"])
def test_legacy_sheets_are_tables_per_sheet(legacy: dict[str, Path], fmt: str) -> None:
    parsed = parse_file(legacy[fmt], OPTIONS)
    assert parsed.format == fmt
    assert parsed.title == "Gastos de viaje 2025"  # the workbook's title, not its file name
    assert [b.sheet for b in parsed.blocks] == ["Gastos", "Resumen"]
    assert all(b.kind is BlockKind.TABLE for b in parsed.blocks)
    assert parsed.blocks[0].text.splitlines() == [
        "| Concepto | Importe |",
        "|---|---|",
        "| Hotel | 120.5 |",
        "| Taxi | 30 |",
    ]


@pytest.mark.parametrize("fmt", ["ppt", "odp"])
def test_legacy_slides_keep_slide_numbers_titles_and_notes(legacy: dict[str, Path], fmt: str) -> None:
    parsed = parse_file(legacy[fmt], OPTIONS)
    assert parsed.format == fmt
    assert [b.slide for b in parsed.blocks] == [1, 2]
    assert parsed.blocks[0].text.startswith("# Plan de formación")
    assert "Notas del ponente" in parsed.blocks[0].text
    assert parsed.blocks[1].text.startswith("# Calendario")


def test_an_old_binary_file_under_a_modern_name_is_read_as_what_it_is(legacy: dict[str, Path], tmp_path: Path) -> None:
    renamed = tmp_path / "viajes.docx"
    renamed.write_bytes(legacy["doc"].read_bytes())
    parsed = parse_file(renamed, OPTIONS)
    assert DIETA in text_of(parsed)


def test_a_conversion_that_overruns_its_limit_fails_with_a_sentence(legacy: dict[str, Path]) -> None:
    with pytest.raises(ParseFailure) as info:
        parse_file(legacy["ppt"], ParseOptions(ocr=False, convert_timeout_s=0.01))
    assert "longer than 0.01 s" in info.value.reason
    assert_one_sentence(info.value.reason)


def test_garbage_in_an_ole2_container_fails_rather_than_being_skipped_as_unsupported(tmp_path: Path) -> None:
    if soffice_path() is None:
        pytest.skip("LibreOffice is not installed.")
    path = tmp_path / "roto.doc"
    path.write_bytes(OLE2_MAGIC + bytes(2000))
    with pytest.raises(FileRejected) as info:
        parse_file(path, OPTIONS)
    assert "not supported" not in info.value.reason
    assert_one_sentence(info.value.reason)


# -- EPUB ------------------------------------------------------------------------------------------


def make_epub(path: Path, *, drm: bool = False, toc: bool = True) -> Path:
    chapters = {
        # A cover page: an image, and a <title> in the head (as Project Gutenberg's wrap0000.html).
        "wrap0000.xhtml": '<html><head><title>"Cover"</title></head><body><div><img src="c.jpg"/></div></body></html>',
        "c1.xhtml": "<html><body><h1>Capítulo uno</h1><p>El viaje empezó en Madrid.</p></body></html>",
        # No heading of its own: its section comes from the table of contents.
        "c2.xhtml": "<html><head><title>Segunda parte</title></head><body><p>Llegaron a Lima al amanecer.</p></body></html>",
    }
    opf = (
        '<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0">'
        '<metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Diario de viaje</dc:title></metadata>'
        '<manifest><item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>'
        '<item id="c1" href="c1.xhtml" media-type="application/xhtml+xml"/>'
        '<item id="w" href="wrap0000.xhtml" media-type="application/xhtml+xml"/>'
        '<item id="c2" href="c2.xhtml" media-type="application/xhtml+xml"/></manifest>'
        '<spine><itemref idref="w"/><itemref idref="c1"/><itemref idref="c2"/></spine></package>'
    )
    if not toc:
        opf = opf.replace('<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>', "")
    nav = (
        '<html xmlns="http://www.w3.org/1999/xhtml"><body><nav><ol>'
        '<li><a href="c1.xhtml">Capítulo uno</a></li><li><a href="c2.xhtml#start">Capítulo dos</a></li>'
        "</ol></nav></body></html>"
    )
    container = (
        '<?xml version="1.0"?><container xmlns="urn:oasis:names:tc:opendocument:xmlns:container" version="1.0">'
        '<rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
        "</rootfiles></container>"
    )
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        z.writestr("META-INF/container.xml", container)
        if drm:
            z.writestr(
                "META-INF/encryption.xml",
                '<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
                '<EncryptedData xmlns="http://www.w3.org/2001/04/xmlenc#">'
                '<EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/></EncryptedData></encryption>',
            )
        z.writestr("OEBPS/content.opf", opf)
        if toc:
            z.writestr("OEBPS/nav.xhtml", nav)
        for name, body in chapters.items():
            z.writestr(f"OEBPS/{name}", body)
    return path


def test_epub_chapters_become_sections_in_spine_order(tmp_path: Path) -> None:
    parsed = parse_file(make_epub(tmp_path / "diario.epub"), OPTIONS)
    assert parsed.format == "epub" and parsed.title == "Diario de viaje"
    text = text_of(parsed)
    assert text.index("# Capítulo uno") < text.index("Madrid") < text.index("# Capítulo dos") < text.index("Lima")
    assert "wrap0000" not in text and "Cover" not in text  # the cover page opens no section


def test_an_epub_without_a_table_of_contents_names_sections_by_their_own_title(tmp_path: Path) -> None:
    parsed = parse_file(make_epub(tmp_path / "sin-indice.epub", toc=False), OPTIONS)
    text = text_of(parsed)
    assert parsed.title == "Diario de viaje"
    assert text.index("# Capítulo uno") < text.index("Madrid") < text.index("# Segunda parte") < text.index("Lima")
    assert "wrap0000" not in text and "# c2" not in text


def test_drm_epub_is_skipped_with_a_reason(tmp_path: Path) -> None:
    with pytest.raises(SkipFile) as info:
        parse_file(make_epub(tmp_path / "drm.epub", drm=True), OPTIONS)
    assert "DRM" in info.value.reason


# -- ZIP -------------------------------------------------------------------------------------------


def _zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buffer.getvalue()


def test_zip_members_are_documents_of_their_own_with_path_prefixes(tmp_path: Path) -> None:
    docx_bytes = make_docx(tmp_path / "v.docx").read_bytes()
    innermost = _zip_bytes({"profundo.txt": b"Demasiado hondo."})
    inner = _zip_bytes({"acta.md": "# Acta\n\nSe aprobó el presupuesto.".encode(), "mas.zip": innermost})
    path = tmp_path / "paquete.zip"
    path.write_bytes(
        _zip_bytes(
            {
                "rrhh/viajes.docx": docx_bytes,
                "notas.txt": "Recordatorio de la reunión del lunes.".encode(),
                "anidado.zip": inner,
                "setup.exe": b"MZ\x00\x00",
                "__MACOSX/._notas.txt": b"\x00\x05",
            }
        )
    )
    parsed = parse_file(path, OPTIONS)
    assert parsed.format == "zip"
    parts = {b.part for b in parsed.blocks}
    assert {"rrhh/viajes.docx", "notas.txt", "anidado.zip/acta.md"} <= parts
    assert next(b for b in parsed.blocks if b.part == "rrhh/viajes.docx").part_title == "Política de viajes"
    assert "Demasiado hondo" not in text_of(parsed)  # three levels down: past the nesting limit
    assert any("setup.exe" in n for n in parsed.notes) and any("mas.zip" in n for n in parsed.notes)
    assert not any(p and p.startswith("__MACOSX") for p in parts)


def test_an_empty_zip_or_a_chain_of_zips_is_skipped_with_the_real_reason(tmp_path: Path) -> None:
    empty = tmp_path / "vacio.zip"
    empty.write_bytes(_zip_bytes({}))
    with pytest.raises(SkipFile) as info:
        parse_file(empty, OPTIONS)
    assert "empty" in info.value.reason

    chain = _zip_bytes({"hondo.txt": "Texto en lo más hondo.".encode()})
    for level in range(4):
        chain = _zip_bytes({f"nivel{level}.zip": chain})
    deep = tmp_path / "hondo.zip"
    deep.write_bytes(chain)
    with pytest.raises(SkipFile) as info:
        parse_file(deep, OPTIONS)
    assert_one_sentence(info.value.reason)
    assert "nested more than" in info.value.reason and info.value.reason.count("was not ingested") == 1


def test_zip_bomb_is_refused_before_any_member_is_read(tmp_path: Path) -> None:
    path = tmp_path / "bomba.zip"
    path.write_bytes(_zip_bytes({"ceros.txt": bytes(3 * 2**20)}))
    with pytest.raises(ParseFailure) as info:
        parse_file(path, ParseOptions(ocr=False, max_uncompressed_bytes=2**20))
    assert "zip bomb" in info.value.reason


# -- XML and JSON ----------------------------------------------------------------------------------


def test_xml_text_content_is_indexed_with_its_title(tmp_path: Path) -> None:
    path = tmp_path / "feed.xml"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><rss><channel><title>Noticias internas</title>'
        "<item><title>Nueva sede</title><description>La oficina se traslada a Valencia en mayo.</description></item>"
        "</channel></rss>",
        encoding="utf-8",
    )
    parsed = parse_file(path, OPTIONS)
    assert parsed.format == "xml" and parsed.title == "Noticias internas"
    assert "La oficina se traslada a Valencia en mayo." in text_of(parsed)


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>',
        '<!DOCTYPE l [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
    ],
    ids=["entity-bomb", "external-entity"],
)
def test_xml_entities_are_refused(tmp_path: Path, doctype: str) -> None:
    path = tmp_path / "malo.xml"
    path.write_text(f'<?xml version="1.0"?>{doctype}<l>&b;</l>', encoding="utf-8")
    with pytest.raises(ParseFailure) as info:
        parse_file(path, OPTIONS)
    assert "entit" in info.value.reason
    assert_one_sentence(info.value.reason)


def test_json_and_jsonl_records_keep_their_text_fields(tmp_path: Path) -> None:
    records = [
        {
            "id": 17,
            "title": "Vacaciones",
            "body": "Cada empleado tiene 23 días laborables al año.",
            "url": "https://x/1",
        },
        {"id": 18, "title": "Teletrabajo", "body": "Se puede teletrabajar dos días por semana."},
    ]
    as_json = tmp_path / "faq.json"
    as_json.write_text(json.dumps({"items": records}), encoding="utf-8")
    as_jsonl = tmp_path / "faq.jsonl"
    as_jsonl.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    for path, fmt in ((as_json, "json"), (as_jsonl, "jsonl")):
        parsed = parse_file(path, OPTIONS)
        text = text_of(parsed)
        assert parsed.format == fmt
        assert "body: Cada empleado tiene 23 días laborables al año." in text
        assert "title: Teletrabajo" in text
        assert "https://x/1" not in text and "17" not in text


def test_json_of_numbers_only_is_skipped_as_data(tmp_path: Path) -> None:
    path = tmp_path / "serie.json"
    path.write_text(json.dumps([{"id": i, "v": i * 1.5, "code": f"A{i}"} for i in range(20)]), encoding="utf-8")
    with pytest.raises(SkipFile) as info:
        parse_file(path, OPTIONS)
    assert "no text" in info.value.reason and "not supported" not in info.value.reason


# -- base64 in text files --------------------------------------------------------------------------


def _wrapped(data: bytes) -> str:
    import base64

    encoded = base64.b64encode(data).decode()
    return "\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))


def test_a_base64_body_is_decoded_when_it_is_text_and_dropped_when_it_is_not(tmp_path: Path) -> None:
    import os

    message = ("El comité aprobó el nuevo reglamento de teletrabajo para toda la plantilla. " * 4).encode()
    path = tmp_path / "mensaje.txt"
    path.write_text(
        "Asunto: reglamento\n\n" + _wrapped(message) + "\n\nAdjunto:\n" + _wrapped(os.urandom(600)) + "\n\nFin.",
        encoding="utf-8",
    )
    parsed = parse_file(path, OPTIONS)
    text = text_of(parsed)
    assert "El comité aprobó el nuevo reglamento" in text
    assert "Asunto: reglamento" in text and "Fin." in text
    assert not any(len(word) > 60 for word in text.split())  # no base64 left
    assert any("decoded" in n for n in parsed.notes) and any("left out" in n for n in parsed.notes)


def test_a_one_line_base64_body_in_a_legacy_charset_is_decoded(tmp_path: Path) -> None:
    import base64
    import os

    # As unstructured's hebrew-text-base64-iso88598i.txt: the whole file is one line of base64 of ISO-8859-8.
    hebrew = "עדכון Tesla - נדרשת חתימה על הבקשה לרישום "
    path = tmp_path / "aviso.txt"
    path.write_text(base64.b64encode(hebrew.encode("iso-8859-8")).decode(), encoding="ascii")
    parsed = parse_file(path, OPTIONS)
    assert text_of(parsed).strip() == hebrew.strip()

    spanish = "Reunión del comité de dirección: el presupuesto se aprobó por unanimidad."
    path = tmp_path / "nota.txt"
    blob = base64.b64encode(os.urandom(45)).decode()  # one line of data on its own: left out
    path.write_text(f"Nota\n\n{base64.b64encode(spanish.encode('cp1252')).decode()}\n\n{blob}\n", encoding="ascii")
    text = text_of(parse_file(path, OPTIONS))
    assert spanish in text and blob not in text and "Nota" in text


def test_an_xml_file_saved_as_utf16_under_a_utf8_declaration_is_read(tmp_path: Path) -> None:
    # As unstructured's factbook-utf-16.xml: a UTF-16 byte-order mark, and encoding="UTF-8" left in the declaration.
    xml = '<?xml version="1.0" encoding="UTF-8"?>\n<factbook><country><name>España</name><capital>Madrid</capital>'
    path = tmp_path / "paises.xml"
    path.write_bytes(b"\xff\xfe" + (xml + "</country></factbook>\n").encode("utf-16-le"))
    text = text_of(parse_file(path, OPTIONS))
    assert "España" in text and "Madrid" in text


def test_an_office_document_saved_as_xml_is_read_as_a_document_not_as_its_settings(
    legacy: dict[str, Path], tmp_path: Path
) -> None:
    flat = tmp_path / "viajes.xml"  # a flat OpenDocument text, as LibreOffice saves it, under .xml
    flat.write_bytes(legacy["fodt"].read_bytes())
    parsed = parse_file(flat, OPTIONS)
    lines = text_of(parsed).splitlines()
    assert parsed.format == "xml" and parsed.title == "Política de viajes" and DIETA in text_of(parsed)
    assert "true" not in lines and "false" not in lines  # the settings are not text of the document
    assert any(b.kind is BlockKind.TABLE for b in parsed.blocks)

    sheet = tmp_path / "flota.xml"  # Excel 2003 XML (SpreadsheetML)
    sheet.write_text(
        '<?xml version="1.0"?><?mso-application progid="Excel.Sheet"?>'
        '<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" '
        'xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet"><Worksheet ss:Name="Flota"><Table>'
        '<Row><Cell><Data ss:Type="String">Vehículo</Data></Cell><Cell><Data ss:Type="String">Km</Data></Cell></Row>'
        '<Row><Cell><Data ss:Type="String">Furgoneta</Data></Cell><Cell><Data ss:Type="Number">48210</Data></Cell>'
        "</Row></Table></Worksheet></Workbook>",
        encoding="utf-8",
    )
    (table,) = parse_file(sheet, OPTIONS).blocks
    assert table.kind is BlockKind.TABLE and table.sheet == "Flota"
    assert table.text.splitlines()[::2] == ["| Vehículo | Km |", "| Furgoneta | 48210 |"]


def test_every_new_suffix_is_supported() -> None:
    from ingest.parsing import SUPPORTED_SUFFIXES

    for suffix in (".doc", ".xls", ".ppt", ".rtf", ".odp", ".ods", ".epub", ".zip", ".xml", ".json", ".jsonl"):
        assert suffix in SUPPORTED_SUFFIXES


# -- images ----------------------------------------------------------------------------------------


@pytest.mark.integration
def test_a_scanned_image_is_ocred_and_inside_a_zip_too(tmp_path: Path) -> None:
    from PIL import Image, ImageDraw, ImageFont

    from ingest.parsing.ocr import tesseract_path

    if tesseract_path() is None:
        pytest.skip("tesseract is not installed; `make system` installs it.")
    image = Image.new("L", (1400, 200), 255)
    ImageDraw.Draw(image).text((30, 60), "Reunion del comite el lunes", fill=0, font=ImageFont.load_default(size=48))
    png = tmp_path / "acta.png"
    image.save(png)
    parsed = parse_file(png, ParseOptions(ocr_languages="eng"))
    assert parsed.format == "image" and parsed.title == "acta"
    assert "comite el lunes" in text_of(parsed)
    archive = tmp_path / "escaneos.zip"
    archive.write_bytes(_zip_bytes({"2024/acta.png": png.read_bytes()}))
    inside = parse_file(archive, ParseOptions(ocr_languages="eng"))
    assert inside.blocks[0].part == "2024/acta.png" and "comite el lunes" in text_of(inside)
    with pytest.raises(SkipFile) as info:
        parse_file(png, OPTIONS)  # OCR off: skipped for that reason, not for its type
    assert "OCR" in info.value.reason and "not supported" not in info.value.reason


def test_an_xls_that_xlrd_cannot_read_goes_to_libreoffice(legacy: dict[str, Path], tmp_path: Path) -> None:
    # Web pages saved as .xls are common in old archives; xlrd refuses them, LibreOffice reads them.
    path = tmp_path / "precios.xls"
    path.write_text(
        "<html><body><table><tr><td>Producto</td><td>Precio</td></tr><tr><td>Café</td><td>2</td></tr></table>"
        "</body></html>",
        encoding="utf-8",
    )
    parsed = parse_file(path, OPTIONS)
    assert parsed.format == "xls"
    assert parsed.blocks[0].text.splitlines()[0] == "| Producto | Precio |"
    assert any("LibreOffice" in n for n in parsed.notes)
    assert not any("LibreOffice" in n for n in parse_file(legacy["xls"], OPTIONS).notes)  # xlrd read that one
