"""Turning the bytes of a text-like file into ``str`` without mojibake."""

from __future__ import annotations

import codecs

import charset_normalizer

# Longest BOMs first: the UTF-32-LE BOM starts with the UTF-16-LE one.
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

# Labels that browsers (WHATWG) and Windows tools really mean as windows-1252.
_MEANS_CP1252 = frozenset({"ascii", "us-ascii", "latin-1", "latin1", "iso-8859-1", "iso8859-1"})

_SNIFF_BYTES = 4096


def sniff_bom(data: bytes) -> str | None:
    """Return the codec named by a byte-order mark at the start of ``data``, if any."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return codec
    return None


def _sniff_wide(data: bytes) -> str | None:
    """Recognise BOM-less UTF-16/32 by where the zero bytes of mostly-ASCII text fall."""
    sample = data[: _SNIFF_BYTES - _SNIFF_BYTES % 4]
    if len(sample) < 4 or sample.count(0) < len(sample) // 4:
        return None
    zeros = [sum(1 for b in sample[i::4] if b == 0) / (len(sample) / 4) for i in range(4)]
    if min(zeros[1:]) > 0.9:
        return "utf-32-le"
    if min(zeros[:3]) > 0.9:
        return "utf-32-be"
    if min(zeros[1], zeros[3]) > 0.7 and max(zeros[0], zeros[2]) < 0.3:
        return "utf-16-le"
    if min(zeros[0], zeros[2]) > 0.7 and max(zeros[1], zeros[3]) < 0.3:
        return "utf-16-be"
    return None


def normalise_label(label: str | None) -> str | None:
    """Map a declared charset label to a Python codec name, or None if Python has none."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    if label in _MEANS_CP1252:
        return "cp1252"
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


_WESTERN = frozenset([chr(c) for c in range(0xC0, 0x100)] + list("¡¿ªº«»°€“”‘’‚„–—…•™©®£§´·¨¢¥±µ¶²³¹½¼¾ŠšŽžŒœŸ"))


def _looks_western(text: str) -> bool:
    """Whether text decoded as cp1252 reads like Spanish/English/Western European prose.

    In such text accented letters are a small minority among plain ASCII letters; text in a
    Cyrillic or Greek single-byte code page, decoded as cp1252, is almost all "accented".
    """
    high = [c for c in text if ord(c) > 127]
    if not high:
        return True
    letters = sum(1 for c in text if c.isalpha())
    high_letters = sum(1 for c in high if c.isalpha())
    if not letters or high_letters / letters > 0.3:
        return False
    return sum(1 for c in high if c in _WESTERN) / len(high) >= 0.9


def _detect(data: bytes) -> str | None:
    """Ask charset-normalizer, preferring cp1252 when it reads the bytes just as cleanly.

    Short Western European texts decode equally well as cp1250, cp1252 or cp1258, and the
    detector's tie-break often lands on cp1250 (turning "å" into "ĺ"). Our documents are
    Spanish and English, so among equally clean readings cp1252 is by far the likeliest.
    """
    matches = list(charset_normalizer.from_bytes(data))
    if not matches:
        return None
    best = matches[0]
    for match in matches:
        if "cp1252" in match.could_be_from_charset and match.chaos <= best.chaos + 0.01:
            return "cp1252"
    return best.encoding


def decode_bytes(data: bytes, declared: str | None = None) -> str:
    """Decode text of unknown encoding.

    Order: byte-order mark, BOM-less UTF-16/32, strict UTF-8, the declared charset, cp1252 if
    the result looks like Western European text, charset detection, and last cp1252 with
    replacements. Valid UTF-8 wins over a declaration because
    non-ASCII text that happens to be valid UTF-8 is almost never anything else, while pages
    saved as UTF-8 under a stale ``iso-8859-1`` declaration are common.

    Args:
        data: The raw bytes.
        declared: A charset label found in the file itself (HTML meta, MIME header), if any.

    Returns:
        The text, without any BOM.
    """
    bom_codec = sniff_bom(data)
    if bom_codec:
        return data.decode(bom_codec, errors="replace")
    candidates = [_sniff_wide(data), "utf-8", normalise_label(declared)]
    for codec in candidates:
        if codec is None:
            continue
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
    # Charset detection is unreliable on short texts (it reads a Spanish CSV line as cp775),
    # so a clean, Western-looking cp1252 reading is taken first: it is what Windows and Excel
    # write in Spanish- and English-speaking offices.
    try:
        western = data.decode("cp1252")
    except UnicodeDecodeError:
        western = None
    if western is not None and _looks_western(western):
        return western
    detected = _detect(data)
    return data.decode(detected or "cp1252", errors="replace")
