"""Oddly encoded text, HTML, e-mail, slides and ODT: each is parsed or refused with one clear sentence.

All inputs are generated here (python-pptx, the email package). Hostile Office, PDF and archive inputs
are in tests/test_parsing_bad_input.py.
"""

from __future__ import annotations

import io
import os
import zipfile
from email.message import EmailMessage
from pathlib import Path

import openpyxl
import pytest

from ingest.errors import ParseFailure, SkipFile
from ingest.parsing import parse_bytes, parse_file
from ingest.parsing.safety import OLE2_MAGIC
from rag.types import BlockKind
from tests.helpers import OPTIONS, assert_one_sentence, rejected, text_of
from tests.test_parsing_bad_input import make_docx

SPANISH = "¿Dónde está el niño? La señora pagó 25 € por el café «ñoño»."


# -- text encodings ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "encoded",
    [
        pytest.param(SPANISH.encode("utf-8"), id="utf-8"),
        pytest.param(b"\xef\xbb\xbf" + SPANISH.encode("utf-8"), id="utf-8-bom"),
        pytest.param(SPANISH.encode("utf-16"), id="utf-16-bom"),
        pytest.param(b"\xfe\xff" + SPANISH.encode("utf-16-be"), id="utf-16-be-bom"),
        pytest.param(SPANISH.encode("utf-16-le"), id="utf-16-le-no-bom"),
        pytest.param(SPANISH.encode("utf-32"), id="utf-32-bom"),
        pytest.param(SPANISH.encode("utf-32-be"), id="utf-32-be-no-bom"),
        pytest.param(SPANISH.encode("cp1252"), id="cp1252"),
    ],
)
def test_text_encodings_decode_to_the_same_text(tmp_path: Path, encoded: bytes) -> None:
    path = tmp_path / "nota.txt"
    path.write_bytes(encoded)
    assert text_of(parse_file(path, OPTIONS)) == SPANISH


def test_latin1_markdown_with_table(tmp_path: Path) -> None:
    source = "# Año fiscal\n\nIntroducción.\n\n| Mes | Importe |\n|---|---|\n| Enero | 10 |\n\nFin.\n"
    path = tmp_path / "resumen.md"
    path.write_bytes(source.encode("latin-1"))
    parsed = parse_file(path, OPTIONS)
    assert parsed.title == "Año fiscal"
    assert [b.kind for b in parsed.blocks] == [BlockKind.TEXT, BlockKind.TABLE, BlockKind.TEXT]
    assert parsed.blocks[0].text == "# Año fiscal\n\nIntroducción."
    assert parsed.blocks[1].heading_path == ("Año fiscal",)


def test_text_is_cleaned(tmp_path: Path) -> None:
    path = tmp_path / "sucio.txt"
    path.write_bytes(b"\r\n\r\nuno   \r\n\r\n\r\n\r\ndos\t \x00\r\n\r\n\r\n")
    assert text_of(parse_file(path, OPTIONS)) == "uno\n\ndos"


def test_html_uses_declared_charset_and_drops_scripts_and_navigation(tmp_path: Path) -> None:
    page = (
        "<html><head><meta charset='windows-1252'><title>Política</title>"
        "<script>var x = 'oculto';</script><style>p {color: red}</style></head>"
        "<body><nav>Inicio | Contacto</nav><h1>Política de viajes</h1>"
        "<p>Los empleados “viajan” en clase turista.</p>"
        "<table><tr><th>Destino</th><th>Tope</th></tr><tr><td>Bogotá</td><td>300 €</td></tr></table>"
        "<div style='display:none'>invisible</div></body></html>"
    )
    path = tmp_path / "politica.html"
    path.write_bytes(page.encode("cp1252"))
    parsed = parse_file(path, OPTIONS)
    text = text_of(parsed)
    assert parsed.title == "Política"
    assert "# Política de viajes" in text and "“viajan”" in text
    for hidden in ("oculto", "color: red", "Contacto", "invisible"):
        assert hidden not in text
    table = parsed.blocks[-1]
    assert table.kind is BlockKind.TABLE
    assert table.text.splitlines()[0] == "| Destino | Tope |"
    assert "| Bogotá | 300 € |" in table.text


# -- e-mail ------------------------------------------------------------------------------------


def make_eml(tmp_path: Path) -> Path:
    message = EmailMessage()
    message["From"] = "Ana Pérez <ana@example.com>"
    message["To"] = "equipo@example.com"
    message["Subject"] = "Presupuesto revisado"
    message["Date"] = "Mon, 06 May 2024 10:00:00 +0200"
    message.set_content("Hola equipo,\n\nadjunto el presupuesto.\n")
    message.add_attachment(
        make_docx(tmp_path / "presupuesto.docx").read_bytes(),
        maintype="application",
        subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
        filename="presupuesto.docx",
    )
    message.add_attachment(os.urandom(2048), maintype="application", subtype="pdf", filename="roto.pdf")
    message.add_attachment(b"MZ\x90\x00", maintype="application", subtype="octet-stream", filename="setup.exe")
    path = tmp_path / "correo.eml"
    path.write_bytes(message.as_bytes())
    return path


def test_eml_with_attachments_parses_the_good_ones_and_notes_the_rest(tmp_path: Path) -> None:
    parsed = parse_file(make_eml(tmp_path), OPTIONS)
    assert parsed.title == "Presupuesto revisado"
    head = parsed.blocks[0]
    assert head.part is None
    assert head.text.startswith("From: Ana Pérez <ana@example.com>\nTo: equipo@example.com\n")
    assert "Subject: Presupuesto revisado" in head.text and "adjunto el presupuesto." in head.text
    attached = [b for b in parsed.blocks if b.part == "presupuesto.docx"]
    assert attached and all(b.part_title == "Informe anual" for b in attached)
    assert any(b.kind is BlockKind.TABLE for b in attached)
    assert len(parsed.notes) == 2
    assert any("roto.pdf" in note for note in parsed.notes)
    assert any("setup.exe" in note and "not supported" in note for note in parsed.notes)


def test_eml_in_utf16_with_html_only_body(tmp_path: Path) -> None:
    message = EmailMessage()
    message["Subject"] = "Aviso"
    message["From"] = "it@example.com"
    message.set_content("<p>El servidor <b>se reinicia</b> el sábado.</p>", subtype="html")
    path = tmp_path / "aviso.eml"
    path.write_bytes(message.as_string().encode("utf-16"))
    parsed = parse_file(path, OPTIONS)
    assert "El servidor se reinicia el sábado." in text_of(parsed)
    assert "<p>" not in text_of(parsed)


def test_smime_encrypted_eml_is_skipped(tmp_path: Path) -> None:
    message = EmailMessage()
    message["Subject"] = "Secreto"
    message.set_content(
        b"\x30\x80garbage", maintype="application", subtype="pkcs7-mime",
        params={"smime-type": "enveloped-data", "name": "smime.p7m"},
    )  # fmt: skip
    path = tmp_path / "secreto.eml"
    path.write_bytes(message.as_bytes())
    error = rejected(path)
    assert isinstance(error, SkipFile)
    assert "encrypted" in error.reason


def test_random_bytes_msg_fails(tmp_path: Path) -> None:
    path = tmp_path / "broken.msg"
    path.write_bytes(OLE2_MAGIC + os.urandom(2048))
    assert isinstance(rejected(path), ParseFailure)


def test_parse_bytes_refuses_too_deep_nesting() -> None:
    with pytest.raises(SkipFile) as info:
        parse_bytes("inner.txt", b"hola", OPTIONS, depth=OPTIONS.max_attachment_depth + 1)
    assert_one_sentence(info.value.reason)


def test_parse_bytes_uses_the_part_name_for_title_and_format() -> None:
    parsed = parse_bytes("Notas de la reunión.md", b"# Acta\n\nAcuerdos.", OPTIONS)
    assert parsed.format == "md" and parsed.title == "Acta"
    buffer = io.BytesIO()
    openpyxl.Workbook().save(buffer)
    with pytest.raises(SkipFile):
        parse_bytes("vacío.xlsx", buffer.getvalue(), OPTIONS)


def test_pptx_slides_keep_titles_tables_and_speaker_notes(tmp_path: Path) -> None:
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    first = deck.slides.add_slide(deck.slide_layouts[1])
    first.shapes.title.text = "Objetivos 2025"
    first.placeholders[1].text = "Reducir costes un 10 %"
    first.notes_slide.notes_text_frame.text = "Recordar el contexto del año pasado."
    second = deck.slides.add_slide(deck.slide_layouts[5])
    second.shapes.title.text = "Presupuesto"
    table = second.shapes.add_table(2, 2, Inches(1), Inches(2), Inches(4), Inches(1)).table
    for (r, c), value in {(0, 0): "Área", (0, 1): "Importe", (1, 0): "TI", (1, 1): "40"}.items():
        table.cell(r, c).text = value
    path = tmp_path / "plan.pptx"
    deck.save(str(path))

    parsed = parse_file(path, OPTIONS)
    assert parsed.title == "Objetivos 2025"
    text_one, text_two, table_two = parsed.blocks
    assert (text_one.slide, text_two.slide, table_two.slide) == (1, 2, 2)
    assert text_one.text.startswith("# Objetivos 2025\n\nReducir costes un 10 %")
    assert "Recordar el contexto del año pasado." in text_one.text
    assert text_two.text == "# Presupuesto"
    assert table_two.kind is BlockKind.TABLE and table_two.heading_path == ("Presupuesto",)
    assert table_two.text.splitlines()[0] == "| Área | Importe |"


def test_each_point_of_a_slide_is_a_sentence_of_its_own(tmp_path: Path) -> None:
    """Points without a full stop ("Summer hours: 08:00-15:00") once ran together into one evidence item."""
    from pptx import Presentation

    from rag.types import AccessLabel, Chunk, Sensitivity
    from rag.verify.sentences import evidence_units

    deck = Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[1])
    slide.shapes.title.text = "People"
    slide.placeholders[1].text = "Employee survey: 82% participation\nSummer hours: offices work 08:00-15:00"
    path = tmp_path / "people.pptx"
    deck.save(str(path))

    (block,) = parse_file(path, OPTIONS).blocks
    chunk = Chunk(id="c", doc_id="d", text=block.text, ordinal=0, source_uri=str(path), title="People",
                  access=AccessLabel(frozenset({"all"}), Sensitivity.INTERNAL), language="en", modified=0.0,
                  content_hash="h")  # fmt: skip
    assert evidence_units(chunk) == ["Employee survey: 82% participation", "Summer hours: offices work 08:00-15:00"]


def test_password_protected_odt_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "cifrado.odt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        archive.writestr(
            "META-INF/manifest.xml",
            '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
            '<manifest:file-entry manifest:full-path="content.xml"><manifest:encryption-data/>'
            "</manifest:file-entry></manifest:manifest>",
        )
        archive.writestr("content.xml", os.urandom(256))
    error = rejected(path)
    assert isinstance(error, SkipFile)
    assert "password-protected" in error.reason
