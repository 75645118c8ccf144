"""Whether two readings of one question gave the same answer.

The 1.5B model's wrong answers are mostly a neighbouring row or clause read instead of the one asked
about ("72 hours" for a holiday request that needs 21 days). Read again from evidence ranked by another
model, it often picks the right one, or the same wrong one far less often than the same right one: on
the six question sets' saved guard-open readings, an answer under the guard's floors that the answer
check believed (>= 0.6) was right 26 times in 36 when the second reading agreed with it, and 2 times in
17 when it did not (docs/evaluation.md, sixteenth session).

Agreement is judged on what the answers assert, not how they are worded: the same number where either
holds one (decimal commas read as points: "7,90" and "7.90" agree), otherwise most content words shared.
Two answers in different languages without a number rarely agree, so the rule errs towards refusing.
"""

from __future__ import annotations

import re

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_WORD = re.compile(r"\w+")
_MIN_WORD_CHARS = 4
_MIN_SHARED_WORDS = 0.4
"""Least Jaccard share of content words for two answers without numbers to agree."""


def numbers_of(text: str) -> set[str]:
    """The numbers ``text`` states, digits grouped across spaces ("1 500" is 1500), decimal commas as points."""
    return {n.replace(",", ".") for n in _NUMBER.findall(text.replace(" ", ""))}


def content_words(text: str) -> set[str]:
    """Lower-cased words of at least four characters: names, nouns and verbs, not articles or prepositions."""
    return {w for w in _WORD.findall(text.lower()) if len(w) >= _MIN_WORD_CHARS}


def same_answer(first: str, second: str) -> bool:
    """Whether ``first`` and ``second`` (two answers to one question, citations stripped) say the same thing."""
    a, b = numbers_of(first), numbers_of(second)
    if a or b:
        return bool(a & b)
    wa, wb = content_words(first), content_words(second)
    return len(wa & wb) >= _MIN_SHARED_WORDS * max(1, len(wa | wb))
