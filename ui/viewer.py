"""The source viewer: a citation opens its evidence in place, in a dialog.

A PDF shows the cited page as an image with the quoted sentence highlighted
(:mod:`ui.pdf_view`); every other format shows the cited chunk with the quote marked and its
tables as tables (:mod:`ui.chunk_view`). Everything is decided when the citation is clicked,
with the user as they are at that moment: the chunk is shown only when both its indexed label
and the label its access files give it now let the user in (:func:`ui.corpus.cited_chunk`), and
the page image and the download only when the file still holds the indexed bytes
(:func:`ui.corpus.source_path`). A source the user may no longer see is one sentence, nothing more.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from rag.settings import Settings
from ui import corpus, pdf_view
from ui.chunk_view import ChunkHTML, render_chunk
from ui.context import Context
from ui.i18n import _
from ui.render import escape

IMAGE_WIDTH = 760


@dataclass(frozen=True)
class SourceView:
    """What the viewer shows for one citation."""

    chunk: corpus.CitedChunk
    quote: str
    page: pdf_view.PageView | None = None
    """The rendered page, for a PDF whose file is still there."""
    text: ChunkHTML | None = None
    """The chunk as HTML, for every other format (and a PDF whose file is gone)."""
    download: Path | None = None

    @property
    def highlighted(self) -> bool:
        if self.page is not None:
            return self.page.found
        return self.text is not None and self.text.found


@st.cache_data(max_entries=64, show_spinner=False)
def _render_pdf(path: str, stamp: tuple[int, int], page: int, quote: str) -> pdf_view.PageView:
    # ``stamp`` (size, mtime) makes a rewritten file a new entry; source_path already vouched for its bytes.
    return pdf_view.render(Path(path), page, quote)


def build(settings: Settings, groups: frozenset[str], citation: Mapping[str, Any]) -> SourceView | None:
    """The view of ``citation`` for a user in ``groups``, or None when they may not see its source now."""
    chunk = corpus.cited_chunk(settings, str(citation.get("chunk_id", "")), groups)
    if chunk is None:
        return None
    path = corpus.source_path(settings, chunk.source_uri, groups)
    quote = str(citation.get("quote") or "")
    if chunk.format == "pdf" and chunk.part is None and path is not None:
        # A closest source (a refusal's) has no quote: its passage's opening is marked instead.
        mark = quote or str(citation.get("snippet") or "")
        number = citation.get("page") or chunk.page or pdf_view.find_page(path, mark) or 1
        stat = path.stat()
        page = _render_pdf(str(path), (stat.st_size, stat.st_mtime_ns), int(number), mark)
        return SourceView(chunk, quote, page=page, download=path)
    return SourceView(chunk, quote, text=render_chunk(chunk.text, quote), download=path)


def location(meta: Mapping[str, Any], title: str = "") -> str:
    """Where in its document a chunk is, in the interface language (page, slide, sheet, attachment, section).

    A section path that starts with the document's ``title`` (its first heading) leaves it out.
    """
    parts = []
    if meta.get("page") is not None:
        parts.append(_("p. {page}", page=meta["page"]))
    if meta.get("slide") is not None:
        parts.append(_("slide {slide}", slide=meta["slide"]))
    if meta.get("sheet"):
        parts.append(_("sheet {sheet}", sheet=meta["sheet"]))
    if meta.get("part"):
        parts.append(_("attachment {name}", name=meta["part"]))
    section = str(meta.get("section") or "")
    if title and section.startswith(title + " > "):
        section = section[len(title) + 3 :]
    if section and section != title:
        parts.append(section)
    return ", ".join(parts)


def _status(view: SourceView) -> str:
    page = view.page
    if page is None:
        return ""
    if page.found and view.quote:
        return _("Page {page} of {pages}, the quoted sentence highlighted.", page=page.page, pages=page.pages)
    if page.found:
        return _("Page {page} of {pages}, the passage highlighted.", page=page.page, pages=page.pages)
    return _(
        "Page {page} of {pages}; the sentence could not be located on it (a scanned page?).",
        page=page.page,
        pages=page.pages,
    )


def _show(ctx: Context, citation: Mapping[str, Any], key: str) -> None:
    view = build(ctx.settings, ctx.user.groups, citation)
    if view is None:
        st.error(_("This source is no longer available to you: it was removed, changed or its access changed."))
        return
    st.markdown(f"**{escape(view.chunk.title)}**")
    place = citation.get("place")
    if isinstance(place, Mapping):
        # The page is in the status line already.
        shown = {k: v for k, v in place.items() if not (view.page is not None and k == "page")}
        where = location(shown, view.chunk.title)
    else:
        where = str(citation.get("location") or "")
    status = _status(view)
    if status or where:
        st.caption(" · ".join(escape(p) for p in (status, where) if p))
    # The download first: a page image is taller than the screen.
    if view.download is not None:
        st.download_button(
            _("Download the original"),
            view.download.read_bytes(),
            file_name=view.download.name,
            key=f"dl-{key}",
            icon=":material/download:",
            on_click="ignore",
        )
    else:
        st.caption(_("The original file is no longer available; what was indexed is shown."))
    if view.page is not None:
        if view.quote and not view.page.found:
            st.markdown("> " + escape(view.quote))
        # Narrower than the dialog: the whole width of a page and the lines around the quote fit on screen.
        st.image(view.page.png, width=IMAGE_WIDTH)
    elif view.text is not None:
        if view.quote and not view.text.found:
            st.caption(_("The quoted sentence is not in this passage any more; the passage is shown as indexed."))
        st.html(view.text.html)


def open_source(ctx: Context, citation: Mapping[str, Any], key: str) -> None:
    """Open the viewer on ``citation`` (call when its button was clicked)."""
    # The title is translated per call: a decorator fixed at import would freeze one language.
    st.dialog(_("Source"), width="large")(_show)(ctx, citation, key)
