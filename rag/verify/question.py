"""What a question asks for, as far as it can be told without a model: a value, and the names it is about.

Two checks that need no model and hold in any domain:

* A question that asks for a value ("¿cuánto…?", "how many…", "when…", "what is the price of…")
  is answered only by an answer that holds a value (number, amount, date, time, weekday, month) that
  the question did not already bring. "The EBITDA is budgeted for 2026." restates the question; it
  does not answer "What EBITDA is budgeted for 2026?".
* The years, months, codes and names a question names ("revenue in 2023", "the September payroll",
  "band B3", "the Lisbon office") must be in the evidence an answer rests on: a sentence about 2025
  does not answer a question about 2023, nor one about the Valencia office a question about Lisbon,
  however alike the two read to an embedding model. A name may stand in the evidence in the other
  language ("Lisboa"): the question's translation names it so.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.text import fold
from rag.verify.facts import FactIndex, FactKind, extract_facts, same_value_key, sentence_openings

# Folded, accents removed: "cuántos" -> "cuantos".
_VALUE_QUESTION = re.compile(
    r"\b(cuant[oa]s?|how\s+(many|much|long|often|quickly|soon|far|fast|old|big|large|high)|cuando|when|"
    r"a\s+que\s+hora|at\s+what\s+time|en\s+que\s+(plazo|ano|fecha|dia|mes)|cada\s+cuanto|"
    r"(que|what|which)\s+(dia|dias|day|days|fecha|date|ano|year|hora|time|mes|month))\b"
)
# "What is the price / ¿Cuál es el plazo / What does X cost": a what-question about a measure asks for a value.
_WHAT_QUESTION = re.compile(r"^\W*(what|which|cual|cuales|que)\b")
_MEASURE = re.compile(
    r"\b(precio|price|cuesta|cuestan|cost|costs|coste|costo|importe|amount|tarifa|rate|tasa|porcentaje|percentage|"
    r"salario|salary|sueldo|presupuest\w*|budget\w*|facturacion|revenue|ingresos|ebitda|velocidad|speed|plazo|"
    r"deadline|fecha|date|dieta|allowance|limite|limit|duracion|duration|plantilla|headcount|interes|interest|"
    r"maxim[oa]|minim[oa]|maximum|minimum|longitud|length|numero|number|horario|schedule|"
    r"response\s+time|tiempo\s+de\s+respuesta)\b"
)
_NOT_A_VALUE = re.compile(
    r"\b(como|how\s+(do|does|to|can|should)|procedimiento|procedure|process|proceso|why|por\s+que)\b"
)
_WEEKDAY_OR_MONTH = re.compile(
    r"\b(lunes|martes|miercoles|jueves|viernes|sabado|domingo|monday|tuesday|wednesday|thursday|friday|"
    r"saturday|sunday|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|"
    r"noviembre|diciembre|january|february|march|april|june|july|august|september|october|november|december)\b"
)
_NUMBER_WORD = re.compile(
    r"\b(un|una|uno|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|once|doce|quince|veinte|treinta|cien|mil|"
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|hundred|thousand|"
    r"medio|media|half)\b"
)
_ARTICLES = re.compile(r"\b(un|una|uno|one|a|an)\b", re.IGNORECASE)
_YEAR = re.compile(r"(?<![\w.,])(19\d\d|20\d\d)(?![\w])")
# A code: letters and digits together ("B3", "P1", "PRN-ZGZ-02", "ISO-27001"), not a plain number or word.
_CODE = re.compile(r"(?<![\w-])(?=[\w-]*[a-z])(?=[\w-]*\d)[a-z0-9]+(?:-[a-z0-9]+)*(?![\w-])")
_VALUE_KINDS = (FactKind.NUMBER, FactKind.DATE, FactKind.TIME)
_MONTHS = (
    ("enero", "january"), ("febrero", "february"), ("marzo", "march"), ("abril", "april"), ("mayo", "may"),
    ("junio", "june"), ("julio", "july"), ("agosto", "august"), ("septiembre|setiembre", "september"),
    ("octubre", "october"), ("noviembre", "november"), ("diciembre", "december"),
)  # fmt: skip
# "May" is also a verb: an English question names the month only next to a day or a year.
_MONTH_IN_QUESTION = [
    re.compile(rf"\b({es}|{en})\b" if en != "may" else r"\b(mayo|may(?=\s+\d)|(?<=\d\s)may)\b") for es, en in _MONTHS
]
_MONTH_IN_EVIDENCE = [
    re.compile(rf"\b({es}|{en})\b|\b\d{{1,2}}[/.-]0?{n}[/.-]\d{{2,4}}\b|\b\d{{4}}-0?{n}-\d{{1,2}}\b")
    for n, (es, en) in enumerate(_MONTHS, start=1)
]
# A name: a capitalised word inside the question (not its first word), not a weekday or month.
_NAME = re.compile(r"(?<=\s)([A-ZÁÉÍÓÚÑÜ][a-záéíóúñü]{2,}(?:-[A-ZÁÉÍÓÚÑÜ]?[a-záéíóúñü]+)*)\b")


@dataclass(frozen=True)
class Focus:
    """What a question asks for: whether a value, and which years and codes it is about."""

    asks_value: bool
    anchors: frozenset[str]
    """Folded years and codes the question names; evidence that answers it holds each of them."""
    months: frozenset[int] = frozenset()
    """Months (1-12) the question names; evidence that answers it names each of them (either language)."""


def focus_of(question: str) -> Focus:
    """The :class:`Focus` of a question (Spanish or English)."""
    text = fold(question)
    anchors = {m.group(1) for m in _YEAR.finditer(text)}
    anchors |= {m.group(0) for m in _CODE.finditer(text) if not _YEAR.fullmatch(m.group(0))}
    asks = bool(_VALUE_QUESTION.search(text)) or bool(
        _WHAT_QUESTION.search(text) and _MEASURE.search(text) and not _NOT_A_VALUE.search(text)
    )
    months = {n for n, pattern in enumerate(_MONTH_IN_QUESTION, start=1) if pattern.search(text)}
    return Focus(asks, frozenset(anchors), frozenset(months))


def names_of(question: str) -> set[str]:
    """The folded names a question is about ("Lisbon", "Zaragoza", "Nexo"): capitalised words after its first,
    not those that open a later sentence ("I fly to New York. Who approves it?": "Who" is no name)."""
    text = question.strip().lstrip("¿¡\"'")
    openings = sentence_openings(text)
    words = {fold(m.group(1)) for m in _NAME.finditer(text) if m.start() not in openings}
    return {w for w in words if not _WEEKDAY_OR_MONTH.fullmatch(w) and w != "may"}


def missing_names(queries: Sequence[str], texts: list[str]) -> set[str]:
    """The question's names missing from ``texts``, unless one of ``queries`` (the question or its
    translation, which may say "Lisboa" for "Lisbon") has every one of its names there; else empty."""
    folded = " ".join(fold(t) for t in texts)

    def absent(query: str) -> set[str]:
        return {n for n in names_of(query) if not re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", folded)}

    missing = [absent(q) for q in queries]
    return set() if not missing or any(not m for m in missing) else missing[0]


def holds_value(text: str) -> bool:
    """Whether ``text`` holds a number, amount, date, time, weekday or month (in figures or words)."""
    folded = fold(text)
    if _WEEKDAY_OR_MONTH.search(folded) or _NUMBER_WORD.search(folded):
        return True
    return any(f.kind in _VALUE_KINDS for f in extract_facts(text))


def new_value(answer: str, queries: tuple[str, ...] | list[str], sources: Sequence[str] | None = None) -> bool:
    """Whether the answer holds a value that none of ``queries`` (the question, its translations) brought.

    With ``sources`` (the cited items' own sentences), the value must also be one of theirs: a number
    the model took from a heading ("5. Dietas de manutención") or a title is no answer to "how much".
    """
    # An article is no value the question brought: "la pérdida de un portátil" asks nothing about 1.
    asked = FactIndex.of(_ARTICLES.sub(" ", q) for q in queries)
    held = FactIndex.of(sources) if sources is not None else None
    if any(
        f.kind in _VALUE_KINDS and not asked.has(f) and (held is None or held.has(f)) for f in extract_facts(answer)
    ):
        return True
    said = set().union(*(_value_words(q) for q in queries))
    fresh = _value_words(answer, articles=False) - said
    if sources is not None:
        fresh &= set().union(*(_value_words(s) for s in sources))
    return bool(fresh)


def _value_words(text: str, articles: bool = True) -> set[str]:
    """The weekdays, months and number words of ``text``, each as one key in Spanish and English (a Spanish
    answer's "miércoles" from an English item's "every Wednesday" is the item's value)."""
    folded = fold(text)
    words = [m.group(0) for m in _WEEKDAY_OR_MONTH.finditer(folded)]
    words += [
        m.group(0) for m in _NUMBER_WORD.finditer(folded) if articles or m.group(0) not in ("un", "una", "uno", "one")
    ]
    return {same_value_key(w) for w in words}


def missing_anchors(focus: Focus, texts: list[str]) -> set[str]:
    """The question's years, codes and months that none of ``texts`` holds (as a whole token, dates included)."""
    if not focus.anchors and not focus.months:
        return set()
    folded = " ".join(fold(t) for t in texts)
    absent = {a for a in focus.anchors if not re.search(rf"(?<![\w-]){re.escape(a)}(?![\w-])", folded)}
    absent |= {_MONTHS[m - 1][1] for m in focus.months if not _MONTH_IN_EVIDENCE[m - 1].search(folded)}
    return absent
