"""The hallucination guard: checks a generated answer against the sources it cites.

Small local models do not refuse reliably, so every answer is verified before it is shown. The
generator writes sentences with inline citations ``[n]`` (n is the 1-based number of a source in
the prompt) or a fixed refusal sentence. For each sentence this module checks that

* every citation points to a source of the prompt that the user may see;
* every fact (number, amount, percentage, date, time, proper name) occurs in the cited sources;
* the sentence is supported by its cited sources: a cheap score from lexical overlap and embedding
  similarity, or the score of a pluggable :class:`Judge` (an LLM, say) when one is given.

Rules worth knowing (see ``SentenceCheck.kind``):

* A sentence without a valid citation is unsupported, with two exceptions that are neutral (neither
  supported evidence nor a failure, left out of ``supported_share``): the refusal sentence, and a
  short lead-in that ends with a colon or is a Markdown heading ("Según la política de viajes:"),
  at most 12 words and without numbers.
* A citation to a source the user may not see makes its sentence unsupported and the whole answer
  "unsupported": the prompt carried a forbidden chunk, and the answer may repeat it.
* The answer counts as refused when it contains a refusal sentence and no supported claim; an
  answer that gives supported facts and says that something else is not in the documents is a
  partial answer, not a refusal.

Thresholds are provisional until calibrated on ``samples/questions.jsonl``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from difflib import SequenceMatcher
from enum import StrEnum
from typing import Protocol, runtime_checkable

import numpy as np

from rag.embedders import Embedder
from rag.text import fold, is_stopword, keyword_tokens
from rag.types import Chunk


def _words(text: str) -> list[str]:
    return text.split()


# --------------------------------------------------------------------------- refusal

_REFUSALS = {
    "es": "Los documentos no contienen esa información.",
    "en": "The documents do not contain that information.",
}


def refusal_text(language: str) -> str:
    """The fixed refusal sentence in ``language`` ("es" or "en"; anything else gets English)."""
    base = (language or "").lower().replace("_", "-").split("-")[0]
    return _REFUSALS.get(base, _REFUSALS["en"])


_REFUSAL_PATTERNS = [
    # "Los documentos (proporcionados) no contienen/incluyen/mencionan ... información"
    re.compile(
        r"\b(documentos|fuentes|contexto|textos)\b.*\bno\s+(contienen|contiene|incluyen|incluye|mencionan|"
        r"menciona|recogen|recoge|proporcionan|proporciona|especifican|especifica|indican|indica|dicen|dice)\b"
    ),
    re.compile(r"\bno\s+(hay|tengo|encuentro|encontre|dispongo\s+de|se\s+encuentra)\b.*\binformacion\b"),
    re.compile(
        r"\b(documents|sources|context|texts)\b.*\b(do|does|did)\s*(not|n't)\s+(contain|include|mention|"
        r"provide|specify|say|state|cover)\b"
    ),
    re.compile(r"\b(documents|sources|context)\b.*\b(contain|contains|include|includes|provide|provides)\s+no\b"),
    re.compile(
        r"\b(there\s+is|i\s+have|i\s+(can\s*not|cannot|can't|could\s+not|couldn't)\s+find)\s+no\b.*\binformation\b"
    ),
    re.compile(r"\bi\s+(can\s*not|cannot|can't|could\s+not|couldn't)\s+find\b.*\binformation\b"),
    re.compile(r"\bno\s+information\b"),
    # "I am unable to answer ..." / "No puedo responder ..." (seen in RAGTruth responses).
    re.compile(r"\bi(\s+am|'m)\s+(unable|not\s+able)\s+to\s+(answer|determine|find|say)\b"),
    re.compile(r"\bno\s+(puedo|es\s+posible)\s+(responder|contestar|determinar|saber)\b"),
]
_SHORT_REFUSALS = re.compile(
    r"(lo\s+siento\s+)?(no\s+lo\s+se|no\s+se|no\s+sabria\s+decir(te|le|lo)?|i\s+(do\s+not|don't|dont)\s+know)"
    r"(\s+la\s+respuesta|\s+the\s+answer)?"
)
_INFORMATION = re.compile(r"\b(informacion|information|datos|data)\b")


def is_refusal(sentence: str) -> bool:
    """Whether a sentence is the refusal sentence, in Spanish or English, allowing minor variations.

    Either it is close to one of the fixed sentences (character similarity >= 0.8), or it is "no lo
    sé" / "I don't know", or a sentence of at most 25 words saying that the documents hold no such
    information (with a citation it must name the information, else it is a claim about documents).
    """
    text = " ".join(re.sub(r"[^\w'\s]", " ", fold(strip_citations(sentence))).split())
    if not text:
        return False
    for canonical in _REFUSALS.values():
        target = " ".join(re.sub(r"[^\w'\s]", " ", fold(canonical)).split())
        if SequenceMatcher(None, text, target).ratio() >= 0.8:
            return True
    if _SHORT_REFUSALS.fullmatch(text):
        return True
    if len(text.split()) > 25 or not any(p.search(text) for p in _REFUSAL_PATTERNS):
        return False
    # "Los documentos de viaje no incluyen el seguro [1]" is a cited claim, not a refusal.
    return not parse_citations(sentence) or bool(_INFORMATION.search(text))


# --------------------------------------------------------------------------- sentences and citations

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
        aprox approx vs cf fig tel tfno ext av avda c s.l s.a s.l.u s.a.u s.c sl sa inc ltd co corp mr mrs ms
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


# --------------------------------------------------------------------------- facts

_MONTHS = {
    "enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7, "agosto": 8,
    "septiembre": 9, "setiembre": 9, "octubre": 10, "noviembre": 11, "diciembre": 12,
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7, "august": 8,
    "september": 9, "october": 10, "november": 11, "december": 12,
}  # fmt: skip
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))

# Names that a cross-language answer writes differently from its source (folded, both ways).
_ALIASES_PAIRS = [
    ("lunes", "monday"), ("martes", "tuesday"), ("miercoles", "wednesday"), ("jueves", "thursday"),
    ("viernes", "friday"), ("sabado", "saturday"), ("domingo", "sunday"),
    ("enero", "january"), ("febrero", "february"), ("marzo", "march"), ("abril", "april"), ("mayo", "may"),
    ("junio", "june"), ("julio", "july"), ("agosto", "august"), ("septiembre", "september"),
    ("setiembre", "september"), ("octubre", "october"), ("noviembre", "november"), ("diciembre", "december"),
    ("espana", "spain"), ("lisboa", "lisbon"), ("oporto", "porto"), ("londres", "london"), ("sevilla", "seville"),
    ("francia", "france"), ("alemania", "germany"), ("italia", "italy"), ("europa", "europe"),
    ("navidad", "christmas"), ("catalunya", "cataluna"), ("cataluna", "catalonia"),
]  # fmt: skip
_ALIASES: dict[str, set[str]] = {}
for _a, _b in _ALIASES_PAIRS:
    _ALIASES.setdefault(_a, set()).add(_b)
    _ALIASES.setdefault(_b, set()).add(_a)

# Number words count as numbers on the source side only: "dos días" in a source supports "2 días".
_NUMBER_WORDS = {
    "un": 1, "una": 1, "uno": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6, "siete": 7, "ocho": 8,
    "nueve": 9, "diez": 10, "once": 11, "doce": 12, "trece": 13, "catorce": 14, "quince": 15, "dieciseis": 16,
    "diecisiete": 17, "dieciocho": 18, "diecinueve": 19, "veinte": 20, "treinta": 30, "cuarenta": 40,
    "cincuenta": 50, "sesenta": 60, "cien": 100, "ciento": 100, "mil": 1000, "media": 0.5, "medio": 0.5,
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "hundred": 100, "thousand": 1000, "half": 0.5,
    "primer": 1, "primero": 1, "primera": 1, "segundo": 2, "segunda": 2, "tercer": 3, "tercero": 3,
    "first": 1, "second": 2, "third": 3,
}  # fmt: skip

_HONORIFICS = frozenset(_words("sr sra srta dr dra d dna don dona mr mrs ms miss prof i"))
_NAME_PARTICLES = frozenset(_words("de del la las los y da do dos das van von of the and el e"))

_CURRENCIES = r"€|\$|£|eur(?:os?)?\b|usd\b|gbp\b|d[oó]lar(?:es)?\b|dollars?\b|libras?\b|pounds?\b"
_CURRENCY = f"(?:{_CURRENCIES})"
_UNIT = (
    r"(?:%|por\s*ciento\b|percent\b|" + _CURRENCIES + r"|d[ií]as?\b|days?\b|horas?\b|hours?\b|h\b|"
    r"semanas?\b|weeks?\b|mes(?:es)?\b|months?\b|a[nñ]os?\b|years?\b|noches?\b|nights?\b|minutos?\b|"
    r"minutes?\b|min\b|km\b|kil[oó]metros?\b|kilometers?\b|kilometres?\b|kg\b|veces\b|times\b|personas\b|people\b)"
)
_SPACES = " \u00a0\u202f\u2009"  # "52 000": thousands grouped with a (narrow, no-break) space
_NUMBER = re.compile(
    r"(?<![\w.,])(?:" + _CURRENCY + r"\s?)?"
    r"(\d{1,3}(?:[" + _SPACES + r"]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)*)(?![\d])"
    r"(?:\s?" + _UNIT + r")?",
    re.IGNORECASE,
)
_NUMERIC_DATE = re.compile(r"(?<![\w.,/-])(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})(?![\w/-])")
_ISO_DATE = re.compile(r"(?<![\w.,/-])(\d{4})-(\d{1,2})-(\d{1,2})(?![\w/-])")
_DAY_MONTH = re.compile(
    r"(?<![\w.,])(\d{1,2})(?:º|o|st|nd|rd|th)?\s+(?:de\s+|of\s+)?(" + _MONTH_RE + r")\b"
    r"(?:,?\s+(?:de(?:l)?\s+)?(\d{4})\b)?",
    re.IGNORECASE,
)
_MONTH_DAY = re.compile(
    r"\b(" + _MONTH_RE + r")\s+(\d{1,2})(?:st|nd|rd|th)?(?![\d:]|[.,]\d)(?:,?\s+(\d{4})\b)?", re.IGNORECASE
)
_TIME = re.compile(
    r"(?<![\w.,:])([01]?\d|2[0-3])(?::|h)([0-5]\d)(?![\d:])(?:\s?(a\.?\s?m\.?|p\.?\s?m\.?|h\b|horas\b))?"
    r"|(?<![\w.,:])(1[0-2]|0?\d)\s?(a\.?\s?m\.?|p\.?\s?m\.?)(?!\w)",
    re.IGNORECASE,
)
_NAME_WORD = re.compile(r"(?:[^\W\d_]\.){2,}|[^\W\d_][\w'’]*(?:-\w+)*")  # "S.L.", "Wi-Fi" are one word
_WORD = re.compile(r"\w+")
_LONG_DIGITS = 6  # phone numbers, account numbers: compared digits-only


class FactKind(StrEnum):
    NUMBER = "number"
    DATE = "date"
    TIME = "time"
    CODE = "code"
    NAME = "name"


@dataclass(frozen=True)
class Fact:
    """A checkable fact in an answer sentence: what it looks like there and its normalised key."""

    kind: FactKind
    surface: str
    key: Hashable


def parse_number(token: str) -> Decimal | None:
    """The value of a number written the Spanish or the English way; None for codes like "3.1.2".

    "0,26" and "0.26" are 0.26. A single separator followed by exactly three digits is a thousands
    separator ("1.250" and "1,250" are 1250) unless the integer part is 0 ("0,250" is 0.25); with
    both separators the last one is the decimal mark ("1.250,50", "1,250.50"). Spaces group
    thousands ("52 000").
    """
    token = re.sub(f"[{_SPACES}]", "", token)
    seps = [c for c in token if c in ".,"]
    try:
        if not seps:
            return Decimal(token)
        groups = re.split(r"[.,]", token)
        if len(set(seps)) == 2:
            last = max(token.rfind("."), token.rfind(","))
            whole = re.sub(r"[.,]", "", token[:last])
            return Decimal(f"{whole}.{token[last + 1 :]}")
        if len(seps) > 1:
            if all(len(g) == 3 for g in groups[1:]) and len(groups[0]) <= 3:
                return Decimal("".join(groups))
            return None
        whole, frac = groups
        if len(frac) == 3 and whole != "0" and len(whole) <= 3:
            return Decimal(whole + frac)
        return Decimal(f"{whole}.{frac}")
    except InvalidOperation:
        return None


def _date_key(day: int, month: int, year: int | None) -> tuple[int, int, int | None] | None:
    if year is not None and year < 100:
        year += 2000
    if month > 12 and day <= 12:  # day first unless only month-first makes sense ("03/15/2026")
        day, month = month, day
    if 1 <= day <= 31 and 1 <= month <= 12:
        return (day, month, year)
    return None


def _time_key(match: re.Match[str]) -> tuple[str, int, int]:
    if match.group(1) is not None:
        hour, minute, suffix = int(match.group(1)), int(match.group(2)), match.group(3) or ""
    else:
        hour, minute, suffix = int(match.group(4)), 0, match.group(5) or ""
    suffix = fold(suffix).replace(".", "").replace(" ", "")
    if suffix == "pm" and hour < 12:
        hour += 12
    elif suffix == "am" and hour == 12:
        hour = 0
    return (f"{hour:02d}:{minute:02d}", hour, minute)


def _dates(text: str) -> list[tuple[re.Match[str], tuple[int, int, int | None]]]:
    out: list[tuple[re.Match[str], tuple[int, int, int | None]]] = []
    for m in _NUMERIC_DATE.finditer(text):
        key = _date_key(int(m.group(1)), int(m.group(3)), int(m.group(4)))
        if key:
            out.append((m, key))
    for m in _ISO_DATE.finditer(text):
        key = _date_key(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        if key:
            out.append((m, key))
    for m in _DAY_MONTH.finditer(text):
        key = _date_key(int(m.group(1)), _MONTHS[fold(m.group(2))], int(m.group(3)) if m.group(3) else None)
        if key:
            out.append((m, key))
    for m in _MONTH_DAY.finditer(text):
        key = _date_key(int(m.group(2)), _MONTHS[fold(m.group(1))], int(m.group(3)) if m.group(3) else None)
        if key:
            out.append((m, key))
    return out


def _overlaps(span: tuple[int, int], taken: list[tuple[int, int]]) -> bool:
    return any(span[0] < end and start < span[1] for start, end in taken)


def extract_facts(sentence: str) -> tuple[Fact, ...]:
    """Numbers, amounts, percentages, dates, times and proper names of one answer sentence.

    Citation markers are ignored. Names are capitalised words that do not open the sentence (the
    first word is always capitalised), grouped into multiword names across particles ("Comité de
    Dirección"); function words and honorifics are not names.
    """
    text = strip_citations(sentence)
    facts: list[Fact] = []
    taken: list[tuple[int, int]] = []
    for m, date in _dates(text):
        if not _overlaps(m.span(), taken):
            taken.append(m.span())
            facts.append(Fact(FactKind.DATE, m.group(0).strip(), date))
    for m in _TIME.finditer(text):
        if not _overlaps(m.span(), taken):
            taken.append(m.span())
            facts.append(Fact(FactKind.TIME, m.group(0).strip(), _time_key(m)[0]))
    for m in _NUMBER.finditer(text):
        if _overlaps(m.span(1), taken):
            continue
        taken.append(m.span())
        value = parse_number(m.group(1))
        if value is None:
            facts.append(Fact(FactKind.CODE, m.group(0).strip(), m.group(1)))
        else:
            facts.append(Fact(FactKind.NUMBER, m.group(0).strip(), value))
    facts.extend(_names(text, taken))
    return tuple(facts)


def _names(text: str, taken: list[tuple[int, int]]) -> list[Fact]:
    # Words inside a date or an amount ("March 15", "15 EUR") were checked with it.
    first = re.search(r"\w", text)
    opening = first.start() if first else -1  # the first word is capitalised because it opens the sentence
    words = [w for w in _NAME_WORD.finditer(text) if not _overlaps(w.span(), taken)]
    names: list[Fact] = []
    group: list[re.Match[str]] = []
    pending: list[re.Match[str]] = []  # particles waiting for a capitalised word after them

    def close() -> None:
        if group:
            surface = text[group[0].start() : group[-1].end()]
            key = tuple(part for w in group if w.group(0)[0].isupper() for part in _WORD.findall(fold(w.group(0))))
            names.append(Fact(FactKind.NAME, surface, key))
        group.clear()
        pending.clear()

    for i, word in enumerate(words):
        token = word.group(0)
        between = text[words[i - 1].end() : word.start()] if i else ""
        if group and re.search(r"[^\s'’]", between) and not pending:
            close()  # punctuation between two capitalised words separates names ("Madrid, Barcelona")
        capital = token[0].isupper() and word.start() != opening
        if capital and fold(token).strip("'’") not in _HONORIFICS and not (is_stopword(token) and not group):
            group.extend(pending)
            pending.clear()
            group.append(word)
        elif group and fold(token) in _NAME_PARTICLES and not re.search(r"[^\s]", between):
            pending.append(word)
        else:
            close()
    close()
    return names


@dataclass
class _Evidence:
    """What the cited sources contain, normalised like the facts of an answer."""

    numbers: set[Decimal] = field(default_factory=set)
    dates: set[tuple[int, int, int | None]] = field(default_factory=set)
    times: set[str] = field(default_factory=set)
    codes: set[str] = field(default_factory=set)
    words: set[str] = field(default_factory=set)
    digits: str = ""

    @classmethod
    def of(cls, texts: Iterable[str]) -> _Evidence:
        ev = cls()
        digit_runs: list[str] = []
        for raw in texts:
            text = raw.replace("\u00a0", " ")
            ev.dates.update(key for _, key in _dates(text))
            for m in _TIME.finditer(text):
                label, hour, minute = _time_key(m)
                ev.times.add(label)
                ev.numbers.update({Decimal(hour), Decimal(minute)})
            for m in _NUMBER.finditer(text):
                value = parse_number(m.group(1))
                if value is None:
                    ev.codes.add(m.group(1))
                    ev.numbers.update(Decimal(d) for d in re.findall(r"\d+", m.group(1)))
                else:
                    ev.numbers.add(value)
            for word in _WORD.findall(fold(text)):
                ev.words.add(word)
                ev.words.update(_ALIASES.get(word, ()))
                if word in _NUMBER_WORDS:
                    ev.numbers.add(Decimal(str(_NUMBER_WORDS[word])))
            digit_runs.append(re.sub(r"(?<=\d)[\s.\-/]+(?=\d)", "", text))
        ev.digits = re.sub(r"\D+", " ", " ".join(digit_runs))
        return ev

    @classmethod
    def merge(cls, parts: Iterable[_Evidence]) -> _Evidence:
        ev = cls()
        for e in parts:
            ev.numbers |= e.numbers
            ev.dates |= e.dates
            ev.times |= e.times
            ev.codes |= e.codes
            ev.words |= e.words
            ev.digits += " " + e.digits
        return ev

    def has(self, fact: Fact) -> bool:
        if fact.kind is FactKind.NUMBER:
            assert isinstance(fact.key, Decimal)
            digits = re.sub(r"\D", "", fact.surface)
            return fact.key in self.numbers or (len(digits) >= _LONG_DIGITS and digits in self.digits)
        if fact.kind is FactKind.DATE:
            assert isinstance(fact.key, tuple)
            day, month, year = fact.key
            return any(
                d == day and m == month and (year is None or y == year or (y is None and Decimal(year) in self.numbers))
                for d, m, y in self.dates
            )
        if fact.kind is FactKind.TIME:
            assert isinstance(fact.key, str)
            hour, minute = (int(x) for x in fact.key.split(":"))
            return fact.key in self.times or (minute == 0 and Decimal(hour) in self.numbers)
        if fact.kind is FactKind.CODE:
            return fact.key in self.codes
        assert isinstance(fact.key, tuple)
        return all(word in self.words for word in fact.key)


def check_facts(sentence: str, sources: Sequence[str]) -> tuple[Fact, ...]:
    """The facts of ``sentence`` that do not occur in any of ``sources`` (empty when all are found)."""
    evidence = _Evidence.of(sources)
    return tuple(f for f in extract_facts(sentence) if not evidence.has(f))


# --------------------------------------------------------------------------- results


class Verdict(StrEnum):
    SUPPORTED = "supported"
    PARTIALLY_SUPPORTED = "partially_supported"
    UNSUPPORTED = "unsupported"
    REFUSAL = "refusal"


class SentenceKind(StrEnum):
    CLAIM = "claim"
    """A sentence that states something; it must be supported by the sources it cites."""
    CONNECTIVE = "connective"
    """A short lead-in ("Según la política de viajes:"); neutral."""
    REFUSAL = "refusal"
    """The refusal sentence; neutral."""


@dataclass(frozen=True)
class Thresholds:
    """Decision thresholds of the guard. Provisional: to be calibrated on samples/questions.jsonl.

    The defaults come from a first look with all-MiniLM-L6-v2 on the travel and remote-work
    policies: correct same-language claims and paraphrases scored 0.51-0.94, related but unsupported
    claims 0.21-0.30, so ``sentence_support`` sits between them. The best dense similarity of
    answerable and unanswerable sample questions overlaps widely (about 0.27-0.51 for unanswerable),
    so ``retrieval_min`` only stops questions with nothing remotely related; the sentence checks
    carry the decision.

    Attributes:
        sentence_support: least support score (0-1) for a claim to count as supported.
        answer_support: least share of supported claims for an answer to be shown.
        retrieval_min: least best dense cosine similarity of the retrieved chunks; below it the
            sources are judged too far from the question to answer from.
    """

    sentence_support: float = 0.4
    answer_support: float = 0.5
    retrieval_min: float = 0.2
    semantic_floor: float = 0.0
    """Cosine similarity the embedder gives unrelated texts; semantic support is rescaled from it to 1.
    0 suits all-MiniLM-L6-v2; e5 models place almost every pair above 0.7, so they need about 0.75."""

    def __post_init__(self) -> None:
        if not (0.0 <= self.sentence_support <= 1.0 and 0.0 <= self.answer_support <= 1.0):
            raise ValueError("sentence_support and answer_support must lie between 0 and 1.")
        if not -1.0 <= self.retrieval_min <= 1.0:
            raise ValueError("retrieval_min is a cosine similarity and must lie between -1 and 1.")
        if not 0.0 <= self.semantic_floor < 1.0:
            raise ValueError("semantic_floor is a cosine similarity and must lie in [0, 1).")


@dataclass(frozen=True)
class SentenceCheck:
    """The verdict on one sentence of an answer.

    ``support`` is NaN when it could not be judged (no valid citation, or a neutral sentence);
    ``lexical`` and ``semantic`` are its two cheap components, kept for calibration.
    """

    text: str
    citations: tuple[int, ...]
    invalid_citations: tuple[int, ...]
    support: float
    missing_facts: tuple[str, ...]
    supported: bool
    reason: str
    kind: SentenceKind = SentenceKind.CLAIM
    lexical: float = math.nan
    semantic: float = math.nan
    forbidden_citations: tuple[int, ...] = ()
    """The invalid citations that point to a source the user may not see."""


@dataclass(frozen=True)
class Verification:
    """The verdict on a whole answer. ``supported_share`` counts claims only and is NaN without any."""

    sentences: tuple[SentenceCheck, ...]
    supported_share: float
    refused: bool
    verdict: Verdict
    reason: str

    @property
    def invalid_citations(self) -> tuple[int, ...]:
        return tuple(sorted({n for s in self.sentences for n in s.invalid_citations}))

    @property
    def missing_facts(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f for s in self.sentences for f in s.missing_facts))


@runtime_checkable
class Judge(Protocol):
    """A stronger, slower support check (an LLM asked "do these sources support this sentence?")."""

    def judge(self, sentence: str, sources: list[str]) -> float | None:
        """Probability in [0, 1] that ``sources`` support ``sentence``; None when it cannot tell."""
        ...


# --------------------------------------------------------------------------- verification

_CONNECTIVE_MAX_WORDS = 12


# Words of a sentence that only points at its source ("Esta información se encuentra en el documento [3].").
_POINTER_WORDS = frozenset(
    keyword_tokens(
        "esta este esa informacion dato datos se encuentra encuentran aparece aparecen figura indica segun "
        "documento documentos fuente fuentes seccion pagina politica this that information data is found can be "
        "appears stated according document documents source sources section page policy in the see as per"
    )
)


def _is_connective(sentence: str) -> bool:
    text = strip_citations(sentence)
    heading = sentence.lstrip().startswith("#")
    if (text.endswith(":") or heading) and len(text.split()) <= _CONNECTIVE_MAX_WORDS and not re.search(r"\d", text):
        return True
    return _is_pointer(text)


def _is_pointer(text: str) -> bool:
    """A sentence that only says where the information is, with no fact of its own."""
    tokens = keyword_tokens(text)
    return bool(tokens) and len(text.split()) <= _CONNECTIVE_MAX_WORDS and set(tokens) <= _POINTER_WORDS


def _inherit_citations(plans: list[_Plan]) -> list[_Plan]:
    """Give an uncited claim the citations of the pointer or claim right after it.

    Small models often write the fact, then "This is in document [3]." as a sentence of its own;
    the fact is then checked against [3] instead of being rejected as uncited.
    """
    out = list(plans)
    for i, p in enumerate(out):
        if p.kind is not SentenceKind.CLAIM or p.citations or i + 1 >= len(out):
            continue
        nxt = out[i + 1]
        if nxt.valid and not nxt.forbidden and nxt.kind is not SentenceKind.REFUSAL:
            out[i] = _Plan(p.text, nxt.valid, (), (), nxt.valid, p.kind)
    return out


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


def _evidence_text(chunk: Chunk) -> str:
    # The prompt shows the title and section path with each source, so they count as evidence.
    return "\n".join([chunk.title, " / ".join(chunk.section), chunk.text])


@dataclass(frozen=True)
class _Plan:
    """What is known about a sentence before any scoring."""

    text: str
    citations: tuple[int, ...]
    invalid: tuple[int, ...]
    forbidden: tuple[int, ...]
    valid: tuple[int, ...]
    kind: SentenceKind

    @property
    def needs_scoring(self) -> bool:
        return self.kind is SentenceKind.CLAIM and bool(self.valid) and not self.forbidden


@dataclass
class _Scorer:
    """The cited sources of one answer, embedded and indexed once, and the thresholds to apply."""

    sources: list[Chunk]
    thresholds: Thresholds
    judge: Judge | None
    sentence_vecs: dict[int, np.ndarray]
    unit_vecs: np.ndarray
    unit_rows: dict[int, tuple[int, int]]
    evidence: dict[int, _Evidence]
    tokens: dict[int, set[str]]

    def check(self, i: int, p: _Plan) -> SentenceCheck:
        def result(
            support: float,
            missing: tuple[str, ...],
            supported: bool,
            reason: str,
            lexical: float = math.nan,
            semantic: float = math.nan,
        ) -> SentenceCheck:
            return SentenceCheck(p.text, p.citations, p.invalid, support, missing, supported, reason, p.kind,
                                 lexical, semantic, p.forbidden)  # fmt: skip

        if p.forbidden:
            return result(math.nan, (), False, f"cites {_refs(p.forbidden)}, which the user may not see")
        invalid_note = f"invalid citation {_refs(p.invalid)}" if p.invalid else ""
        if p.kind is not SentenceKind.CLAIM:
            note = "refusal sentence" if p.kind is SentenceKind.REFUSAL else "short lead-in, nothing to verify"
            return result(math.nan, (), True, "; ".join(filter(None, [note, invalid_note])))
        if not p.valid:
            why = f"cites only {_refs(p.invalid)}, not a source of this answer" if p.invalid else "cites no source"
            return result(math.nan, (), False, why)

        idxs = [c - 1 for c in p.valid]
        evidence = _Evidence.merge(self.evidence[idx] for idx in idxs)
        missing = tuple(f.surface for f in extract_facts(p.text) if not evidence.has(f))
        claim_tokens = set(keyword_tokens(strip_citations(p.text)))
        source_tokens = set().union(*(self.tokens[idx] for idx in idxs))
        lexical = len(claim_tokens & source_tokens) / len(claim_tokens) if claim_tokens else math.nan
        rows = [r for idx in idxs for r in range(*self.unit_rows[idx])]
        floor = self.thresholds.semantic_floor
        cosine = float(np.max(self.unit_vecs[rows] @ self.sentence_vecs[i])) if rows else math.nan
        semantic = float(np.clip((cosine - floor) / (1.0 - floor), 0.0, 1.0)) if rows else math.nan
        parts = [x for x in (lexical, semantic) if not math.isnan(x)]
        support = sum(parts) / len(parts) if parts else math.nan
        how = f"lexical {lexical:.2f}, semantic {semantic:.2f}"
        if self.judge is not None:
            judged = self.judge.judge(strip_citations(p.text), [_evidence_text(self.sources[idx]) for idx in idxs])
            if judged is not None and not math.isnan(judged):
                support = min(1.0, max(0.0, float(judged)))
                how = f"judge {support:.2f}; {how}"

        floor = self.thresholds.sentence_support
        enough = not math.isnan(support) and support >= floor
        supported = enough and not missing
        if supported:
            reason = f"supported by {_refs(p.valid)}: support {support:.2f} >= {floor:.2f} ({how})"
        else:
            problems = [f"{', '.join(repr(m) for m in missing)} not in {_refs(p.valid)}" if missing else "",
                        "" if enough else f"support {support:.2f} < {floor:.2f} ({how})"]  # fmt: skip
            reason = "; ".join(filter(None, problems))
        return result(support, missing, supported, "; ".join(filter(None, [reason, invalid_note])), lexical, semantic)


def _plan(text: str, sources: list[Chunk], user_groups: frozenset[str]) -> _Plan:
    citations = parse_citations(text)
    n = len(sources)
    out_of_range = tuple(c for c in citations if not 1 <= c <= n)
    forbidden = tuple(c for c in citations if 1 <= c <= n and not sources[c - 1].access.visible_to(user_groups))
    valid = tuple(c for c in citations if c not in out_of_range and c not in forbidden)
    if is_refusal(text):
        kind = SentenceKind.REFUSAL
    elif _is_connective(text):
        kind = SentenceKind.CONNECTIVE
    else:
        kind = SentenceKind.CLAIM
    return _Plan(text, citations, out_of_range + forbidden, forbidden, valid, kind)


def verify_answer(
    answer: str,
    sources: list[Chunk],
    user_groups: frozenset[str],
    embedder: Embedder,
    thresholds: Thresholds | None = None,
    judge: Judge | None = None,
) -> Verification:
    """Checks each sentence of ``answer`` against the sources it cites.

    Args:
        answer: the generated text, with ``[n]`` citations.
        sources: the chunks of the prompt, in prompt order (``[1]`` is ``sources[0]``).
        user_groups: the asking user's groups; a citation to a chunk they may not see is invalid.
        embedder: the embedding model; called at most twice (the claims, then the cited sources' pieces).
        thresholds: decision thresholds (the provisional defaults when None).
        judge: when given, its score replaces the cheap support score of each claim it can judge;
            the facts check still applies.

    Returns:
        One ``SentenceCheck`` per sentence and the answer-level verdict.
    """
    plans = _inherit_citations([_plan(text, sources, user_groups) for text in split_sentences(answer)])
    scored = [i for i, p in enumerate(plans) if p.needs_scoring]
    cited = list(dict.fromkeys(c - 1 for i in scored for c in plans[i].valid))  # 0-based, first-cited order

    sentence_vecs: dict[int, np.ndarray] = {}
    unit_rows: dict[int, tuple[int, int]] = {}
    unit_vecs = np.zeros((0, 0), dtype=np.float32)
    if scored:
        vecs = embedder.embed_documents([strip_citations(plans[i].text) for i in scored])
        sentence_vecs = {i: vecs[row] for row, i in enumerate(scored)}
        units: list[str] = []
        for idx in cited:
            pieces = source_units(sources[idx])
            unit_rows[idx] = (len(units), len(units) + len(pieces))
            units += pieces
        if units:
            unit_vecs = embedder.embed_documents(units)
    scorer = _Scorer(
        sources=sources,
        thresholds=thresholds or Thresholds(),
        judge=judge,
        sentence_vecs=sentence_vecs,
        unit_vecs=unit_vecs,
        unit_rows=unit_rows,
        evidence={idx: _Evidence.of([_evidence_text(sources[idx])]) for idx in cited},
        tokens={idx: set(keyword_tokens(_evidence_text(sources[idx]))) for idx in cited},
    )
    return _summarise(tuple(scorer.check(i, p) for i, p in enumerate(plans)))


def _refs(numbers: Iterable[int]) -> str:
    return "".join(f"[{n}]" for n in numbers)


def _summarise(checks: tuple[SentenceCheck, ...]) -> Verification:
    claims = [c for c in checks if c.kind is SentenceKind.CLAIM]
    supported = [c for c in claims if c.supported]
    share = len(supported) / len(claims) if claims else math.nan
    has_refusal = any(c.kind is SentenceKind.REFUSAL for c in checks)
    forbidden = sorted({n for c in checks for n in c.forbidden_citations})
    refused = has_refusal and not supported
    if forbidden:
        verdict, reason = Verdict.UNSUPPORTED, f"cites {_refs(forbidden)}, which the user may not see"
    elif refused:
        extra = f"; {len(claims)} unsupported claim(s) beside it" if claims else ""
        verdict, reason = Verdict.REFUSAL, "the model refused" + extra
    elif not claims:
        verdict, reason = Verdict.UNSUPPORTED, "no claim to verify"
    else:
        verdict = (
            Verdict.SUPPORTED
            if len(supported) == len(claims)
            else Verdict.UNSUPPORTED
            if not supported
            else Verdict.PARTIALLY_SUPPORTED
        )
        reason = f"{len(supported)} of {len(claims)} claims supported"
        failed = [c for c in claims if not c.supported]
        if failed:
            reason += "; first unsupported: " + f"{failed[0].text!r} ({failed[0].reason})"
    return Verification(checks, share, refused, verdict, reason)


def should_refuse(verification: Verification, retrieval_top_score: float, thresholds: Thresholds | None = None) -> bool:
    """Whether to show the refusal instead of the answer.

    Refuses when the model refused, when the answer is judged unsupported (including a citation to a
    forbidden source, or no claim at all), when the share of supported claims is below
    ``answer_support``, or when the best dense cosine similarity of the retrieved chunks is below
    ``retrieval_min``. A NaN retrieval score (no dense retriever) leaves that last test out.
    """
    th = thresholds or Thresholds()
    if verification.refused or verification.verdict in (Verdict.REFUSAL, Verdict.UNSUPPORTED):
        return True
    share = verification.supported_share
    if math.isnan(share) or share < th.answer_support:
        return True
    return not math.isnan(retrieval_top_score) and retrieval_top_score < th.retrieval_min
