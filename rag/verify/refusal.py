"""The refusal sentence, and recognising one however a model words it (Spanish or English)."""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from rag.text import fold
from rag.verify.sentences import parse_citations, strip_citations

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
    # "... is not provided in the given evidence", "no se menciona en la evidencia".
    # Only with the evidence named: "Breakfast is not included." is an answer, not a refusal.
    re.compile(
        r"\b(is|are|was|were)\s+not\s+(provided|mentioned|specified|stated|given|included|listed|found|available)"
        r"\s+(in|by)\s+(the\s+)?(given\s+|provided\s+)?(evidence|documents?|context|sources?|texts?|items?)\b"
    ),
    re.compile(
        r"\bno\s+(se\s+)?(menciona|especifica|indica|proporciona|encuentra|aparece|incluye|detalla)\b.*"
        r"\b(evidencia|documentos?|fuentes?|contexto|elementos?|textos?)\b"
    ),
    re.compile(
        r"\b(evidence|evidencia|items?|elementos?)\b.*\b(do|does)\s*(not|n't)\s+(contain|include|mention|say)\b"
    ),
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
