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
_CITE = re.compile(r"\[(\d{1,3})\]")
UNSUPPORTED_MARK = "⚠️"


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
    """Escape text, turning the model's ``[n]`` markers into bold, escaped ``[n]``."""
    parts: list[str] = []
    last = 0
    for m in _CITE.finditer(text):
        parts.append(escape(text[last : m.start()]))
        parts.append(f"**\\[{m.group(1)}\\]**")
        last = m.end()
    parts.append(escape(text[last:]))
    return "".join(parts)


def render_answer(
    text: str, sentences: Sequence[Mapping[str, Any]], *, refused: bool, allowed_hosts: Iterable[str] = ()
) -> str:
    """The markdown of a finished answer: sentences the sources do not support are marked.

    A sentence is marked when it is a claim and ``supported`` is false; when the checked sentences
    cannot be found in the text (a refusal replaced it), the text is rendered as is.
    """
    hosts = tuple(allowed_hosts)
    if refused or not sentences:
        return safe_inline(text, hosts)
    out: list[str] = []
    pos = 0
    for s in sentences:
        body = str(s.get("text", ""))
        at = text.find(body, pos) if body else -1
        if at < 0:
            continue
        out.append(safe_inline(text[pos:at], hosts))
        rendered = safe_inline(body, hosts)
        if s.get("kind", "claim") == "claim" and not s.get("supported", True):
            rendered = f"{UNSUPPORTED_MARK} *{rendered}* _(not supported by the cited sources)_"
        out.append(rendered)
        pos = at + len(body)
    out.append(safe_inline(text[pos:], hosts))
    return "".join(out)


def unsupported_sentences(sentences: Sequence[Mapping[str, Any]]) -> list[str]:
    return [
        str(s.get("text", "")) for s in sentences if s.get("kind", "claim") == "claim" and not s.get("supported", True)
    ]
