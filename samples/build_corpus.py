"""Build the binary files of the Fuente sample corpus (DOCX, PDF, PPTX, XLSX).

The text formats (Markdown, HTML, TXT, EML) are kept as hand-written files in
``samples/corpus``; this script writes only the binary ones, from the content defined below.
All content is invented for the fictional company Aurora Logística S.L.; see
``samples/FACTS.md`` for the facts each file carries.

Usage::

    python samples/build_corpus.py            # writes into samples/corpus/
    python samples/build_corpus.py --out DIR  # writes into DIR/{public,internal,...}

The output is deterministic: document metadata carries fixed dates and authors, ZIP members
carry a fixed timestamp, and PDFs are written in ReportLab's invariant mode. Running the
script twice gives byte-identical files.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable, Sequence
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

CORPUS_DIR = Path(__file__).resolve().parent / "corpus"

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


# --------------------------------------------------------------------------------------------
# Determinism helpers
# --------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------
# DOCX
# --------------------------------------------------------------------------------------------


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


ONBOARDING_SECTIONS: tuple[Section, ...] = (
    Section(
        "Antes de tu primer día",
        paragraphs=(
            "Unos días antes de tu incorporación recibirás un correo de "
            "onboarding@auroralogistica.example con tu usuario de Portal Aurora, el nombre de tu "
            "padrino o madrina y la hora de llegada.",
        ),
        bullets=(
            "Trae tu DNI o NIE y el número de cuenta bancaria para la nómina.",
            "Si trabajarás en un almacén, indica tu talla de calzado de seguridad y de chaleco.",
        ),
    ),
    Section(
        "Tu primer día",
        paragraphs=(
            "Te esperamos a las 9:00 en la recepción de tu centro. Laura Gimeno Ros, HR Business "
            "Partner, te dará la bienvenida, tu tarjeta de acceso y tu portátil (personal de "
            "oficina) o tu terminal de radiofrecuencia (personal de almacén).",
            "A las 12:00 comerás con tu equipo; la primera comida corre a cargo de la empresa.",
        ),
    ),
    Section(
        "Programa de padrinos y madrinas",
        paragraphs=(
            "Cada nueva incorporación tiene asignado un padrino o madrina durante sus primeros 90 "
            "días. Es una persona de otro equipo que te ayuda a conocer la empresa, resuelve dudas "
            "del día a día y se reúne contigo al menos una vez cada dos semanas.",
        ),
    ),
    Section(
        "Plan de las primeras semanas",
        table=(
            ("Momento", "Actividad", "Responsable"),
            ("Día 1", "Bienvenida, entrega de equipos y visita al centro", "HR Business Partner"),
            (
                "Semana 1",
                "Formación en prevención de riesgos laborales (PRL) de 4 horas para el personal de almacén",
                "Coordinador de PRL",
            ),
            ("Semana 1", "Alta en Portal Aurora, Gastos+ y Nexo ERP", "IT"),
            (
                "Primeros 30 días",
                "Curso obligatorio de ciberseguridad (en línea, 45 minutos)",
                "IT y Seguridad",
            ),
            ("Día 30", "Primera reunión de seguimiento", "Responsable directo"),
            ("Día 60", "Segunda reunión de seguimiento", "Responsable directo"),
            ("Día 90", "Reunión de cierre del onboarding y encuesta", "HR Business Partner"),
        ),
    ),
    Section(
        "Periodo de prueba",
        paragraphs=(
            "El periodo de prueba es de 6 meses para los puestos de técnico titulado y de 2 meses "
            "para el resto de puestos. Durante este periodo no se puede solicitar el régimen de "
            "teletrabajo.",
        ),
    ),
    Section(
        "Beneficios",
        bullets=(
            "Tarjeta de comida: 11 € por día laborable trabajado, cargados el primer día de cada mes.",
            "Seguro médico: la empresa paga el 100 % de la póliza de la persona empleada. Los "
            "familiares pueden adherirse a la tarifa de grupo. El alta debe solicitarse en los "
            "60 primeros días desde la incorporación.",
            "Descuento del 20 % en el gimnasio concertado de cada centro.",
        ),
    ),
    Section(
        "Contactos útiles",
        table=(
            ("Tema", "Contacto"),
            ("Dudas de onboarding", "onboarding@auroralogistica.example"),
            ("Soporte informático", "Extensión 4400 (helpdesk de IT)"),
            ("Nómina y contratos", "Nuria Camps Vidal, Administración de Personal"),
            ("Prevención de riesgos", "Sergio Beltrán Aznar, coordinador de PRL"),
        ),
    ),
)


SALARY_BAND_SECTIONS: tuple[Section, ...] = (
    Section(
        "Bandas salariales 2026 (España)",
        paragraphs=(
            "Importes en euros brutos anuales, jornada completa, repartidos en 14 pagas. "
            "Aprobadas por el Comité de Dirección el 9 de diciembre de 2025.",
        ),
        table=(
            ("Banda", "Puestos de ejemplo", "Mínimo", "Punto medio", "Máximo"),
            (
                "B1",
                "Operario/a de almacén, preparador/a de pedidos",
                "20.500 €",
                "23.000 €",
                "25.500 €",
            ),
            ("B2", "Carretillero/a, jefe/a de equipo", "23.500 €", "26.500 €", "29.500 €"),
            (
                "B3",
                "Técnico/a, administrativo/a, agente de tráfico",
                "27.000 €",
                "31.000 €",
                "35.000 €",
            ),
            ("B4", "Especialista, analista, key account", "34.000 €", "40.000 €", "46.000 €"),
            ("B5", "Responsable de área o de turno", "45.000 €", "53.000 €", "61.000 €"),
            ("B6", "Director/a", "62.000 €", "75.000 €", "88.000 €"),
        ),
    ),
    Section(
        "Revisión salarial 2026",
        paragraphs=(
            "Se aplica una revisión general del 3,2 % a todos los salarios base a partir del "
            "1 de abril de 2026. Se paga por primera vez en la nómina de abril.",
            "Las nuevas contrataciones no pueden superar el punto medio de su banda sin la "
            "aprobación de la directora de Personas, Lucía Ferrer Soler.",
        ),
    ),
    Section(
        "Retribución variable y complementos",
        bullets=(
            "Variable objetivo: 10 % del salario base en la banda B5 y 15 % en la banda B6.",
            "Plus de nocturnidad: 25 % sobre el salario base por hora trabajada entre las 22:00 y las 6:00.",
            "Plus de frío (cámara frigorífica de Sevilla): 95 € al mes.",
        ),
    ),
    Section(
        "Lisboa",
        paragraphs=(
            "Para la oficina de Lisboa se aplica un coeficiente de mercado de 0,88 sobre los "
            "importes de las bandas de España.",
        ),
    ),
)


# --------------------------------------------------------------------------------------------
# PDF
# --------------------------------------------------------------------------------------------


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


IT_SECURITY_SECTIONS: tuple[Section, ...] = (
    Section(
        "1. Purpose and scope",
        paragraphs=(
            "This policy sets the minimum security rules for everyone who uses Aurora Logística "
            "systems: employees, temporary staff and contractors, in every site (Valencia, "
            "Zaragoza, Sevilla and Lisbon) and when working remotely. It is reviewed every year; "
            "the next review is due in November 2026.",
        ),
    ),
    Section(
        "2. Passwords and passphrases",
        bullets=(
            "Passwords must be at least 14 characters long. Passphrases of four or more unrelated "
            "words are encouraged.",
            "Passwords do not expire on a fixed schedule. Change your password only when you "
            "suspect it has been exposed, or when IT asks you to.",
            "The last 10 passwords cannot be reused.",
            "An account is locked after 8 consecutive failed sign-in attempts. It unlocks "
            "automatically after 15 minutes, or earlier through the IT helpdesk.",
            "Store work passwords only in the company password manager, Aurora Vault. Never "
            "write them on paper or share them, not even with IT.",
        ),
    ),
    Section(
        "3. Multi-factor authentication (MFA)",
        paragraphs=(
            "MFA is mandatory for e-mail, the AuroraConnect VPN, Nexo ERP and Portal Aurora. "
            "Use an authenticator app on your phone or a FIDO2 hardware key. Codes sent by SMS "
            "are not accepted as a second factor. If you lose your phone, call the helpdesk to "
            "get a temporary access code.",
        ),
    ),
    Section(
        "4. Devices",
        bullets=(
            "All company laptops use full-disk encryption, which must never be disabled.",
            "Screens lock automatically after 5 minutes of inactivity; lock your screen "
            "yourself whenever you leave your desk.",
            "Critical security patches are installed within 48 hours of release; all other updates within 7 days.",
            "USB storage devices are blocked by default. IT may grant an exception for up to "
            "30 days when there is a business need.",
            "On personal phones and tablets, company e-mail may only be used through the "
            "managed mail app; company files must not be downloaded to personal devices.",
        ),
    ),
    Section(
        "5. Data classification",
        paragraphs=(
            "Every document is labelled with one of four levels. The label decides who may see "
            "the document and how it may be shared.",
        ),
        table=(
            ("Level", "Examples", "Handling"),
            ("Public", "Website, customer SLA, service catalogue", "May be shared with anyone."),
            (
                "Internal",
                "Policies, procedures, all-hands slides",
                "Employees only; do not forward outside the company.",
            ),
            (
                "Confidential",
                "Payroll, salary bands, personal data",
                "Only the named team (e.g. HR); encrypted when sent outside.",
            ),
            (
                "Restricted",
                "Board minutes, budget, bank agreements",
                "Only Finance and the Management Committee; never printed in shared printers.",
            ),
        ),
        page_break_before=True,
    ),
    Section(
        "6. E-mail and phishing",
        bullets=(
            "Report suspicious messages with the Report phishing button, or forward them to "
            "seguridad@auroralogistica.example. Do not click links or open attachments first.",
            "Any request to change a supplier's bank details must be confirmed by a phone call "
            "to a number already on file, made by two different people from Finance.",
            "IT runs a simulated phishing campaign every quarter.",
        ),
    ),
    Section(
        "7. Security incidents",
        bullets=(
            "A lost or stolen laptop, phone or access card must be reported to the IT helpdesk "
            "(extension 4400, option 9 outside office hours) within 1 hour of noticing it.",
            "Possible personal data breaches are escalated to the Data Protection Officer, Ana "
            "Belén Ruiz Castelló, who decides on notifying the supervisory authority within the "
            "72 hours required by the GDPR.",
        ),
    ),
    Section(
        "8. Backups",
        paragraphs=(
            "Servers and cloud mailboxes are backed up every night and backups "
            "are kept for 35 days. A restore test is carried out every quarter.",
        ),
    ),
    Section(
        "9. Training",
        paragraphs=(
            "All staff complete the annual security awareness course by 31 March each year. New "
            "employees complete it within their first 30 days.",
        ),
    ),
    Section(
        "10. Exceptions",
        paragraphs=(
            "Exceptions to this policy are requested through an IT ticket and approved by the "
            "Head of IT & Security for a maximum of 90 days. Breaches of this policy may lead to "
            "disciplinary action.",
        ),
    ),
)


BUDGET_SECTIONS: tuple[Section, ...] = (
    Section(
        "1. Executive summary",
        bullets=(
            "Revenue budget 2026: EUR 58.4 million, up 10.8% on the 2025 actual of EUR 52.7 million.",
            "EBITDA budget 2026: EUR 6.1 million, a margin of 10.4% (2025 actual: EUR 4.9 million, 9.3%).",
            "Capital expenditure (capex): EUR 4.2 million, led by the automated sorter in Zaragoza.",
            "Headcount: from 412 at 31 December 2025 to 436 at 31 December 2026 (24 net new positions).",
            "A contingency reserve of EUR 350,000 is held centrally by the CFO and is included "
            "in other operating costs.",
            "Net debt must stay below 1.5 times EBITDA at year end.",
        ),
    ),
    Section(
        "2. Profit and loss (EUR million)",
        table=(
            ("Line", "2025 actual", "2026 budget", "Change"),
            ("Revenue", "52.7", "58.4", "+10.8%"),
            ("Personnel costs", "22.6", "24.9", "+10.2%"),
            ("Transport subcontracting", "12.5", "13.8", "+10.4%"),
            ("Fuel and energy", "4.9", "5.2", "+6.1%"),
            ("Rent and facilities", "4.3", "4.6", "+7.0%"),
            ("Other operating costs", "3.5", "3.8", "+8.6%"),
            ("EBITDA", "4.9", "6.1", "+24.5%"),
        ),
    ),
    Section(
        "3. Revenue by site (EUR million, 2026 budget)",
        table=(
            ("Site", "Revenue", "Main driver"),
            ("Zaragoza", "24.1", "Automated sorter from October 2026"),
            ("Sevilla", "17.6", "Refrigerated storage for food retail"),
            ("Lisbon", "9.8", "New Portuguese customers"),
            ("Valencia", "6.9", "Transport contracts managed from headquarters"),
            ("Total", "58.4", ""),
        ),
    ),
    Section(
        "4. Capital expenditure (EUR thousand)",
        table=(
            ("Project", "Amount", "Timing"),
            ("Automated sorter, Zaragoza warehouse", "1,750", "Go-live October 2026"),
            ("12 electric vans (Valencia and Sevilla)", "684", "Delivery May 2026"),
            ("Sevilla racking and dock levellers", "610", "Q2 2026"),
            ("Warehouse management system (WMS) upgrade", "520", "Q3 2026"),
            ("Solar panels, Sevilla warehouse roof", "350", "Q4 2026"),
            ("IT hardware and security", "286", "Throughout the year"),
            ("Total", "4,200", ""),
        ),
        page_break_before=True,
    ),
    Section(
        "5. Headcount (end of year)",
        table=(
            ("Site", "31 Dec 2025", "31 Dec 2026 budget", "Change"),
            ("Valencia", "138", "138", "0"),
            ("Zaragoza", "121", "131", "+10"),
            ("Sevilla", "109", "115", "+6"),
            ("Lisbon", "44", "52", "+8"),
            ("Total", "412", "436", "+24"),
        ),
    ),
    Section(
        "6. Key assumptions",
        bullets=(
            "Average diesel price of EUR 1.42 per litre.",
            "Personnel costs include the 2026 general salary review agreed with HR and the 24 net new positions.",
            "Customer churn of no more than 3% of 2025 revenue.",
        ),
    ),
    Section(
        "7. Main risks",
        bullets=(
            "A 10% rise in the diesel price would reduce EBITDA by about EUR 0.5 million.",
            "Customer concentration: the largest customer, Frutas Levante Group, represents 11% of budgeted revenue.",
            "A delay of the Zaragoza sorter beyond December 2026 would move about EUR 0.8 "
            "million of revenue into 2027.",
        ),
    ),
)


# --------------------------------------------------------------------------------------------
# PPTX
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Slide:
    title: str
    bullets: Sequence[str] = ()
    table: Sequence[Row] | None = None


ALL_HANDS_TITLE = "All-Hands Q4 2025"
ALL_HANDS_SUBTITLE = "22 January 2026 · Valencia, streamed to Zaragoza, Sevilla and Lisbon\nMarta Iborra Climent, CEO"
ALL_HANDS_SLIDES: tuple[Slide, ...] = (
    Slide(
        "FY2025 at a glance",
        bullets=(
            "Revenue: EUR 52.7 million, up 9.4% from EUR 48.2 million in 2024",
            "On-time delivery: 98.1% across the network (target 98.5%)",
            "37 new customers signed during the year",
            "1.86 million pallets handled in our warehouses",
            "Sevilla reached 400 days without a lost-time accident on 30 December",
        ),
    ),
    Slide(
        "Our sites in numbers (2025)",
        table=(
            ("Site", "Headcount (31 Dec)", "Pallets handled", "On-time delivery"),
            ("Valencia (HQ)", "138", "n/a (transport and offices)", "98.4%"),
            ("Zaragoza", "121", "1,020,000", "98.0%"),
            ("Sevilla", "109", "840,000", "98.2%"),
            ("Lisbon", "44", "n/a (office)", "97.6%"),
            ("Total", "412", "1,860,000", "98.1%"),
        ),
    ),
    Slide(
        "2026 priorities",
        bullets=(
            "Zaragoza automated sorter: go-live in October 2026",
            "ISO 14001 environmental certification by Q4 2026",
            "New Valencia office at Calle de Menorca 19 from 2 March 2026",
            "Reduce warehouse safety incidents by 20%",
            "Grow the Portuguese customer base from the Lisbon office",
        ),
    ),
    Slide(
        "People",
        bullets=(
            "Employee survey: 82% participation, eNPS +31 (2024: +24)",
            "Buddy programme: every new joiner gets a buddy for their first 90 days",
            "Summer hours: offices work 08:00-15:00 from 1 July to 31 August",
            "Annual security awareness course: complete it by 31 March 2026",
        ),
    ),
    Slide(
        "Questions?",
        bullets=(
            "Send questions anonymously through Portal Aurora",
            "Next all-hands: 23 April 2026",
        ),
    ),
)


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


# --------------------------------------------------------------------------------------------
# XLSX
# --------------------------------------------------------------------------------------------


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


_WEEKDAYS_ES = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")

# (date, holiday, scope, Valencia, Zaragoza, Sevilla, Lisboa)
_HOLIDAYS: tuple[tuple[dt.date, str, str, str], ...] = (
    (dt.date(2026, 1, 1), "Año Nuevo", "Nacional (España y Portugal)", "VZSL"),
    (dt.date(2026, 1, 6), "Epifanía del Señor", "Nacional (España)", "VZS"),
    (dt.date(2026, 1, 22), "San Vicente Mártir", "Local (Valencia)", "V"),
    (dt.date(2026, 1, 29), "San Valero", "Local (Zaragoza)", "Z"),
    (dt.date(2026, 2, 17), "Carnaval", "Empresa (Lisboa)", "L"),
    (dt.date(2026, 3, 5), "Cincomarzada", "Local (Zaragoza)", "Z"),
    (dt.date(2026, 3, 19), "San José", "Autonómico (Comunitat Valenciana)", "V"),
    (dt.date(2026, 4, 2), "Jueves Santo", "Autonómico (Aragón y Andalucía)", "ZS"),
    (dt.date(2026, 4, 3), "Viernes Santo", "Nacional (España y Portugal)", "VZSL"),
    (dt.date(2026, 4, 6), "Lunes de Pascua", "Autonómico (Comunitat Valenciana)", "V"),
    (dt.date(2026, 4, 13), "San Vicente Ferrer", "Local (Valencia)", "V"),
    (dt.date(2026, 4, 23), "San Jorge, Día de Aragón", "Autonómico (Aragón)", "Z"),
    (dt.date(2026, 4, 25), "Dia da Liberdade", "Nacional (Portugal)", "L"),
    (dt.date(2026, 5, 1), "Fiesta del Trabajo", "Nacional (España y Portugal)", "VZSL"),
    (dt.date(2026, 6, 4), "Corpus Christi", "Local (Dos Hermanas) y nacional (Portugal)", "SL"),
    (dt.date(2026, 6, 10), "Dia de Portugal", "Nacional (Portugal)", "L"),
    (dt.date(2026, 6, 13), "Santo António", "Local (Lisboa)", "L"),
    (dt.date(2026, 6, 24), "San Juan", "Autonómico (Comunitat Valenciana)", "V"),
    (dt.date(2026, 8, 15), "Asunción de la Virgen", "Nacional (España y Portugal)", "VZSL"),
    (dt.date(2026, 10, 5), "Implantação da República", "Nacional (Portugal)", "L"),
    (
        dt.date(2026, 10, 9),
        "Día de la Comunitat Valenciana",
        "Autonómico (Comunitat Valenciana)",
        "V",
    ),
    (
        dt.date(2026, 10, 12),
        "Fiesta Nacional de España y Virgen del Pilar",
        "Nacional (España)",
        "VZS",
    ),
    (dt.date(2026, 10, 19), "Lunes de Valme", "Local (Dos Hermanas)", "S"),
    (dt.date(2026, 11, 1), "Todos los Santos", "Nacional (España y Portugal)", "VZSL"),
    (
        dt.date(2026, 11, 2),
        "Lunes siguiente a Todos los Santos",
        "Autonómico (Aragón y Andalucía)",
        "ZS",
    ),
    (dt.date(2026, 12, 1), "Restauração da Independência", "Nacional (Portugal)", "L"),
    (
        dt.date(2026, 12, 7),
        "Lunes siguiente al Día de la Constitución",
        "Autonómico (Aragón y Andalucía)",
        "ZS",
    ),
    (dt.date(2026, 12, 8), "Inmaculada Concepción", "Nacional (España y Portugal)", "VZSL"),
    (dt.date(2026, 12, 25), "Navidad", "Nacional (España y Portugal)", "VZSL"),
)


def holiday_sheets() -> tuple[Sheet, Sheet]:
    rows: list[Sequence[str | dt.date]] = [
        ("Fecha", "Día", "Festividad", "Ámbito", "Valencia", "Zaragoza", "Sevilla", "Lisboa")
    ]
    for day, name, scope, sites in _HOLIDAYS:
        flags = tuple("Sí" if code in sites else "No" for code in "VZSL")
        rows.append((day, _WEEKDAYS_ES[day.weekday()], name, scope, *flags))
    holidays = Sheet("Festivos 2026", rows)
    rules = Sheet(
        "Vacaciones y cierres",
        (
            ("Concepto", "Valor", "Observaciones"),
            (
                "Días de vacaciones al año (España)",
                "23 días laborables",
                "Jornada completa; proporcional para contratos parciales e incorporaciones durante el año.",
            ),
            (
                "Días de vacaciones al año (Lisboa)",
                "22 días laborables",
                "Según la legislación portuguesa.",
            ),
            (
                "Día de libre disposición",
                "1 día",
                "Se disfruta antes del 31/12/2026; no se puede acumular.",
            ),
            (
                "Plazo para pedir las vacaciones de verano (julio a septiembre)",
                "31/03/2026",
                "Se piden en Portal Aurora; el responsable contesta antes del 30/04/2026.",
            ),
            (
                "Días de vacaciones que se pueden trasladar al año siguiente",
                "Máximo 3 días",
                "Se deben disfrutar antes del 31/01/2027.",
            ),
            (
                "Cierre de oficinas",
                "24/12/2026 y 31/12/2026",
                "Los almacenes abren con servicio mínimo.",
            ),
            (
                "Campaña de Navidad en almacenes",
                "Del 16/11/2026 al 08/01/2027",
                "No se conceden vacaciones al personal de almacén salvo causa justificada.",
            ),
        ),
    )
    return holidays, rules


FLEET_SHEET = Sheet(
    "Fleet",
    (
        (
            "Vehicle type",
            "Units",
            "Max payload (kg)",
            "Pallet capacity",
            "Base",
            "Fuel / energy",
            "Average age (years)",
        ),
        (
            "Tractor unit with curtain-side semi-trailer",
            38,
            24000,
            33,
            "Zaragoza, Sevilla",
            "Diesel (Euro VI)",
            4.1,
        ),
        ("Tractor unit, LNG", 6, 24000, 33, "Zaragoza", "Liquefied natural gas", 2.0),
        (
            "Refrigerated semi-trailer (-25 °C to +25 °C)",
            14,
            22000,
            33,
            "Sevilla",
            "Diesel tractor, electric reefer unit",
            3.4,
        ),
        ("Rigid truck 12 t", 22, 6500, 14, "Valencia, Zaragoza, Sevilla", "Diesel (Euro VI)", 5.0),
        ("Electric van 3.5 t", 9, 900, 4, "Valencia, Sevilla", "Battery electric", 1.6),
    ),
)

RATES_SHEET = Sheet(
    "Rates 2026",
    (
        ("Code", "Service", "Unit", "Price (EUR, excl. VAT)", "Notes"),
        (
            "WH-AMB",
            "Ambient storage (15-25 °C)",
            "pallet per week",
            2.40,
            "Minimum 20 pallets per month",
        ),
        ("WH-REF", "Refrigerated storage (2-8 °C)", "pallet per week", 5.90, "Sevilla only"),
        ("PK-LINE", "Order picking", "order line", 0.38, "Per line picked"),
        ("PK-ORD", "Order handling fee", "order", 1.15, "Per outbound order"),
        ("VAS-LBL", "Labelling or relabelling", "unit", 0.09, "Labels supplied by the customer"),
        (
            "TR-FTL-MAD",
            "Full truck load Valencia - Madrid",
            "trip",
            690.00,
            "Fuel surcharge when diesel exceeds EUR 1.50 per litre",
        ),
        (
            "TR-FTL-LIS",
            "Full truck load Valencia - Lisbon",
            "trip",
            1480.00,
            "Fuel surcharge when diesel exceeds EUR 1.50 per litre",
        ),
        ("TR-GRP", "Groupage, mainland Spain", "pallet", 58.00, "48-72 h transit time"),
        (
            "TR-ECO",
            "Urban electric delivery (Valencia, Sevilla)",
            "drop",
            6.50,
            "Zero-emission vans",
        ),
    ),
    number_format="#,##0.00",
)


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def build(out: Path) -> list[Path]:
    """Write every binary file of the corpus under ``out``; return their paths."""
    jobs: list[tuple[Path, Callable[[Path], None]]] = [
        (
            out / "internal" / "guia_onboarding.docx",
            lambda p: write_docx(
                p,
                title="Guía de bienvenida para nuevas incorporaciones",
                subtitle=f"{COMPANY} · Personas (RRHH) · Edición de enero de 2026",
                author="Laura Gimeno Ros",
                sections=ONBOARDING_SECTIONS,
            ),
        ),
        (
            out / "rrhh" / "bandas_salariales_2026.docx",
            lambda p: write_docx(
                p,
                title="Bandas salariales y revisión salarial 2026",
                subtitle=f"{COMPANY} · Documento confidencial · Solo para el equipo de Personas",
                author="Lucía Ferrer Soler",
                sections=SALARY_BAND_SECTIONS,
            ),
        ),
        (
            out / "internal" / "it_security_policy.pdf",
            lambda p: write_pdf(
                p,
                title="IT Security Policy",
                subtitle=f"{COMPANY} · Version 4.0 · Approved on 10 November 2025 by Priya Raman, "
                "Head of IT &amp; Security · Classification: Internal",
                author="Priya Raman",
                subject="Information security rules for all staff",
                sections=IT_SECURITY_SECTIONS,
                footer=f"{COMPANY} · IT Security Policy v4.0 · Internal",
            ),
        ),
        (
            out / "finanzas" / "budget_2026_board_pack.pdf",
            lambda p: write_pdf(
                p,
                title="Budget 2026 – Board Pack",
                subtitle=f"{COMPANY} · Prepared by Daniel Okafor, CFO · Approved by the Board of "
                "Directors on 16 December 2025 · Classification: Restricted",
                author="Daniel Okafor",
                subject="2026 budget approved by the Board of Directors",
                sections=BUDGET_SECTIONS,
                footer=f"{COMPANY} · Budget 2026 · Restricted: Finance and Management Committee",
            ),
        ),
        (
            out / "internal" / "all_hands_q4_2025.pptx",
            lambda p: write_pptx(
                p,
                title=ALL_HANDS_TITLE,
                subtitle=ALL_HANDS_SUBTITLE,
                slides=ALL_HANDS_SLIDES,
                author="Marta Iborra Climent",
            ),
        ),
        (
            out / "internal" / "calendario_festivos_2026.xlsx",
            lambda p: write_xlsx(
                p,
                title="Calendario laboral y festivos 2026",
                author="Lucía Ferrer Soler",
                sheets=holiday_sheets(),
            ),
        ),
        (
            out / "public" / "fleet_and_services_2026.xlsx",
            lambda p: write_xlsx(
                p,
                title="Fleet and services catalogue 2026",
                author="Hannah Whitfield",
                sheets=(FLEET_SHEET, RATES_SHEET),
            ),
        ),
    ]
    written = []
    for path, writer in jobs:
        writer(path)
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--out",
        type=Path,
        default=CORPUS_DIR,
        help="corpus root to write into (default: samples/corpus)",
    )
    args = parser.parse_args(argv)
    for path in build(args.out):
        print(f"{path.stat().st_size:>8} bytes  {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
