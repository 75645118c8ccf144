"""How the sample corpus's binary files are written: DOCX, PDF, PPTX and XLSX, deterministically.

Fixed dates, authors and ZIP timestamps, and ReportLab's invariant mode, so that running
``samples/build_corpus.py`` twice gives byte-identical files.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from docx import Document
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt
from docx.table import _Row
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from pptx import Presentation
from pptx.util import Inches
from pptx.util import Pt as PptPt
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.platypus import (
    ListFlowable,
    ListItem,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

FIXED_DATETIME = dt.datetime(2026, 1, 15, 9, 0, 0)
"""Every generated file claims this creation/modification time (naive, meaning UTC)."""
FIXED_ZIP_TIME = (2026, 1, 15, 9, 0, 0)
COMPANY = "Aurora Logística S.L."

Row = Sequence[str]


@dataclass(frozen=True)
class Section:
    """A heading followed by paragraphs, bullet points and, optionally, a table."""

    heading: str
    paragraphs: Sequence[str] = ()
    bullets: Sequence[str] = ()
    table: Sequence[Row] | None = None
    """First row is the header."""
    page_break_before: bool = False


_CORE_DATE_RE = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:(?:created|modified)>)")


def normalize_ooxml(path: Path) -> None:
    """Rewrite an Office (ZIP) file with fixed member timestamps and fixed core dates.

    python-docx, python-pptx and openpyxl stamp ZIP members (and openpyxl the
    ``dcterms:modified`` property) with the current time; this makes the output reproducible.
    """
    stamp = FIXED_DATETIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(path) as src:
        members = [(info.filename, src.read(info.filename)) for info in src.infolist()]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for name, data in members:
            if name == "docProps/core.xml":
                data = _CORE_DATE_RE.sub(rb"\g<1>" + stamp + rb"\g<2>", data)
            info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            dst.writestr(info, data)
    path.write_bytes(buffer.getvalue())


def _mark_header_row(row: _Row) -> None:
    """Flag a table row as the header row (``w:tblHeader``), as Word does for real headers."""
    tr_pr = row._tr.get_or_add_trPr()
    flag = OxmlElement("w:tblHeader")
    flag.set(qn("w:val"), "true")
    tr_pr.append(flag)


def write_docx(path: Path, *, title: str, subtitle: str, author: str, sections: Sequence[Section]) -> None:
    document = Document()
    props = document.core_properties
    props.title = title
    props.author = author
    props.last_modified_by = author
    props.created = FIXED_DATETIME
    props.modified = FIXED_DATETIME
    props.revision = 1
    props.language = "es-ES"
    props.comments = "Fictional document for the Fuente sample corpus."

    normal = document.styles["Normal"]
    normal.font.name = "Calibri"
    normal.font.size = Pt(11)

    document.add_heading(title, level=0)
    document.add_paragraph(subtitle).runs[0].italic = True
    for section in sections:
        if section.page_break_before:
            document.add_page_break()
        document.add_heading(section.heading, level=1)
        for text in section.paragraphs:
            document.add_paragraph(text)
        for text in section.bullets:
            document.add_paragraph(text, style="List Bullet")
        if section.table:
            header, *body = section.table
            table = document.add_table(rows=1, cols=len(header))
            table.style = "Table Grid"
            _mark_header_row(table.rows[0])
            for cell, text in zip(table.rows[0].cells, header, strict=True):
                cell.text = text
                for run in cell.paragraphs[0].runs:
                    run.bold = True
            for row in body:
                cells = table.add_row().cells
                for cell, text in zip(cells, row, strict=True):
                    cell.text = text
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    normalize_ooxml(path)


def _pdf_styles() -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    return {
        "title": base["Title"],
        "subtitle": ParagraphStyle(
            "subtitle",
            parent=base["Normal"],
            fontSize=10,
            textColor=colors.HexColor("#444444"),
            spaceAfter=12,
        ),
        "h1": base["Heading2"],
        "body": ParagraphStyle("body", parent=base["BodyText"], fontSize=10, leading=14),
        "cell": ParagraphStyle("cell", parent=base["BodyText"], fontSize=9, leading=11),
    }


def write_pdf(
    path: Path,
    *,
    title: str,
    subtitle: str,
    author: str,
    subject: str,
    sections: Sequence[Section],
    footer: str,
) -> None:
    styles = _pdf_styles()
    story: list = [Paragraph(title, styles["title"]), Paragraph(subtitle, styles["subtitle"])]
    for section in sections:
        if section.page_break_before:
            story.append(PageBreak())
        story.append(Paragraph(section.heading, styles["h1"]))
        for text in section.paragraphs:
            story.append(Paragraph(text, styles["body"]))
            story.append(Spacer(1, 4))
        if section.bullets:
            items = [ListItem(Paragraph(t, styles["body"]), leftIndent=12) for t in section.bullets]
            story.append(ListFlowable(items, bulletType="bullet", start="•", leftIndent=12))
        if section.table:
            data = [[Paragraph(cell, styles["cell"]) for cell in row] for row in section.table]
            table = Table(data, repeatRows=1, hAlign="LEFT")
            table.setStyle(
                TableStyle(
                    [
                        ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#DDE6F0")),
                        ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ]
                )
            )
            story.append(Spacer(1, 4))
            story.append(table)
            story.append(Spacer(1, 8))

    def on_page(canvas, doc) -> None:  # type: ignore[no-untyped-def]
        canvas.saveState()
        canvas.setFont("Helvetica", 8)
        canvas.drawString(2 * cm, 1.2 * cm, footer)
        canvas.drawRightString(A4[0] - 2 * cm, 1.2 * cm, f"Page {doc.page}")
        canvas.restoreState()

    path.parent.mkdir(parents=True, exist_ok=True)
    doc = SimpleDocTemplate(
        str(path),
        pagesize=A4,
        title=title,
        author=author,
        subject=subject,
        creator="Fuente samples/build_corpus.py",
        invariant=True,
        leftMargin=2 * cm,
        rightMargin=2 * cm,
        topMargin=2 * cm,
        bottomMargin=2 * cm,
    )
    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)


@dataclass(frozen=True)
class Slide:
    title: str
    bullets: Sequence[str] = ()
    table: Sequence[Row] | None = None


def write_pptx(path: Path, *, title: str, subtitle: str, slides: Sequence[Slide], author: str) -> None:
    presentation = Presentation()
    props = presentation.core_properties
    props.title = title
    props.author = author
    props.last_modified_by = author
    props.created = FIXED_DATETIME
    props.modified = FIXED_DATETIME
    props.revision = 1
    props.language = "en-GB"

    cover = presentation.slides.add_slide(presentation.slide_layouts[0])
    cover.shapes.title.text = title
    cover.placeholders[1].text = subtitle

    for spec in slides:
        if spec.table:
            slide = presentation.slides.add_slide(presentation.slide_layouts[5])  # title only
            slide.shapes.title.text = spec.title
            n_rows, n_cols = len(spec.table), len(spec.table[0])
            shape = slide.shapes.add_table(n_rows, n_cols, Inches(0.5), Inches(1.8), Inches(9.0), Inches(0.4 * n_rows))
            for r, row in enumerate(spec.table):
                for c, text in enumerate(row):
                    cell = shape.table.cell(r, c)
                    cell.text = text
                    cell.text_frame.paragraphs[0].runs[0].font.size = PptPt(14)
        else:
            slide = presentation.slides.add_slide(presentation.slide_layouts[1])
            slide.shapes.title.text = spec.title
            body = slide.placeholders[1].text_frame
            body.text = spec.bullets[0]
            for text in spec.bullets[1:]:
                body.add_paragraph().text = text
    path.parent.mkdir(parents=True, exist_ok=True)
    presentation.save(str(path))
    normalize_ooxml(path)


@dataclass(frozen=True)
class Sheet:
    name: str
    rows: Sequence[Sequence[str | int | float | dt.date | None]]
    """First row is the header."""
    number_format: str | None = None


def write_xlsx(path: Path, *, title: str, author: str, sheets: Sequence[Sheet]) -> None:
    workbook = Workbook()
    workbook.remove(workbook.active)
    workbook.properties.title = title
    workbook.properties.creator = author
    workbook.properties.lastModifiedBy = author
    workbook.properties.created = FIXED_DATETIME
    workbook.properties.modified = FIXED_DATETIME
    header_font = Font(bold=True)
    header_fill = PatternFill("solid", fgColor="DDE6F0")
    for spec in sheets:
        sheet = workbook.create_sheet(spec.name)
        for row in spec.rows:
            sheet.append(list(row))
        for cell in sheet[1]:
            cell.font = header_font
            cell.fill = header_fill
        sheet.freeze_panes = "A2"
        for index, column in enumerate(sheet.iter_cols(), start=1):
            width = max(len(_cell_text(c.value)) for c in column) + 2
            sheet.column_dimensions[get_column_letter(index)].width = min(width, 60)
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, dt.date):
                    cell.number_format = "DD/MM/YYYY"
                elif isinstance(cell.value, float) and spec.number_format:
                    cell.number_format = spec.number_format
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(str(path))
    normalize_ooxml(path)


def _cell_text(value: object) -> str:
    if isinstance(value, dt.date):
        return "00/00/0000"
    return "" if value is None else str(value)
