"""The verified answer in the question's language.

The extract prompt asks for an answer in the question's language, but the 1.5B model sometimes copies its
evidence's (a Spanish question about an English policy answered in English). Such an answer is translated
by a short call to the local model and shown translated only when every fact of the translation (number,
date, time, code, name) is one of the verified answer's or its cited items': a translation can lose or
change nothing the guard checked. Anything else keeps the answer as verified.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from rag.language import detect_language
from rag.verify.facts import FactIndex, extract_facts

log = logging.getLogger(__name__)
_MIN_CHARS = 20  # shorter answers ("2.4 EUR", "San Valero") are not told apart by language


def in_language(
    answer: str, language: str, cited: Sequence[str], translate: Callable[[str, str], str | None]
) -> str | None:
    """``answer`` rewritten in ``language`` (es/en) when it was written in another, else None (keep it).

    ``translate(text, language)`` is the model call; ``cited`` are the texts of the items the answer cites.
    """
    written = detect_language(answer, min_chars=_MIN_CHARS)
    if written in ("und", language):
        return None
    translated = translate(answer, language)
    if not translated or detect_language(translated, min_chars=_MIN_CHARS) != language:
        return None
    known = FactIndex.of([answer, *cited])
    changed = [f.surface for f in extract_facts(translated) if not known.has(f)]
    if changed:
        log.info("answer translation not used: %s not in the verified answer", ", ".join(changed))
        return None
    return translated
