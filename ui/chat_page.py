"""Chat: streamed, cited answers, with the route, support marks, refusals and feedback.

Each citation is a button that opens the source viewer (:mod:`ui.viewer`) on its evidence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

import streamlit as st

from rag.assistant import Answer, Turn, User
from rag.errors import FuenteError
from ui import corpus, viewer
from ui.chunk_view import quote_line
from ui.context import Context, allowed_hosts, failure, require
from ui.conversations import Conversations, new_conversation_id
from ui.i18n import _, n_
from ui.render import escape, render_answer, unsupported_sentences

CURSOR = " ▌"
QUOTE_CHARS = 220


def _store(ctx: Context) -> Conversations:
    return Conversations(ctx.settings.paths.resolve("app.db"))


def _answer_dict(answer: Answer) -> dict[str, Any]:
    keep = ("question_id", "text", "refused", "verdict", "route", "model", "language", "timings", "reason", "sensitive")
    data = {k: getattr(answer, k) for k in keep}
    data["sentences"] = [asdict(s) for s in answer.sentences]
    data["citations"] = [asdict(c) for c in answer.citations]
    data["closest_sources"] = [asdict(c) for c in answer.closest_sources]
    return data


def badge_text(a: Mapping[str, Any]) -> str:
    """Route, model and time of an answer: ``local · qwen2.5-1.5b · 4.2 s``."""
    seconds = (a.get("timings") or {}).get("total_s")
    took = _("{seconds:.1f} s", seconds=float(seconds)) if isinstance(seconds, int | float) else None
    return " · ".join(p for p in (str(a.get("route", "")), str(a.get("model", "")), took) if p)


def refusal_reason(a: Mapping[str, Any]) -> str:
    """Why nothing was answered, in one sentence of the interface language (from the verdict, not the log's reason)."""
    closest = bool(a.get("closest_sources"))
    if a.get("verdict") in ("unsupported", "partially_supported"):
        if closest:
            return _(
                "The drafted answer was not backed by the documents you may see, so it is not shown; the closest sources are below."
            )
        return _("The drafted answer was not backed by the documents you may see, so it is not shown.")
    if closest:
        return _(
            "None of the passages closest to your question in the documents you may see answers it; they are below."
        )
    return _("Nothing in the documents you may see matches this question.")


def _sources(ctx: Context, citations: list[dict[str, Any]], key: str) -> None:
    """One button per source, which opens the viewer; under it, the quoted sentence as one line."""
    places = corpus.chunk_places(ctx.settings, [str(c.get("chunk_id", "")) for c in citations], ctx.user.groups)
    for c in citations:
        place = places.get(str(c.get("chunk_id", "")))
        where = viewer.location(place, str(c["title"])) if place is not None else str(c.get("location") or "")
        label = f"\\[{c['n']}\\] {escape(c['title'])}" + (f" · {escape(where)}" if where else "")
        if st.button(label, key=f"src-{key}-{c['n']}", icon=":material/description:", type="tertiary"):
            viewer.open_source(ctx, {**c, "place": place}, f"{key}-{c['n']}")
        line = quote_line(str(c.get("quote") or c.get("snippet") or ""))
        if line:
            short = line if len(line) <= QUOTE_CHARS else line[: QUOTE_CHARS - 1].rsplit(" ", 1)[0] + "…"
            st.caption("“" + escape(short) + "”")


def show_answer(ctx: Context, a: dict[str, Any], key: str) -> None:
    icon = ":material/cloud:" if a["route"] == "cloud" else ":material/computer:"
    st.badge(badge_text(a), icon=icon, color="orange" if a["route"] == "cloud" else "blue")
    if a["refused"]:
        st.warning(refusal_reason(a), icon=":material/block:")
        if a["closest_sources"]:
            st.caption(_("Closest sources"))
            _sources(ctx, a["closest_sources"], f"{key}-closest")
    else:
        titles = [str(c.get("title", "")) for c in a["citations"]]
        st.markdown(
            render_answer(
                a["text"],
                a["sentences"],
                refused=False,
                allowed_hosts=allowed_hosts(ctx.settings),
                titles=titles,
                unsupported_note=_("not supported by the cited sources"),
            )
        )
        unsupported = unsupported_sentences(a["sentences"], titles)
        if unsupported:
            st.caption(
                "⚠️ "
                + n_(
                    "{n} sentence is not supported by the cited sources.",
                    "{n} sentences are not supported by the cited sources.",
                    len(unsupported),
                )
            )
        if a["citations"]:
            _sources(ctx, a["citations"], f"{key}-cite")
    _feedback(ctx, a["question_id"], key)


def _feedback(ctx: Context, question_id: str, key: str) -> None:
    sent = st.session_state.setdefault("feedback_sent", set())
    if question_id in sent:
        st.caption(_("Thanks for the feedback."))
        return
    thumbs = st.feedback("thumbs", key=f"fb-{key}")
    if thumbs is None:
        return
    comment = st.text_input(_("Comment (optional)"), key=f"fbc-{key}")
    if st.button(_("Send feedback"), key=f"fbs-{key}"):
        ctx.runtime.feedback(question_id, thumbs == 1, comment)
        sent.add(question_id)
        st.rerun()


def _sidebar(ctx: Context) -> None:
    store = _store(ctx)
    with st.sidebar:
        if st.button(_("New conversation"), icon=":material/add:"):
            st.session_state.conversation = new_conversation_id()
            st.session_state.turns = []
        past = store.of_user(ctx.user.name)
        if past:
            st.caption(_("Your conversations"))
            for conv in past:
                title = conv.first_question[:40] + ("…" if len(conv.first_question) > 40 else "")
                if st.button(escape(title), key=f"conv-{conv.conversation_id}"):
                    st.session_state.conversation = conv.conversation_id
                    st.session_state.turns = store.turns(ctx.user.name, conv.conversation_id)


def page() -> None:
    ctx = require("user")
    st.session_state.setdefault("conversation", new_conversation_id())
    st.session_state.setdefault("turns", [])
    _sidebar(ctx)
    st.title(_("Ask Fuente"))
    turns: list[tuple[str, dict[str, Any]]] = st.session_state.turns
    if not turns:
        st.caption(
            _(
                "Ask about your organisation's documents; every answer cites its sources, and a citation opens the passage."
            )
        )
    for i, (asked, shown) in enumerate(turns):
        st.chat_message("user").text(asked)
        with st.chat_message("assistant"):
            show_answer(ctx, shown, f"t{i}")
    question = st.chat_input(_("Ask a question about your documents"))
    if not question:
        return
    st.chat_message("user").text(question)
    with st.chat_message("assistant"):
        # Turns stored before the flag existed carry no "sensitive": None keeps such a conversation local.
        history = [Turn(q, a["text"], a.get("sensitive")) for q, a in turns]
        box = st.empty()
        text = ""
        try:
            tokens, future = ctx.runtime.ask_stream(question, User(ctx.user.name, ctx.user.groups), history)
            # Nothing unverified is shown as an answer: the text arrives once the sources were checked.
            box.markdown("*" + escape(_("Checking the sources…")) + "*")
            for piece in tokens:
                text += piece
                box.markdown(escape(text) + CURSOR)
            answer = future.result()
        except FuenteError as e:
            box.empty()
            st.error(failure(e))
            return
        box.empty()
        data = _answer_dict(answer)
        turns.append((question, data))
        _store(ctx).add(st.session_state.conversation, ctx.user.name, question, data)
        show_answer(ctx, data, f"t{len(turns) - 1}")
