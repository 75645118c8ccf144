"""Finding a cited quote again in the text it came from, whatever happened to its spacing.

A quote is a sentence of a chunk, and the chunk's text came from a parser (pypdf, python-docx,
markdown) while the viewer searches another rendering of the same words (pdfium's text layer of
the page, or the chunk itself). They differ in whitespace, line breaks, hyphens at line ends,
ligatures (``ﬁ``), quote marks and case. So both sides are folded to their letters and digits
(NFKC, case-folded) with a map back to the original characters, and the quote is looked up
exactly, then, when extraction dropped or changed a few characters, by its best alignment.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from difflib import SequenceMatcher

MIN_SHARE = 0.6
"""Share of the quote's letters and digits an approximate match must have in place."""
MIN_BLOCK = 4
"""Shortest run of agreeing characters that counts for an approximate match (shorter ones are chance)."""


def fold(chars: Sequence[str]) -> tuple[str, list[int]]:
    """The letters and digits of ``chars``, normalised and case-folded, and for each the index of the
    character of ``chars`` it came from."""
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(chars):
        for c in unicodedata.normalize("NFKC", ch):
            if c.isalnum():
                for f in c.casefold():
                    out.append(f)
                    where.append(i)
    return "".join(out), where


def find_folded(haystack: str, needle: str, min_share: float = MIN_SHARE) -> tuple[int, int] | None:
    """Where ``needle`` is in ``haystack`` (both folded): exactly, else its best approximate place."""
    if not needle or not haystack:
        return None
    at = haystack.find(needle)
    if at >= 0:
        return at, at + len(needle)
    matcher = SequenceMatcher(None, haystack, needle, autojunk=False)
    blocks = [b for b in matcher.get_matching_blocks() if b.size >= MIN_BLOCK]
    if not blocks:
        return None
    anchor = max(blocks, key=lambda b: b.size)
    offset = anchor.a - anchor.b
    # Only blocks aligned with the longest one belong to this place; the rest agree by chance.
    slack = max(8, len(needle) // 5)
    chosen = [b for b in blocks if abs((b.a - b.b) - offset) <= slack]
    if sum(b.size for b in chosen) < min_share * len(needle):
        return None
    return min(b.a for b in chosen), max(b.a + b.size for b in chosen)


def quote_parts(quote: str) -> list[str]:
    """The pieces of a quote to look for one by one: its lines (a table row is quoted under its header
    row, which stands elsewhere on the page), without table pipes and separator rows."""
    parts = []
    for line in quote.replace("\r", "").split("\n"):
        text = line.strip().strip("|").strip()
        if text and fold(text)[0]:
            parts.append(text)
    return parts


def row_cells(part: str) -> list[str] | None:
    """The cells of a table row quoted as evidence items show rows ("Tipo de viaje: Internacional;
    Importe por día: 75 €", rag.verify.sentences), else None."""
    pieces = part.split("; ")
    if len(pieces) < 2 or not all(": " in piece for piece in pieces):
        return None
    return [piece.split(": ", 1)[1] for piece in pieces]


def _row_span(text: Sequence[str], cells: list[str]) -> tuple[int, int] | None:
    """The table line (``| a | b |``) of ``text`` holding every one of ``cells`` as a cell of its own."""
    wanted = [fold(c)[0] for c in cells]
    pos = 0
    for line in "".join(text).split("\n"):
        stripped = line.strip()
        if stripped.startswith("|"):
            row = {fold(c)[0] for c in stripped.strip("|").split("|")}
            if all(w in row for w in wanted):
                start = pos + len(line) - len(line.lstrip())
                return start, start + len(stripped)
        pos += len(line) + 1
    return None


def find_spans(text: Sequence[str], quote: str) -> list[tuple[int, int]]:
    """The character ranges ``[start, end)`` of ``text`` that hold ``quote`` (empty when it is not there)."""
    folded, where = fold(text)
    spans: list[tuple[int, int]] = []
    for part in quote_parts(quote):
        cells = row_cells(part)
        row = _row_span(text, cells) if cells else None
        if row is not None:
            spans.append(row)
            continue
        needle = fold(part)[0]
        found = find_folded(folded, needle)
        if found is not None:
            start, end = found
            last = where[end - 1] + 1
            # The closing punctuation of the sentence (". ", ": ", "%") belongs to it; folding dropped it.
            while last < len(text) and last - where[end - 1] <= 2 and _closing(text[last]):
                last += 1
            spans.append((where[start], last))
    return _merge(spans)


def _closing(ch: str) -> bool:
    return not ch.isspace() and not ch.isalnum() and ch not in "|([{"


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out
