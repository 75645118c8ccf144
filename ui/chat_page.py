"""Chat: streamed, cited answers, with the route, support marks, refusals and feedback."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import streamlit as st

from rag.assistant import Answer, Turn, User
from rag.errors import FuenteError
from ui import corpus
from ui.context import Context, allowed_hosts, require
from ui.conversations import Conversations, new_conversation_id
from ui.render import escape, render_answer, unsupported_sentences

CURSOR = " ▌"


def _spanish(question: str) -> bool:
    from rag.assistant import question_language

    return question_language(question) == "es"


def _store(ctx: Context) -> Conversations:
    return Conversations(ctx.settings.paths.resolve("app.db"))


def _answer_dict(answer: Answer) -> dict[str, Any]:
    keep = ("question_id", "text", "refused", "verdict", "route", "model", "language", "timings", "reason", "sensitive")
    data = {k: getattr(answer, k) for k in keep}
    data["sentences"] = [asdict(s) for s in answer.sentences]
    data["citations"] = [asdict(c) for c in answer.citations]
    data["closest_sources"] = [asdict(c) for c in answer.closest_sources]
    return data


def _source(ctx: Context, c: dict[str, Any], key: str) -> None:
    """A citation: a popover with the title, where in the document, the snippet and the file."""
    label = f"\\[{c['n']}\\] {escape(c['title'])}"
    with st.popover(label):
        st.markdown(f"**{escape(c['title'])}**")
        st.caption(escape(c["location"] or "whole document"))
        if c.get("quote"):
            st.markdown("> " + escape(c["quote"]))
        else:
            st.text(c["snippet"])
        path = corpus.source_path(ctx.settings, c["source_uri"], ctx.user.groups)
        if path is not None:
            st.download_button(
                "Open the source file",
                path.read_bytes(),
                file_name=path.name,
                key=f"dl-{key}",
                icon=":material/download:",
            )
        else:
            st.caption("The source file is no longer available.")


def show_answer(ctx: Context, a: dict[str, Any], key: str) -> None:
    icon = ":material/cloud:" if a["route"] == "cloud" else ":material/computer:"
    st.badge(f"{a['route']} · {a['model']}", icon=icon, color="orange" if a["route"] == "cloud" else "blue")
    if a["refused"]:
        st.warning(escape(a["text"]), icon=":material/block:")
        if a["closest_sources"]:
            st.caption("Closest sources" if a.get("language") != "es" else "Fuentes más cercanas")
            for c in a["closest_sources"]:
                _source(ctx, c, f"{key}-closest-{c['n']}")
    else:
        st.markdown(render_answer(a["text"], a["sentences"], refused=False, allowed_hosts=allowed_hosts(ctx.settings)))
        unsupported = unsupported_sentences(a["sentences"])
        if unsupported:
            st.caption(f"⚠️ {len(unsupported)} sentence(s) are not supported by the cited sources.")
        for c in a["citations"]:
            _source(ctx, c, f"{key}-cite-{c['n']}")
    _feedback(ctx, a["question_id"], key)


def _feedback(ctx: Context, question_id: str, key: str) -> None:
    sent = st.session_state.setdefault("feedback_sent", set())
    if question_id in sent:
        st.caption("Thanks for the feedback.")
        return
    thumbs = st.feedback("thumbs", key=f"fb-{key}")
    if thumbs is None:
        return
    comment = st.text_input("Comment (optional)", key=f"fbc-{key}")
    if st.button("Send feedback", key=f"fbs-{key}"):
        ctx.runtime.feedback(question_id, thumbs == 1, comment)
        sent.add(question_id)
        st.rerun()


def _sidebar(ctx: Context) -> None:
    store = _store(ctx)
    with st.sidebar:
        if st.button("New conversation", icon=":material/add:"):
            st.session_state.conversation = new_conversation_id()
            st.session_state.turns = []
        past = store.of_user(ctx.user.name)
        if past:
            st.caption("Your conversations")
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
    st.title("Ask Fuente")
    turns: list[tuple[str, dict[str, Any]]] = st.session_state.turns
    for i, (asked, shown) in enumerate(turns):
        st.chat_message("user").text(asked)
        with st.chat_message("assistant"):
            show_answer(ctx, shown, f"t{i}")
    question = st.chat_input("Ask a question about your documents")
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
            box.markdown(
                "*" + escape("Comprobando las fuentes…" if _spanish(question) else "Checking the sources…") + "*"
            )
            for piece in tokens:
                text += piece
                box.markdown(escape(text) + CURSOR)
            answer = future.result()
        except FuenteError as e:
            box.empty()
            st.error(str(e))
            return
        box.empty()
        data = _answer_dict(answer)
        turns.append((question, data))
        _store(ctx).add(st.session_state.conversation, ctx.user.name, question, data)
        show_answer(ctx, data, f"t{len(turns) - 1}")
