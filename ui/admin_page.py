"""Admin: users and groups, model endpoints and their health, index health."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from rag.errors import FuenteError
from rag.llm_server import is_up
from rag.settings import LLMEndpointSettings
from rag.users import ROLES, add_user, list_users, remove_user
from ui import corpus
from ui.context import Context, failure, require
from ui.i18n import _
from ui.render import escape

ROLE = "admin"


def _users(ctx: Context) -> None:
    st.subheader(_("Users"))
    users = list_users(ctx.settings)
    st.dataframe(
        pd.DataFrame(
            [
                {
                    _("user"): u.name,
                    _("groups"): ", ".join(sorted(u.groups)),
                    _("roles"): ", ".join(sorted(u.roles)),
                    _("password"): _("set") if u.password_hash else _("none (CLI only)"),
                }
                for u in users
            ]  # fmt: skip
        ),
        hide_index=True,
    )
    groups = sorted({g for u in users for g in u.groups})
    st.caption(escape(_("Groups in use: {groups}", groups=", ".join(groups) if groups else _("none"))))
    with st.form("add-user", clear_on_submit=True):
        st.markdown("**" + escape(_("Add or replace a user")) + "**")
        name = st.text_input(_("Name"))
        password = st.text_input(_("Password"), type="password")
        new_groups = st.text_input(_("Groups (comma-separated)"))
        roles = st.multiselect(_("Roles"), list(ROLES), default=["user"])
        if st.form_submit_button(_("Save user")):
            require(ROLE)
            try:
                add_user(
                    ctx.settings,
                    name.strip(),
                    password=password or None,
                    groups=frozenset(g.strip() for g in new_groups.split(",") if g.strip()),
                    roles=frozenset(roles),
                )
                st.success(_("Saved {name}.", name=escape(name.strip())))
                st.rerun()
            except FuenteError as e:
                st.error(failure(e))
    if users:
        victim = st.selectbox(_("Remove a user"), [u.name for u in users])
        if st.button(_("Remove"), icon=":material/person_remove:"):
            require(ROLE)
            if victim == ctx.user.name:
                st.error(_("You cannot remove yourself; log in as another admin to do it."))
            elif remove_user(ctx.settings, victim):
                st.rerun()


def _endpoint_row(e: LLMEndpointSettings) -> dict[str, object]:
    started = time.monotonic()
    up = is_up(e.base_url)
    return {
        _("name"): e.name,
        _("kind"): e.kind,
        _("model"): e.model,
        _("url"): e.base_url,
        _("health"): _("up") if up else _("down"),
        _("checked in"): f"{(time.monotonic() - started) * 1000:.0f} ms",
        "up": up,
    }


def _models(ctx: Context) -> None:
    st.subheader(_("Model endpoints"))
    llm = ctx.settings.llm
    endpoints = [llm.local] + ([llm.cloud] if llm.cloud is not None else [])
    rows = [_endpoint_row(e) for e in endpoints]
    st.dataframe(pd.DataFrame([{k: v for k, v in r.items() if k != "up"} for r in rows]), hide_index=True)
    for r in rows:
        st.caption(f"{'🟢' if r['up'] else '🔴'} {escape(str(r[_('name')]))}: {r[_('health')]}")
    policy = ctx.settings.policy
    st.caption(
        escape(
            _("Cloud {cloud}; route {route}; sensitivity ceiling {ceiling}; embedding model {model}.",
              cloud=_("enabled") if policy.cloud_enabled else _("disabled"), route=policy.route,
              ceiling=policy.sensitivity_ceiling, model=ctx.settings.embedding.model)
        )
    )  # fmt: skip


def _index(ctx: Context) -> None:
    st.subheader(_("Index health"))
    try:
        health = ctx.runtime.call(lambda app: corpus.index_health(ctx.settings, app.index))
    except FuenteError as e:
        st.error(failure(e))
        return
    names = {
        "documents": _("documents"), "chunks (records)": _("chunks (records)"), "vectors (Chroma)": _("vectors (Chroma)"),
        "chunks (BM25)": _("chunks (BM25)"), "consistent": _("consistent"), "generation": _("generation"),
        "index provider": _("index provider"),
    }  # fmt: skip
    shown = [{"": names.get(k, k), _("value"): str(v)} for k, v in health.items()]
    st.dataframe(pd.DataFrame(shown), hide_index=True)
    if not health["consistent"]:
        st.warning(_("The stores disagree; the next ingestion repairs the index (Ingestion → Re-index everything)."))


def page() -> None:
    ctx = require(ROLE)
    st.title(_("Admin"))
    _users(ctx)
    _models(ctx)
    _index(ctx)
