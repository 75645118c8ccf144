"""Text normalisation shared by the keyword index and the query side."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_WORD = re.compile(r"\w+", re.UNICODE)

# Short function words of Spanish and English; content words, numbers and codes are kept.
_STOPWORDS = frozenset(
    [
        "a",
        "al",
        "algo",
        "algunas",
        "algunos",
        "ante",
        "antes",
        "como",
        "con",
        "contra",
        "cual",
        "cuando",
        "de",
        "del",
        "desde",
        "donde",
        "durante",
        "e",
        "el",
        "ella",
        "ellas",
        "ellos",
        "en",
        "entre",
        "era",
        "es",
        "esa",
        "esas",
        "ese",
        "eso",
        "esos",
        "esta",
        "estas",
        "este",
        "esto",
        "estos",
        "fue",
        "ha",
        "han",
        "hay",
        "la",
        "las",
        "le",
        "les",
        "lo",
        "los",
        "mas",
        "me",
        "mi",
        "mis",
        "mucho",
        "muy",
        "ni",
        "no",
        "nos",
        "o",
        "os",
        "otra",
        "otro",
        "para",
        "pero",
        "por",
        "porque",
        "que",
        "quien",
        "se",
        "sea",
        "ser",
        "si",
        "sin",
        "sobre",
        "su",
        "sus",
        "tambien",
        "te",
        "tiene",
        "tu",
        "tus",
        "un",
        "una",
        "uno",
        "unos",
        "y",
        "ya",
        "yo",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "from",
        "had",
        "has",
        "have",
        "he",
        "her",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "our",
        "she",
        "so",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
    ]
)


# The combining diacritical marks block, less U+034F (the grapheme joiner, combining class 0).
_LATIN_MARKS = re.compile("[\u0300-\u034e\u0350-\u036f]+")


def fold(text: str) -> str:
    """Lower-case and strip accents, so 'Política' and 'politica' match."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    if decomposed.isascii():  # no marks at all: most English text, nothing done per character
        return decomposed
    # Spanish and the other Latin scripts have only the combining diacritics block: one regex pass.
    stripped = _LATIN_MARKS.sub("", decomposed)
    if stripped.isascii():
        return stripped
    return "".join(ch for ch in stripped if not unicodedata.combining(ch))


def is_stopword(word: str) -> bool:
    """Whether ``word`` (any case or accents) is a Spanish or English function word."""
    return fold(word) in _STOPWORDS


@lru_cache(maxsize=1)
def _stemmers() -> tuple[object, object]:
    import Stemmer  # PyStemmer, a dependency of bm25s stemming

    return Stemmer.Stemmer("spanish"), Stemmer.Stemmer("english")


def keyword_tokens(text: str) -> list[str]:
    """Tokens for BM25: folded words minus stopwords, stemmed for Spanish and English.

    The corpus mixes both languages and a chunk's language is not always known at query time,
    so each word is reduced by the Spanish stemmer and then the English one; the same function
    runs on queries, so both sides meet.
    """
    es, en = _stemmers()
    words = [w for w in _WORD.findall(fold(text)) if w not in _STOPWORDS]
    return en.stemWords(es.stemWords(words))  # type: ignore[attr-defined]


# Words that only make a question a question: they say nothing about what is asked.
_QUESTION_WORDS = frozenset(
    keyword_tokens(
        "cuanto cuanta cuantos cuantas cual cuales como donde cuando quien quienes que puedo puede pueden tengo "
        "tiene tienen debo debe hay segun dice indica how many much what which who whom whose when where why "
        "does do did is are can could should must may according say says"
    )
)


def question_terms(text: str) -> set[str]:
    """The content terms of a question (stemmed, folded), without question words."""
    return {t for t in keyword_tokens(text) if t not in _QUESTION_WORDS}


def coverage(terms: set[str], text: str) -> float:
    """Share of ``terms`` found in ``text``; 0 when there are no terms."""
    if not terms:
        return 0.0
    return len(terms & set(keyword_tokens(text))) / len(terms)
