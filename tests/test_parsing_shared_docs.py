"""Every real-world document in the shared folder parses, or is refused, as the table says.

The documents come from Unstructured-IO and py-pdf sample sets (see the shared data README);
no one here wrote them, which is the point. The folder lives outside the repository:
``../shared/data/docs`` by default, or ``$FUENTE_SHARED_DATA/docs``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from ingest.errors import FileRejected, ParseFailure, SkipFile
from ingest.parsing import ParseOptions, parse_file
from rag.types import BlockKind, ParsedFile
from tests.helpers import assert_one_sentence

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FUENTE_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
DOCS = DATA / "docs"

SPANISH = "dotados como están de razón y conciencia"
ENGLISH = "All human beings are born free and equal in dignity and rights"

Check = Callable[[ParsedFile], None]


@dataclass(frozen=True)
class Expect:
    """What parsing one shared file must give.

    Attributes:
        outcome: "parsed", "skipped" (SkipFile) or "failed" (ParseFailure).
        phrases: For parsed files, phrases that must appear (whitespace-insensitive).
        reason: For refused files, a word the reason must contain.
        check: Any further assertion on the parsed file.
        ocr: The file needs OCR (runs tesseract: an integration test).
    """

    outcome: str
    phrases: tuple[str, ...] = ()
    reason: str = ""
    check: Check | None = None
    ocr: bool = False


def _pages(expected: list[int]) -> Check:
    def check(parsed: ParsedFile) -> None:
        assert [b.page for b in parsed.blocks] == expected

    return check


def _has_table(header: str, **location: object) -> Check:
    def check(parsed: ParsedFile) -> None:
        tables = [b for b in parsed.blocks if b.kind is BlockKind.TABLE]
        assert any(t.text.splitlines()[0] == header for t in tables), [t.text for t in tables]
        table = next(t for t in tables if t.text.splitlines()[0] == header)
        assert table.text.splitlines()[1].startswith("|---")
        for key, value in location.items():
            assert getattr(table, key) == value

    return check


def _title(expected: str) -> Check:
    def check(parsed: ParsedFile) -> None:
        assert parsed.title == expected

    return check


def _all(*checks: Check) -> Check:
    def check(parsed: ParsedFile) -> None:
        for each in checks:
            each(parsed)

    return check


def _attachment(parsed: ParsedFile) -> None:
    parts = [b for b in parsed.blocks if b.part == "fake-attachment.txt"]
    assert parts and parts[0].text == "Hey this is a fake attachment!"
    assert parts[0].part_title == "fake-attachment"
    assert parsed.blocks[0].part is None


def _arabic(parsed: ParsedFile) -> None:
    assert re.search("[\u0600-\u06ff]", parsed.blocks[0].text)


def _no_script(parsed: ParsedFile) -> None:
    text = "\n".join(b.text for b in parsed.blocks)
    for code in ("jQuery", "function (", "var switchTo5x", "getElementsByTagName"):
        assert code not in text


def _sheets(*names: str) -> Check:
    def check(parsed: ParsedFile) -> None:
        assert [b.sheet for b in parsed.blocks] == list(names)
        assert all(b.kind is BlockKind.TABLE for b in parsed.blocks)

    return check


def _slides(parsed: ParsedFile) -> None:
    assert all(b.slide is not None and b.slide >= 1 for b in parsed.blocks)


EXPECTED: dict[str, Expect] = {
    # -- PDF -------------------------------------------------------------------------------
    "py-pdf-sample-files/google-doc-document.pdf": Expect(
        "parsed", ("Beautiful is better than ugly.",), check=_title("PDF Example Document")
    ),
    "py-pdf-sample-files/habibi.pdf": Expect("parsed", ("habibi",), check=_arabic),
    "py-pdf-sample-files/libreoffice-writer-password.pdf": Expect("skipped", reason="password"),
    "py-pdf-sample-files/pdflatex-4-pages.pdf": Expect("parsed", ("Huardest gefburn",), check=_pages([1, 2, 3, 4])),
    "py-pdf-sample-files/pdflatex-outline.pdf": Expect("parsed", ("Contents", "1 Foo"), check=_pages([1, 2, 3, 4])),
    "unstructured/pdf/DA-1p.pdf": Expect("parsed", ("Abomination", "maleficar"), check=_pages([1])),
    "unstructured/pdf/fake-memo.pdf": Expect("parsed", ("20,000 bottles of water",), check=_title("fake-memo")),
    # pdfminer chokes on its structure; pypdf reads both pages.
    "unstructured/pdf/invalid-pdf-structure-pdfminer-one-page.pdf": Expect(
        "parsed",
        ("U.S. GOVERNMENT ACCOUNTABILITY OFFICE", "National Cybersecurity Strategy"),
        check=_pages([1, 2]),
    ),
    # Ligatures in the text layer come out as plain letters ("Uniﬁed" -> "Unified").
    "unstructured/pdf/layout-parser-paper-fast.pdf": Expect(
        "parsed", ("LayoutParser: A Unified Toolkit for Deep",), check=_pages([1, 2])
    ),
    "unstructured/pdf/multi-column-2p.pdf": Expect(
        "parsed", ("Dense Passage Retrieval for Open-Domain Question Answering",)
    ),
    "unstructured/pdf/password.pdf": Expect("skipped", reason="password"),
    # A scan with a poor OCR text layer ("«POAH «3E*»CM tanntxim."): it scores as unreadable, the page
    # is OCRed again, tesseract's text wins and the choice is noted; the garbage is not the title.
    "unstructured/pdf/pdf-with-ocr-text.pdf": Expect(
        "parsed",
        ("progress of the Foundation", "the following", "California and Hawaiian Sugar Refining"),
        check=lambda p: assert_reocred(p),
        ocr=True,
    ),
    # Image-only: the text comes from tesseract.
    "unstructured/pdf/single_table.pdf": Expect(
        "parsed", ("Base 128", "64,058"), check=lambda p: assert_ocr(p, (1,)), ocr=True
    ),
    # -- Office and OpenDocument ------------------------------------------------------------
    "unstructured/docx-tables.docx": Expect(
        "parsed",
        ("Simple uniform table", "Lorem ipsum"),
        check=_has_table("| Header Col 1 | Header Col 2 |"),
    ),
    "unstructured/fake.docx": Expect("parsed", ("Lorem ipsum dolor sit amet.",)),
    "unstructured/handbook-1p.docx": Expect(
        "parsed", ("The United States Trustee appoints and supervises standing trustees",)
    ),
    "unstructured/page-breaks.docx": Expect("parsed", ("Text on second page",)),
    "unstructured/language-docs/eng_spa_mult.docx": Expect("parsed", (ENGLISH, SPANISH)),
    # "Malformed" upstream means it tripped Unstructured's partitioner; python-pptx reads it
    # and Unstructured's own test expects exactly these two texts from it.
    "unstructured/fake-power-point-malformed.pptx": Expect(
        "parsed", ("# Test Slide", "Problem Date Placeholder"), check=_slides
    ),
    "unstructured/fake-power-point-table.pptx": Expect(
        "parsed",
        ("# A Slide with a Table", "Tangerine"),
        check=_has_table("| Column 1 | Column 2 | Column 3 |", slide=1),
    ),
    "unstructured/fake-power-point.pptx": Expect(
        "parsed", ("# Adding a Bullet Slide", "Here is some text in a text box!"), check=_slides
    ),
    "unstructured/language-docs/eng_spa_mult.pptx": Expect(
        "parsed", (ENGLISH, SPANISH, "# Testing multiple languages"), check=_slides
    ),
    "unstructured/2023-half-year-analyses-by-segment.xlsx": Expect(
        "parsed",
        ("Zone LATAM", "Nestlé Health Science", "January–June 2023"),
        check=_sheets(
            "OS-Rev.and results 30 06 2023",
            "OS-Other information 30 06 2023",
            "Prod.Rev.and results 30 06 2023",
            "Prod.-Other inform. 30 06 23",
            "Reconciliation 30 06 2023",
        ),
    ),
    "unstructured/language-docs/eng_spa.xlsx": Expect(
        "parsed", (ENGLISH, SPANISH), check=_sheets("English", "Spanish")
    ),
    "unstructured/empty.xlsx": Expect("skipped", reason="no cells"),
    "unstructured/password_protected.xlsx": Expect("skipped", reason="password"),
    "unstructured/fake.odt": Expect(
        "parsed",
        ("Lorem ipsum dolor sit amet.",),
        check=_has_table("| Header row | Mon | Wed | Fri |"),
    ),
    # -- Web and text -----------------------------------------------------------------------
    "unstructured/example-10k-1p.html": Expect(
        "parsed",
        ("Galaxy Gaming, Inc.", "TRANSITION REPORT PURSUANT TO SECTION 13"),
        check=_has_table("| Title of each class | Trading symbol | Name of exchange on which registered |"),
    ),
    "unstructured/example-with-scripts.html": Expect(
        "parsed",
        ("Belarusian forces remain unlikely to attack Ukraine",),
        check=_all(
            _no_script,
            _title("Russian Offensive Campaign Assessment, December 13 | Institute for the Study of War"),
        ),
    ),
    # No charset declared: detection must pick windows-1252 (not cp1250, which turns å into ĺ).
    "unstructured/fake-html-cp1252.html": Expect(
        "parsed",
        (
            "# My First Heading",
            'El niño comió paella con ñoquis. La señora dijo: "¡Qué rico!" y pagó 25,75 €.',
            "Kvinnan åt köttbullar med lingonsylt.",
            "Die schöne Frau hat einen Kaffee",
            "L'été était très chaud",
        ),
    ),
    "unstructured/language-docs/eng_spa_mult.html": Expect("parsed", (ENGLISH, SPANISH)),
    "unstructured/LICENSE-Apache-2.0.md": Expect("parsed", ("Apache License", "Version 2.0, January 2004")),
    "unstructured/language-docs/eng_spa_mult.md": Expect("parsed", (ENGLISH, SPANISH)),
    "unstructured/language-docs/eng_spa_mult.txt": Expect("parsed", (ENGLISH, SPANISH)),
    "unstructured/fake-text-utf-16.txt": Expect(
        "parsed", ("This is a test document to use for unit tests.", "Hamburgers are delicious")
    ),
    "unstructured/empty.txt": Expect("skipped", reason="empty"),
    "unstructured/fake-text-all-whitespace.txt": Expect("skipped", reason="whitespace"),
    # -- E-mail -----------------------------------------------------------------------------
    "unstructured/eml/fake-email.eml": Expect(
        "parsed",
        ("Subject: Test Email", "From: Matthew Robinson", "Violets are blue"),
        check=_title("Test Email"),
    ),
    "unstructured/eml/fake-email-utf-16.eml": Expect(
        "parsed",
        ("Subject: Test Email", "This is a test email to use for unit tests.", "Roses are red"),
        check=_title("Test Email"),
    ),
    "unstructured/eml/fake-email-attachment.eml": Expect(
        "parsed", ("Here's the attachments!", "Lots of whitespace"), check=_attachment
    ),
    "unstructured/eml/fake-encrypted.eml": Expect("skipped", reason="encrypted"),
    "unstructured/eml/empty.eml": Expect("skipped", reason="empty"),
    "unstructured/language-docs/eng_spa_mult.eml": Expect(
        "parsed",
        ("Subject: Test email with multiple languages", ENGLISH, SPANISH),
        check=_title("Test email with multiple languages"),
    ),
    "unstructured/fake-email.msg": Expect(
        "parsed",
        ("Subject: Test Email", "Roses are red", "Violets are blue"),
        check=_title("Test Email"),
    ),
}


def assert_no_ocr(parsed: ParsedFile) -> None:
    assert parsed.ocr_pages == ()


def assert_reocred(parsed: ParsedFile) -> None:
    assert parsed.ocr_pages == (1,)
    assert any(
        n.startswith("Page 1: the text layer looked unreadable") and "OCR text was kept" in n for n in parsed.notes
    )
    assert "«" not in parsed.title and "POAH" not in parsed.title
    assert "tanntxim" not in parsed.blocks[0].text


def assert_ocr(parsed: ParsedFile, pages: tuple[int, ...]) -> None:
    assert parsed.ocr_pages == pages
    assert [b.page for b in parsed.blocks] == list(pages)


def _on_disk() -> list[str]:
    if not DOCS.is_dir():
        return []
    return sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*") if p.is_file())


def _cases() -> list[object]:
    names = sorted(set(EXPECTED) | set(_on_disk()))
    return [
        pytest.param(
            name,
            id=name,
            marks=[pytest.mark.integration] if name in EXPECTED and EXPECTED[name].ocr else [],
        )
        for name in names
    ]


def _require_docs() -> None:
    if not DOCS.is_dir():
        pytest.skip(
            f"Shared documents not found at {DOCS}; set FUENTE_SHARED_DATA to the shared "
            "'data' folder to run these tests."
        )


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("name", _cases())
def test_shared_document(name: str) -> None:
    _require_docs()
    path = DOCS / name
    assert path.is_file(), f"{name} is in the table but missing from {DOCS}"
    assert name in EXPECTED, f"{name} has no expected outcome: add it to EXPECTED"
    expect = EXPECTED[name]
    options = ParseOptions(ocr=expect.ocr)

    if expect.outcome != "parsed":
        error = SkipFile if expect.outcome == "skipped" else ParseFailure
        with pytest.raises(FileRejected) as info:
            parse_file(path, options)
        assert type(info.value) is error, f"{name}: {info.value.status}: {info.value.reason}"
        assert expect.reason in info.value.reason.lower()
        assert_one_sentence(info.value.reason)
        return

    try:
        parsed = parse_file(path, options)
    except FileRejected as e:  # pragma: no cover - the message is the diagnosis
        pytest.fail(f"{name} was {e.status}: {e.reason}")
    assert parsed.title.strip()
    assert parsed.blocks
    assert parsed.format == path.suffix.lower().lstrip(".")
    for block in parsed.blocks:
        assert block.text.strip(), "empty block"
        assert block.text == block.text.strip("\n")
        assert "\n\n\n" not in block.text, "runs of blank lines must be collapsed"
        assert all(line == line.rstrip() for line in block.text.split("\n"))
    text = _flat("\n".join(b.text for b in parsed.blocks))
    for phrase in expect.phrases:
        assert _flat(phrase) in text, f"{phrase!r} not found in {name}"
    if expect.check is not None:
        expect.check(parsed)


def test_image_only_pdf_without_ocr_is_skipped_with_a_reason() -> None:
    _require_docs()
    with pytest.raises(SkipFile) as info:
        parse_file(DOCS / "unstructured/pdf/single_table.pdf", ParseOptions(ocr=False))
    assert "OCR" in info.value.reason
    assert_one_sentence(info.value.reason)


def test_every_shared_file_is_parsed_or_skipped_for_a_reason_other_than_its_type() -> None:
    """The issue's bar: nothing in the folder is left out as an unsupported type, no title is a number."""
    _require_docs()
    outcomes: dict[str, str] = {}
    for name in _on_disk():
        try:
            parsed = parse_file(DOCS / name, ParseOptions(ocr=False))
        except FileRejected as e:
            assert "not supported" not in e.reason, f"{name}: {e.reason}"
            outcomes[name] = e.status
            continue
        assert parsed.title.strip() and not re.fullmatch(r"[\d\W_]+", parsed.title), f"{name}: {parsed.title!r}"
        outcomes[name] = "parsed"
    assert outcomes, "no shared documents found"
    assert sum(1 for o in outcomes.values() if o == "parsed") >= 30, outcomes
