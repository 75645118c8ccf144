"""Facts of a sentence (numbers, amounts, dates, times, names, codes) and whether sources contain them.

Numbers are compared by value ("1.250,50 €" = "1250.50 EUR"), dates by day/month/year in any common
Spanish or English form, names by their folded words; a few names that a cross-language answer
writes differently from its source (Lisboa/Lisbon, miércoles/Wednesday, Fundación/Foundation) count as the same.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from rag.text import fold, is_stopword
from rag.verify.sentences import strip_citations


def _words(text: str) -> list[str]:
    return text.split()


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
    # The common noun of an organisation's name, which an answer in the other language translates ("the Mar
    # Solidari Foundation" from "la Fundació Mar Solidari"); the name's own words must still be in the source.
    ("fundacion", "foundation"), ("fundacio", "foundation"), ("comite", "committee"), ("consejo", "council"),
    ("departamento", "department"), ("universidad", "university"), ("ministerio", "ministry"),
    ("asociacion", "association"), ("instituto", "institute"), ("agencia", "agency"), ("oficina", "office"),
    ("servicio", "service"), ("servicios", "services"), ("gobierno", "government"), ("ayuntamiento", "council"),
    ("sociedad", "society"), ("grupo", "group"), ("banco", "bank"), ("camara", "chamber"), ("escuela", "school"),
    ("museo", "museum"), ("biblioteca", "library"), ("centro", "centre"), ("centro", "center"), ("junta", "board"),
    ("direccion", "management"), ("recursos", "resources"), ("humanos", "human"), ("clinica", "clinic"),
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


def same_value_key(word: str) -> str:
    """A folded weekday, month or number word as one key in Spanish and English: "miercoles" and
    "wednesday" give the same key, as do "dos" and "two"."""
    if word in _NUMBER_WORDS:
        return str(_NUMBER_WORDS[word])
    return min({word, *_ALIASES.get(word, ())})


_HONORIFICS = frozenset(_words("sr sra srta dr dra d dna don dona mr mrs ms miss prof i"))
_ABBREVIATIONS = (
    _HONORIFICS
    | frozenset(_words("av avda c pza pl st no num n tel ext dept dpto"))
    | frozenset("abcdefghijklmnopqrstuvwxyz")
)
_NAME_PARTICLES = frozenset(_words("de del la las los y da do dos das van von of the and el e"))

_CURRENCIES = r"€|\$|£|eur(?:os?)?\b|usd\b|gbp\b|d[oó]lar(?:es)?\b|dollars?\b|libras?\b|pounds?\b"
_CURRENCY = f"(?:{_CURRENCIES})"
_UNIT = (
    r"(?:%|por\s*ciento\b|percent\b|" + _CURRENCIES + r"|d[ií]as?\b|days?\b|horas?\b|hours?\b|h\b|"
    r"semanas?\b|weeks?\b|mes(?:es)?\b|months?\b|a[nñ]os?\b|years?\b|noches?\b|nights?\b|minutos?\b|"
    r"minutes?\b|min\b|km\b|kil[oó]metros?\b|kilometers?\b|kilometres?\b|kg\b|veces\b|times\b|personas\b|people\b)"
)
_SPACES = " \u00a0\u202f\u2009"  # "52 000": thousands grouped with a (narrow, no-break) space
NUMBER = _NUMBER = re.compile(
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
# The first letter of a text or of a sentence after a full stop, question or exclamation mark; group 1 is the word
# before that stop ("Sr" in "Sr. García": an abbreviation's stop opens no sentence).
_SENTENCE_OPENING = re.compile(r"(?:^\W*|(\w*)[.!?]\s+[¿¡\"'«(]*)(\w)")
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


def without_values(text: str) -> str:
    """``text`` with its dates, times and numbers (with their units and am/pm) blanked out: what is left
    is words, for checks that leave the values to the facts check."""
    spans = [m.span() for m, _ in _dates(text)] + [m.span() for m in _TIME.finditer(text)]
    spans += [m.span() for m in _NUMBER.finditer(text)]
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


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


def sentence_openings(text: str) -> set[int]:
    """Where the sentences of ``text`` start: its first word and every word after a full stop, question or
    exclamation mark, except after an abbreviation ("Sr. García", "Av. Trilladores")."""
    return {
        m.start(2)
        for m in _SENTENCE_OPENING.finditer(text)
        if m.group(1) is None or fold(m.group(1)) not in _ABBREVIATIONS
    }


def _names(text: str, taken: list[tuple[int, int]]) -> list[Fact]:
    # Words inside a date or an amount ("March 15", "15 EUR") were checked with it.
    # A word that opens a sentence is capitalised for that reason alone ("... 45 euros por hora. Necesitas").
    openings = sentence_openings(text)
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
        capital = token[0].isupper() and word.start() not in openings
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
class FactIndex:
    """What sources contain, normalised like the facts of an answer."""

    numbers: set[Decimal] = field(default_factory=set)
    dates: set[tuple[int, int, int | None]] = field(default_factory=set)
    times: set[str] = field(default_factory=set)
    codes: set[str] = field(default_factory=set)
    words: set[str] = field(default_factory=set)
    digits: str = ""

    @classmethod
    def of(cls, texts: Iterable[str]) -> FactIndex:
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
                    # "412 436" is 412436 in prose but two cells of a flattened table row: a source
                    # holds both readings (an answer's number is read one way, as written).
                    groups = re.split(f"[{_SPACES}]", m.group(1))
                    if len(groups) > 1:
                        ev.numbers.update(v for g in groups if (v := parse_number(g)) is not None)
            for word in _WORD.findall(fold(text)):
                ev.words.add(word)
                ev.words.update(_ALIASES.get(word, ()))
                if word in _NUMBER_WORDS:
                    ev.numbers.add(Decimal(str(_NUMBER_WORDS[word])))
            digit_runs.append(re.sub(r"(?<=\d)[\s.\-/]+(?=\d)", "", text))
        ev.digits = re.sub(r"\D+", " ", " ".join(digit_runs))
        return ev

    @classmethod
    def merge(cls, parts: Iterable[FactIndex]) -> FactIndex:
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
    evidence = FactIndex.of(sources)
    return tuple(f for f in extract_facts(sentence) if not evidence.has(f))
