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
from collections.abc import Callable, Sequence
from pathlib import Path

from corpus_documents import BUDGET_SECTIONS, IT_SECURITY_SECTIONS, ONBOARDING_SECTIONS, SALARY_BAND_SECTIONS
from corpus_formats import COMPANY, write_docx, write_pdf, write_pptx, write_xlsx
from corpus_tables import (
    ALL_HANDS_SLIDES,
    ALL_HANDS_SUBTITLE,
    ALL_HANDS_TITLE,
    FLEET_SHEET,
    RATES_SHEET,
    holiday_sheets,
)

CORPUS_DIR = Path(__file__).resolve().parent / "corpus"


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
