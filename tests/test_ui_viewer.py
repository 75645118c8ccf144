"""The source viewer's logic: a quote found again in a PDF page and highlighted where it stands,
in a chunk's text and tables; no markup from a document gets through."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ui.chunk_view import quote_line, render_chunk
from ui.pdf_view import Box, find_page, render
from ui.quote_match import find_spans, fold

PAGE_W, PAGE_H = 595.0, 842.0  # A4 in points
FONT, SIZE = "Helvetica", 11
# The sentence the model cited, as the parser gave it (one line, no hyphen) ...
QUOTE = "The daily allowance for international travel is seventy-five euros per day, paid with the monthly payroll."
# ... and as the page sets it: two lines, "euros" hyphenated at the break.
LINES = [
    (72.0, 640.0, "The daily allowance for international travel is seventy-five eu-"),
    (72.0, 626.0, "ros per day, paid with the monthly payroll."),
]
DECOY = (72.0, 560.0, "The daily allowance for domestic travel is forty euros per day.")


def _pdf(path: Path) -> Path:
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=(PAGE_W, PAGE_H))
    c.setFont(FONT, SIZE)
    c.drawString(72, 760, "Page one is about the office opening hours.")
    c.showPage()
    c.setFont(FONT, SIZE)
    c.drawString(72, 760, "Travel policy of Aurora Logistics")
    for x, y, text in [*LINES, DECOY]:
        c.drawString(x, y, text)
    c.save()
    return path


def _expected_box(x: float, y: float, text: str, scale: float) -> Box:
    """Where a line of text stands on the rendered image (Helvetica's ascent and descent)."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    width = stringWidth(text, FONT, SIZE)
    top, bottom = y + 0.72 * SIZE, y - 0.2 * SIZE
    return Box(
        round(x * scale), round((PAGE_H - top) * scale), round((x + width) * scale), round((PAGE_H - bottom) * scale)
    )


def _covers(outer: Box, inner: Box, slack: int = 4) -> bool:
    return (
        outer.left <= inner.left + slack
        and outer.right >= inner.right - slack
        and outer.top <= inner.top + slack
        and outer.bottom >= inner.bottom - slack
    )


def _overlaps(a: Box, b: Box) -> bool:
    return a.left < b.right and b.left < a.right and a.top < b.bottom and b.top < a.bottom


@pytest.fixture(scope="module")
def pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _pdf(tmp_path_factory.mktemp("pdf") / "travel.pdf")


def test_the_quoted_sentence_is_highlighted_where_it_stands(pdf: Path) -> None:
    view = render(pdf, 2, QUOTE, width=1190)
    scale = view.width / PAGE_W
    assert (view.page, view.pages) == (2, 2)
    assert len(view.boxes) == 2, view.boxes  # one box per line the sentence spans
    for box, (x, y, text) in zip(view.boxes, LINES, strict=True):
        assert _covers(box, _expected_box(x, y, text, scale)), (box, text)
    decoy = _expected_box(*DECOY, scale)
    title = _expected_box(72, 760, "Travel policy of Aurora Logistics", scale)
    assert not any(_overlaps(b, decoy) or _overlaps(b, title) for b in view.boxes)
    # The highlight is drawn on the image: yellow pixels inside the first box, none on the decoy.
    image = Image.open(io.BytesIO(view.png)).convert("RGB")
    assert image.size == (view.width, view.height)

    def yellowish(box: Box) -> int:
        px = np.asarray(image.crop((box.left, box.top, box.right, box.bottom))).astype(int)
        return int(((px[..., 0] > 200) & (px[..., 1] > 170) & (px[..., 2] < 150)).sum())

    assert yellowish(view.boxes[0]) > 0.3 * (view.boxes[0].right - view.boxes[0].left) * 10
    assert yellowish(decoy) == 0


def test_a_sentence_not_on_the_page_is_not_highlighted(pdf: Path) -> None:
    assert not render(pdf, 2, "Employees may work from home three days a week.").found
    # The right sentence on the wrong page: nothing there either (the viewer shows the cited page).
    assert not render(pdf, 1, QUOTE).found


def test_the_page_of_a_quote_is_found_when_the_citation_names_none(pdf: Path) -> None:
    assert find_page(pdf, QUOTE) == 2
    assert find_page(pdf, "office opening hours") == 1
    assert find_page(pdf, "Nothing like this is written anywhere in it.") is None


def test_quotes_match_across_spacing_hyphens_case_and_ligatures() -> None:
    page = "Passwords must be at least 14 charac-\nters long.\u00a0Their de\ufb01nition is in annex 2."
    spans = find_spans(page, "passwords must be at least 14 characters long.")
    assert spans == [(0, page.index("long.") + len("long."))]
    assert find_spans(page, "Their definition is in annex 2") != []  # ﬁ ligature vs "fi"
    assert fold("ﬁ É\n-x")[0] == "fiéx"
    # A quote a parser rendered a little differently (a dropped word) still lands on its sentence.
    close = find_spans(page, "Passwords must be at least 14 characters.")
    assert close and close[0][0] == 0 and close[0][1] <= page.index("Their")
    assert find_spans(page, "Backups are kept for thirty-five days.") == []


def test_chunk_view_marks_the_quote_and_renders_tables() -> None:
    chunk = (
        "# Dietas\n\nLa dieta **diaria** depende del destino:\n\n"
        "| Tipo de viaje | Importe por día |\n|---|---|\n| Nacional | 40 € |\n| Internacional | 75 € |\n\n"
        "Se paga con la nómina."
    )
    view = render_chunk(chunk, "| Tipo de viaje | Importe por día |\n| Internacional | 75 € |")
    body = view.html.split("</style>", 1)[1]
    assert view.found and view.tables == 1
    assert "|" not in body and "**" not in body and "#" not in body  # no raw Markdown
    assert "<th><mark>Tipo de viaje</mark></th>" in body
    assert "<tr class='hit'><td><mark>Internacional</mark></td><td><mark>75 €</mark></td></tr>" in body
    assert "<tr><td>Nacional</td><td>40 €</td></tr>" in body  # the other row is not marked
    sentence = render_chunk(chunk, "Se paga con la nómina.")
    assert "<mark>Se paga con la nómina.</mark>" in sentence.html
    # An evidence item quotes its row as "header: cell" pairs: the row is found all the same.
    pairs = render_chunk(chunk, "Tipo de viaje: Internacional; Importe por día: 75 €").html.split("</style>", 1)[1]
    assert "<tr class='hit'><td><mark>Internacional</mark></td><td><mark>75 €</mark></td></tr>" in pairs
    assert "<tr><td>Nacional</td><td>40 €</td></tr>" in pairs
    assert not render_chunk(chunk, "El hotel se paga aparte.").found


def test_chunk_view_lets_no_markup_of_the_document_through() -> None:
    planted = '<img src="https://evil.example/x.png"> <script>alert(1)</script> [a](https://evil.example) hola'
    view = render_chunk(planted + "\n\n| <b>x</b> | y |\n|---|---|\n| 1 | 2 |", "hola")
    body = view.html.split("</style>", 1)[1]
    assert "<img" not in body and "<script" not in body and "<b>" not in body
    assert "&lt;img" in body and "&lt;b&gt;x&lt;/b&gt;" in body and "<mark>hola</mark>" in body


def test_a_table_quote_reads_as_one_line() -> None:
    assert quote_line("| Tipo de viaje | Importe por día |\n| Internacional | 75 € |") == (
        "Tipo de viaje: Internacional · Importe por día: 75 €"
    )
    snippet = "| Tipo de viaje | Importe por día | |---|---| | Nacional | 48 € | | Internacional | 75 € | | Otro"
    assert quote_line(snippet) == (
        "Tipo de viaje: Nacional · Importe por día: 48 € — Tipo de viaje: Internacional · Importe por día: 75 €"
    )
    assert quote_line("La dieta\n es de 75 €.") == "La dieta es de 75 €."
    assert quote_line("## 6. Liquidación\nEn **Gastos+** en **30 días**.") == "6. Liquidación En Gastos+ en 30 días."
