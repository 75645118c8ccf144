"""Text-layer quality, titles and page marks: garbage is recognised, re-read by OCR, never a title.

The PDFs are made here with reportlab; the scanned page is an image of our own text with an
invisible, garbled text layer over it, the way poor OCR engines leave scans.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

from ingest.parsing import ParseOptions, parse_file
from ingest.parsing.context import pick_title
from ingest.parsing.ocr import tesseract_path
from ingest.parsing.quality import is_real_title, text_quality

CLEAN_ES = (
    "La dieta diaria para un viaje internacional es de ochenta y cinco euros por persona. El alojamiento se "
    "reserva con la agencia de la empresa y se paga con la tarjeta corporativa."
)
CLEAN_EN = (
    "Desiring to keep you posted on the progress of the Foundation, you will be interested to know that "
    "to date the Foundation has received the following letters from its new members."
)
GARBLED = (
    "«POAH «3E*»CM tanntxim. inc. /^. ^ toi n»Bfl. iseorty ttsrootj saifii, GROTE, nut, s*r;tiiR» and FRG&t "
    "OSZ H. USSSOBS Eeairing to keep yoa pcsted cn thc prcgress of tha Foundatlon yon Kill tee interested "
    "to knot that to defce the Foundation, hes received •the fallowings (te) A letter froas Calif&rr-.la."
)


def test_clean_prose_is_readable_and_a_garbled_layer_is_not() -> None:
    assert text_quality(CLEAN_ES).readable and text_quality(CLEAN_ES).language == "es"
    assert text_quality(CLEAN_EN).readable
    garbled = text_quality(GARBLED)
    assert not garbled.readable, garbled
    assert garbled.score < text_quality(CLEAN_EN).score


@pytest.mark.parametrize(
    "text",
    [
        "대한민국 헌법 제1조 대한민국은 민주공화국이다. 대한민국의 주권은 국민에게 있고, 모든 권력은 국민으로부터 나온다.",
        "人人生而自由，在尊严和权利上一律平等。他们赋有理性和良心，并应以兄弟关系的精神相对待。",
        "すべての人間は、生まれながらにして自由であり、かつ、尊厳と権利とについて平等である。",
    ],
    ids=["ko", "zh", "ja"],
)
def test_scripts_without_a_usable_word_list_are_judged_without_one(text: str) -> None:
    # wordfreq needs extra tokenizers for these languages; the score must neither fail nor call them garbage.
    assert text_quality(text * 3).readable


@pytest.mark.parametrize(
    "candidate",
    ["5", "12", "- 3 -", "Page 4 of 10", "Página 2 de 9", "iv", "2023-05-01", "«POAH «3E*»CM tanntxim. inc. /^. ^",
     "toi n»Bfl. iseorty ttsrootj saifii, GROTE, nut", "QUJDRGVmZ2hpamtsbW5vcHFyc3R1dnd4eXo0NTY3ODkwMTIz", "Untitled", "Document1", "Libro1", "제목 없음",
     "Untitled document", "Ee", "a I ."],
)  # fmt: skip
def test_numbers_page_marks_noise_and_blobs_are_never_titles(candidate: str) -> None:
    assert pick_title(candidate, fallback="informe-2023") == "informe-2023"


@pytest.mark.parametrize(
    "title",
    ["Política de viajes", "PDF Example Document", "Informe anual 2023", "RFC 2616", "한국어 문서 제목", "Test Email"],
)
def test_real_titles_are_kept(title: str) -> None:
    assert is_real_title(title)
    assert pick_title(title, fallback="x") == title


def test_a_tool_prefix_is_taken_off_a_metadata_title() -> None:
    assert pick_title("Microsoft Word - Plan de formación.docx", fallback="x") == "Plan de formación"


def _pdf(path: Path, pages: list[list[str]]) -> Path:
    pdf = canvas.Canvas(str(path), pagesize=A4)
    for lines in pages:
        y = 800
        for line in lines:
            pdf.drawString(72, y, line)
            y -= 18
        pdf.showPage()
    pdf.save()
    return path


def test_pdf_title_is_the_first_heading_not_a_page_number_or_running_header(tmp_path: Path) -> None:
    path = _pdf(
        tmp_path / "auditoria.pdf",
        [
            ["ACME S.A. - Documento confidencial", "5", "Informe de auditoría interna", CLEAN_ES[:90]],
            ["ACME S.A. - Documento confidencial", "6", CLEAN_ES[90:]],
        ],
    )
    parsed = parse_file(path, ParseOptions(ocr=False))
    assert parsed.title == "Informe de auditoría interna"


def test_pdf_without_any_heading_is_titled_by_its_file_name(tmp_path: Path) -> None:
    path = _pdf(tmp_path / "memoria-2023.pdf", [["7", CLEAN_ES[:95], CLEAN_ES[95:]]])
    assert parse_file(path, ParseOptions(ocr=False)).title == "memoria-2023"


def _scan_with_garbled_layer(path: Path) -> Path:
    """An image of CLEAN_EN (what a reader sees) under an invisible GARBLED text layer."""
    font = ImageFont.load_default(size=34)
    image = Image.new("L", (1600, 700), 255)
    draw = ImageDraw.Draw(image)
    words, lines, line = CLEAN_EN.split(), [], ""
    for word in words:
        if len(line) + len(word) > 60:
            lines.append(line)
            line = ""
        line = f"{line} {word}".strip()
    lines.append(line)
    for i, text in enumerate(lines):
        draw.text((40, 40 + i * 60), text, fill=0, font=font)
    png = io.BytesIO()
    image.save(png, format="PNG")
    pdf = canvas.Canvas(str(path), pagesize=A4)
    pdf.drawImage(ImageReader(io.BytesIO(png.getvalue())), 36, 450, width=520, height=228)
    layer = pdf.beginText(40, 700)
    layer.setTextRenderMode(3)  # invisible, as OCR engines write their layer
    for chunk in range(0, len(GARBLED), 80):
        layer.textLine(GARBLED[chunk : chunk + 80])
    pdf.drawText(layer)
    pdf.showPage()
    pdf.save()
    return path


@pytest.mark.integration
def test_an_unreadable_text_layer_is_ocred_again_and_the_better_text_kept(tmp_path: Path) -> None:
    if tesseract_path() is None:
        pytest.skip("tesseract is not installed; `make system` installs it.")
    path = _scan_with_garbled_layer(tmp_path / "escaneo.pdf")
    without = parse_file(path, ParseOptions(ocr=False))
    assert "tanntxim" in without.blocks[0].text  # what was indexed before
    parsed = parse_file(path, ParseOptions(ocr_languages="eng"))
    assert parsed.ocr_pages == (1,)
    assert "progress of the Foundation" in " ".join(parsed.blocks[0].text.split())
    assert "tanntxim" not in parsed.blocks[0].text
    assert any(n.startswith("Page 1: the text layer looked unreadable") for n in parsed.notes)
    assert parsed.title == "escaneo"  # not the garbage, nor the first line of a paragraph: no heading, its name


@pytest.mark.integration
def test_ocr_stops_at_the_page_cap(tmp_path: Path) -> None:
    if tesseract_path() is None:
        pytest.skip("tesseract is not installed.")
    path = _pdf(tmp_path / "vacio.pdf", [[], [], [], [CLEAN_ES[:80]]])
    parsed = parse_file(path, ParseOptions(ocr_max_pages=2))
    assert any("only the first 2 were OCRed" in n for n in parsed.notes), parsed.notes


def test_the_first_lines_of_a_paragraph_or_an_address_list_are_no_title(tmp_path: Path) -> None:
    # As unstructured's pdf-with-ocr-text.pdf once OCRed: "TO:" read as "TOr", a list cut after "and",
    # a paragraph wrapped line by line, and a lead-in after an OCR'd quote mark.
    path = _pdf(
        tmp_path / "carta-fundacion.pdf",
        [
            [
                "TOr MESSRS, ABBOTT, BOSTOCK, BUNKER, GREW, KELLY, NADLER, and",
                "FROM: ODE E. LAMBORN",
                "Desiring to keep you posted on the progress of the Foundation",
                "you will be interested to know that to date the Foundation has received",
                "\u2018the following:",
                CLEAN_EN,
            ]
        ],
    )
    assert parse_file(path, ParseOptions(ocr=False)).title == "carta-fundacion"


def test_a_memo_is_titled_by_its_subject_not_its_addressees(tmp_path: Path) -> None:
    path = _pdf(
        tmp_path / "memo.pdf",
        [["TO: ANA GARCIA, LUIS PEREZ", "FROM: DIRECCION", "ASUNTO: Cierre del ejercicio 2023", CLEAN_ES]],
    )
    assert parse_file(path, ParseOptions(ocr=False)).title == "Cierre del ejercicio 2023"
