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
from ui.context import Context, require
from ui.render import escape

ROLE = "admin"


def _users(ctx: Context) -> None:
    st.subheader("Users")
    users = list_users(ctx.settings)
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "user": u.name,
                    "groups": ", ".join(sorted(u.groups)),
                    "roles": ", ".join(sorted(u.roles)),
                    "password": "set" if u.password_hash else "none (CLI only)",
                }
                for u in users
            ]  # fmt: skip
        ),
        hide_index=True,
    )
    groups = sorted({g for u in users for g in u.groups})
    st.caption("Groups in use: " + (", ".join(groups) if groups else "none"))
    with st.form("add-user", clear_on_submit=True):
        st.markdown("**Add or replace a user**")
        name = st.text_input("Name")
        password = st.text_input("Password", type="password")
        new_groups = st.text_input("Groups (comma-separated)")
        roles = st.multiselect("Roles", list(ROLES), default=["user"])
        if st.form_submit_button("Save user"):
            require(ROLE)
            try:
                add_user(
                    ctx.settings,
                    name.strip(),
                    password=password or None,
                    groups=frozenset(g.strip() for g in new_groups.split(",") if g.strip()),
                    roles=frozenset(roles),
                )
                st.success(f"Saved {name.strip()}.")
                st.rerun()
            except FuenteError as e:
                st.error(str(e))
    if users:
        victim = st.selectbox("Remove a user", [u.name for u in users])
        if st.button("Remove", icon=":material/person_remove:"):
            require(ROLE)
            if victim == ctx.user.name:
                st.error("You cannot remove yourself; log in as another admin to do it.")
            elif remove_user(ctx.settings, victim):
                st.rerun()


def _endpoint_row(e: LLMEndpointSettings) -> dict[str, object]:
    started = time.monotonic()
    up = is_up(e.base_url)
    return {
        "name": e.name,
        "kind": e.kind,
        "model": e.model,
        "url": e.base_url,
        "health": "up" if up else "down",
        "checked in": f"{(time.monotonic() - started) * 1000:.0f} ms",
    }


def _models(ctx: Context) -> None:
    st.subheader("Model endpoints")
    llm = ctx.settings.llm
    endpoints = [llm.local] + ([llm.cloud] if llm.cloud is not None else [])
    rows = [_endpoint_row(e) for e in endpoints]
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    for r in rows:
        st.caption(f"{'🟢' if r['health'] == 'up' else '🔴'} {escape(str(r['name']))}: {r['health']}")
    policy = ctx.settings.policy
    st.caption(
        f"Cloud {'enabled' if policy.cloud_enabled else 'disabled'}; route {policy.route}; "
        f"sensitivity ceiling {policy.sensitivity_ceiling}; "
        f"embedding model {ctx.settings.embedding.model}."
    )


def _index(ctx: Context) -> None:
    st.subheader("Index health")
    try:
        health = ctx.runtime.call(lambda app: corpus.index_health(ctx.settings, app.index))
    except FuenteError as e:
        st.error(str(e))
        return
    st.dataframe(pd.DataFrame([{"": k, "value": str(v)} for k, v in health.items()]), hide_index=True)
    if not health["consistent"]:
        st.warning("The stores disagree; the next ingestion repairs the index (Ingestion → Re-index everything).")


def page() -> None:
    ctx = require(ROLE)
    st.title("Admin")
    _users(ctx)
    _models(ctx)
    _index(ctx)
