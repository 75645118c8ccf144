"""Sentences and citations: splitting answers and sources into sentences, reading ``[n]`` markers."""

from __future__ import annotations

import re

from rag.text import fold
from rag.types import Chunk


def _words(text: str) -> list[str]:
    return text.split()


_CITE_WORD = r"(?:(?:fuente|source|doc(?:umento)?|ref)\.?\s*)?"
_CITATION = re.compile(
    r"\[\s*" + _CITE_WORD + r"(\d+(?:\s*(?:[-–—,;&]|\by\b|\band\b)\s*" + _CITE_WORD + r"\d+)*)\s*\]",
    re.IGNORECASE,
)
_MAX_RANGE = 20  # "[1-300]" is a typo, not three hundred sources

# Tokens before a period that do not end a sentence (folded, without their final period).
_ABBREVIATIONS = frozenset(
    _words(
        """art arts p pp pag pags ej p.ej e.g i.e eg ie sr sra srta sres dr dra d dna dña ud uds vd vds num n nº
        aprox approx excl incl vs cf fig tel tfno ext av avda c s.l s.a s.l.u s.a.u s.c sl sa inc ltd co corp mr mrs ms
        prof st dept depto dpto ref vol cap max min ed ee.uu pto apdo admon gral lic ing"""
    )
)
_OPENERS = "¿¡\"'«“‘([*_"
_BOUNDARY = re.compile(r"[.!?…]+[\"'»”’)*_]*((?:\s*" + _CITATION.pattern + r")*)(?=\s|$)", re.IGNORECASE)
_LIST_MARKER = re.compile(r"^\s*(?:[-*•·+]|\d{1,2}[.)])\s+")
_ONLY_CITATIONS = re.compile(r"^(?:\s*" + _CITATION.pattern + r"\s*[.,;]?)+\s*$", re.IGNORECASE)


def parse_citations(sentence: str) -> tuple[int, ...]:
    """Source numbers cited in a sentence, in order of appearance, without repeats.

    Supports ``[1]``, ``[1][2]``, ``[1, 2]``, ``[1; 2]``, ``[1 y 2]``, ``[1-3]`` and ``[Fuente 1]``.
    """
    found: list[int] = []
    for match in _CITATION.finditer(sentence):
        for part in re.split(r"\s*(?:[,;&]|\by\b|\band\b)\s*", match.group(1), flags=re.IGNORECASE):
            numbers = [int(n) for n in re.findall(r"\d+", part)]
            if len(numbers) == 2 and 0 <= numbers[1] - numbers[0] <= _MAX_RANGE:
                numbers = list(range(numbers[0], numbers[1] + 1))
            found += [n for n in numbers if n not in found]
    return tuple(found)


def strip_citations(text: str) -> str:
    """The text without citation markers or Markdown emphasis, spaces tidied."""
    text = _CITATION.sub(" ", text)
    text = re.sub(r"[*_`#]+", " ", text)
    text = re.sub(r"\s+([.,;:!?)»])", r"\1", text)
    return " ".join(text.split())


def _ends_sentence(text: str, match: re.Match[str]) -> bool:
    rest = text[match.end() :].lstrip()
    if not rest:
        return True
    if match.group(1).strip():  # a citation after the stop closes the sentence whatever follows
        return True
    if not (rest[0].isupper() or rest[0].isdigit() or rest[0] in _OPENERS):
        return False  # "p. ej. los", "aprox. tres": a lower-case word continues the sentence
    if not match.group(0).startswith(".") or match.group(0).startswith("..."):
        return True  # ! ? … have no abbreviations
    before = text[: match.start()].split()
    token = fold(before[-1]).strip("(\"'«") if before else ""
    # An abbreviation ("art. 5", "S.L. En") or an initial ("J. García") does not end a sentence.
    return not (token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha()))


def _split_line(line: str) -> list[str]:
    out: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(line):
        if _ends_sentence(line, match):
            piece = line[start : match.end()].strip()
            if piece:
                out.append(piece)
            start = match.end()
    tail = line[start:].strip()
    if tail:
        out.append(tail)
    return out


def split_sentences(answer: str) -> list[str]:
    """Splits an answer (Spanish or English) into sentences, each keeping its ``[n]`` markers.

    Line breaks always end a sentence and list markers ("- ", "1. ") are dropped. Within a line a
    sentence ends at . ! ? … followed by a space and an upper-case letter, digit or opening mark;
    decimals ("0,26", "1.250"), abbreviations ("art. 5", "p. ej.", "e.g.", "S.L.") and initials are
    not boundaries unless a citation follows the stop. Markers written after the stop ("... días. [1]")
    and lines holding only markers stay with the sentence before them.
    """
    sentences: list[str] = []
    for raw in answer.splitlines():
        line = _LIST_MARKER.sub("", raw).strip()
        if not line:
            continue
        if _ONLY_CITATIONS.match(line) and sentences:
            sentences[-1] = f"{sentences[-1]} {line}"
            continue
        sentences.extend(_split_line(line))
    return sentences


def _table_aware_lines(text: str) -> list[str]:
    """Lines of a chunk with each Markdown table row prefixed by its header row, separators dropped."""
    out: list[str] = []
    header: str | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("|"):
            if re.fullmatch(r"\|?[\s:|-]+\|?", stripped):
                continue
            if header is None:
                header = stripped
                out.append(stripped)
            else:
                out.append(f"{header} {stripped}")
        else:
            header = None
            out.append(line)
    return out


def source_units(chunk: Chunk) -> list[str]:
    """Pieces of a chunk to compare a sentence with: its sentences, table rows with their header.

    Pairs of neighbouring sentences and the whole chunk were tried on the sample corpus: they
    changed no score by more than 0.06 and made the embedding call two to four times slower.
    """
    sentences = [s for line in _table_aware_lines(chunk.text) for s in split_sentences(line)]
    return [text for text in (strip_citations(s) for s in sentences) if text]


_HEADING = re.compile(r"^\s*#{1,6}\s")


def evidence_units(chunk: Chunk) -> list[str]:
    """The sentences of a chunk as evidence candidates: whole sentences, never headings.

    Unlike :func:`source_units`, lines hard-wrapped inside a paragraph are joined first (a Markdown or
    text file wrapped at 100 columns would otherwise cut "30 días naturales / desde el regreso" in
    two), headings are left out (the section path already travels with every item), and a table row
    is written as "header: cell" pairs (a small model reads "Tipo de viaje: Internacional; Importe
    por día: 75 €" far better than a row of pipes), the header row not being an item of its own. A row
    is one unit whatever its cells hold: "Price (EUR, excl. VAT): 2.40" is not two sentences.
    """
    sentences: list[str] = []
    current: list[str] = []

    def flush() -> None:
        if current:
            sentences.extend(split_sentences(" ".join(current)))
            current.clear()

    header: str | None = None
    for line in chunk.text.splitlines():
        stripped = line.strip()
        if stripped.startswith("|"):
            flush()
            if re.fullmatch(r"\|?[\s:|-]+\|?", stripped):
                continue
            if header is None:
                header = stripped  # the header row names the cells of the rows below it
            else:
                sentences.append(_row_as_pairs(header, stripped))
            continue
        header = None
        if not stripped or _HEADING.match(stripped):
            flush()
        elif _LIST_MARKER.match(stripped):
            flush()
            current.append(_LIST_MARKER.sub("", stripped))
        else:
            current.append(stripped)
    flush()
    return [text for text in (strip_citations(s) for s in sentences) if text]


def _cells(row: str) -> list[str]:
    return [c.strip() for c in row.strip().strip("|").split("|")]


def _row_as_pairs(header: str, row: str) -> str:
    names, cells = _cells(header), _cells(row)
    if len(names) != len(cells):
        return f"{header} {row}"
    return "; ".join(f"{name}: {cell}" if name else cell for name, cell in zip(names, cells, strict=True) if cell)
