"""Safe rendering of model output as Streamlit markdown.

Answers are untrusted: a planted document can make the model write HTML, markdown images, links
or Streamlit directives (``:red[...]``, ``:material/...:``). Everything the model wrote is escaped
so it renders as plain text; the only markup left is ours: bold citation markers, the marks on
unsupported sentences, and links to hosts on the allow-list. Nothing in an answer can make the
browser fetch a URL: images are never rendered, and a URL to any other host is shown as code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

# Backslash-escaping any ASCII punctuation is valid CommonMark and makes it literal text.
_PUNCT = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~:$&\"'=^%@/;,?])")
_URL = re.compile(r"(?i)\b(?:https?://|ftp://|www\.)[^\s<>\"'`]+")
_CITE = re.compile(r"(?:\[\d{1,3}\])+")
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1", re.S)
_HEADING = re.compile(r"(?m)^[ \t]{0,3}#{1,6}[ \t]+")
_WORD = re.compile(r"\w+")
UNSUPPORTED_MARK = "⚠️"
THIN = "\u2009"
# Words of sentences that only say where an answer came from ("Según la política de viajes [1]:",
# "This information comes from the source [2]."): such a sentence makes no claim to check.
_PROVENANCE_WORDS = """según segun acuerdo con la el los las lo al del de en y o a que se esta este esto estas estos esa ese
    eso dicha dicho información informacion fuente fuentes documento documentos texto textos indica indican
    dice dicen establece establecen recoge recogen encuentra encuentran aparece aparecen proporcionada
    proporcionado proporcionadas proporcionados citada citado citadas citados mencionada mencionado puede
    pueden consultar ver más mas detalles respuesta basada basado sobre tomada tomado extraída extraído
    viene vienen procede proceden política politica
    according to the a an this that these those is are was were comes come from as stated in on based see
    provided per source sources document documents text texts information info says say states state found
    can be more details for answer given cited quoted mentioned policy it its which of and or by"""
_PROVENANCE = frozenset(_PROVENANCE_WORDS.split())


def escape(text: str) -> str:
    """Plain text that renders as itself in Streamlit markdown (no HTML, links, images, directives)."""
    text = text.replace("\r", "")
    # Blank-line paragraphs survive; single newlines become hard breaks so lists stay readable.
    out = _PUNCT.sub(r"\\\1", text)
    return out.replace("\n", "  \n")


def allowed_url(url: str, allowed_hosts: Iterable[str]) -> bool:
    try:
        parts = urlsplit(url if "://" in url else "https://" + url)
    except ValueError:
        return False
    if parts.scheme not in ("https", "http"):
        return False
    host = (parts.hostname or "").lower()
    return any(host == h.lower() or host.endswith("." + h.lower()) for h in allowed_hosts)


def _code(text: str) -> str:
    # A code span never autolinks or renders; backticks inside would end it, so they go.
    return "`" + text.replace("`", "'") + "`"


def safe_inline(text: str, allowed_hosts: Iterable[str] = ()) -> str:
    """Escape ``text``; URLs become links when their host is allowed, else inert code spans."""
    hosts = tuple(allowed_hosts)
    out: list[str] = []
    last = 0
    for m in _URL.finditer(text):
        out.append(_with_citations(text[last : m.start()]))
        url = m.group(0).rstrip(".,;:)]")
        tail = m.group(0)[len(url) :]
        if allowed_url(url, hosts):
            target = url if "://" in url else "https://" + url
            out.append(f"[{escape(url)}](<{target.replace('>', '%3E').replace(' ', '%20')}>)")
        else:
            out.append(_code(url))
        out.append(_with_citations(tail))
        last = m.end()
    out.append(_with_citations(text[last:]))
    return "".join(out)


def _with_citations(text: str) -> str:
    """Escape text, turning the model's ``[n]`` markers into bold, escaped ``[n]`` (a run of them as one)."""
    parts: list[str] = []
    last = 0
    for m in _CITE.finditer(text):
        parts.append(escape(text[last : m.start()]))
        # One bold run for "[2][3]": two adjacent ones ("**[2]****[3]**") are not valid emphasis. A
        # "**" between a letter and a bracket is not emphasis either (CommonMark's flanking rules: it
        # showed as "travel**[1]**"), so a thin space (Unicode whitespace) separates them.
        before = THIN if m.start() > 0 and text[m.start() - 1].isalnum() else ""
        after = THIN if m.end() < len(text) and text[m.end()].isalnum() else ""
        parts.append(before + "**" + escape(m.group(0)) + "**" + after)
        last = m.end()
    parts.append(escape(text[last:]))
    return "".join(parts)


def plain(text: str) -> str:
    """The model's text without the Markdown it wrote for emphasis and headings.

    Escaped, ``**75 €**[2][3]`` would show its asterisks; the words are what matter, and the only
    emphasis an answer gets is ours (the citation markers).
    """
    text = _BOLD.sub(r"\2", text)
    text = text.replace("**", "").replace("__", "")
    return _HEADING.sub("", text)


def provenance_only(sentence: str, titles: Iterable[str] = ()) -> bool:
    """True when a sentence only says where the answer came from: after the citation markers, the
    words of the cited titles and the vocabulary of "according to the source", nothing is left."""
    known = _PROVENANCE | {w.casefold() for t in titles for w in _WORD.findall(t)}
    words = [w.casefold() for w in _WORD.findall(_CITE.sub(" ", sentence))]
    return bool(words) and all(w in known for w in words)


def flagged(sentence: Mapping[str, Any], titles: Iterable[str] = ()) -> bool:
    """Whether a checked sentence is shown as not supported: a claim, unsupported, that says more than
    where the answer came from."""
    return (
        sentence.get("kind", "claim") == "claim"
        and not sentence.get("supported", True)
        and not provenance_only(str(sentence.get("text", "")), titles)
    )


def render_answer(
    text: str,
    sentences: Sequence[Mapping[str, Any]],
    *,
    refused: bool,
    allowed_hosts: Iterable[str] = (),
    titles: Iterable[str] = (),
    unsupported_note: str = "not supported by the cited sources",
) -> str:
    """The markdown of a finished answer: sentences the sources do not support are marked.

    A sentence is marked when :func:`flagged` (``titles``: of the cited sources); when the checked
    sentences cannot be found in the text (a refusal replaced it), the text is rendered as is.
    ``unsupported_note`` is the mark's words, in the interface language.
    """
    hosts = tuple(allowed_hosts)
    names = tuple(titles)
    text = plain(text)
    if refused or not sentences:
        return safe_inline(text, hosts)
    out: list[str] = []
    pos = 0
    for s in sentences:
        body = plain(str(s.get("text", "")))
        at = text.find(body, pos) if body else -1
        if at < 0:
            continue
        out.append(safe_inline(text[pos:at], hosts))
        rendered = safe_inline(body, hosts)
        if flagged(s, names):
            rendered = f"{UNSUPPORTED_MARK} *{rendered}* _({escape(unsupported_note)})_"
        out.append(rendered)
        pos = at + len(body)
    out.append(safe_inline(text[pos:], hosts))
    return "".join(out)


def unsupported_sentences(sentences: Sequence[Mapping[str, Any]], titles: Iterable[str] = ()) -> list[str]:
    names = tuple(titles)
    return [str(s.get("text", "")) for s in sentences if flagged(s, names)]
