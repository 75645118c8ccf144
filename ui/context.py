"""What every page needs: settings and the runtime (once per process), and the logged-in user.

Roles are checked here, on the server, at the top of every page and again before each action;
hiding a page from the navigation is only a convenience.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import streamlit as st

from rag.errors import (
    FuenteError,
    LLMOverloaded,
    LLMStreamBroken,
    LLMTimeout,
    LLMUnavailable,
)
from rag.index.lock import IndexLockedError
from rag.settings import Settings, load_settings
from rag.users import UserRecord
from ui.i18n import _
from ui.runtime import Runtime

USER_KEY = "fuente_user"


@st.cache_resource(show_spinner=False)
def settings() -> Settings:
    return load_settings(os.environ.get("FUENTE_PROFILE"))


@st.cache_resource(show_spinner=False)
def _runtime() -> Runtime:
    return Runtime(settings())


def runtime() -> Runtime:
    with st.spinner(_("Loading the models…")):
        return _runtime()


@dataclass(frozen=True)
class Context:
    settings: Settings
    runtime: Runtime
    user: UserRecord


def current_user() -> UserRecord | None:
    """The logged-in user as they are now: re-read on every rerun, so a removed user or group takes effect at once."""
    from ui.auth import refresh_user

    user = st.session_state.get(USER_KEY)
    if not isinstance(user, UserRecord):
        return None
    claims = st.user.to_dict() if user.source == "oidc" else None
    fresh = refresh_user(settings(), user, claims)
    if fresh is None:
        st.session_state.pop(USER_KEY, None)
        return None
    if fresh != user:
        st.session_state[USER_KEY] = fresh
    return fresh


def require(role: str) -> Context:
    """The page's context, or a refusal and a stop when the user is not logged in or lacks the role."""
    user = current_user()
    if user is None:
        st.error(_("Log in to use Fuente."))
        st.stop()
    assert user is not None
    if not user.has_role(role):
        st.error(_("This page needs the {role} role; ask an administrator for it.", role=role))
        st.stop()
    return Context(settings(), runtime(), user)


def allowed_hosts(s: Settings) -> tuple[str, ...]:
    """Hosts answers may link to: FUENTE_APP_LINK_HOSTS, comma-separated (none by default)."""
    return tuple(h.strip() for h in os.environ.get("FUENTE_APP_LINK_HOSTS", "").split(",") if h.strip())


def failure(e: FuenteError) -> str:
    """What went wrong, in one sentence of the interface language.

    The failures a user meets every day (the model server down, slow or busy, the index being
    written) are told by their class; any other error keeps its own sentence.
    """
    if isinstance(e, LLMUnavailable):
        return _("The language model cannot be reached right now; try again in a minute, or tell an administrator.")
    if isinstance(e, LLMTimeout):
        return _("The language model took too long to answer; try again, or ask a shorter question.")
    if isinstance(e, LLMOverloaded):
        return _("The language model is busy with other questions; try again in a minute.")
    if isinstance(e, LLMStreamBroken):
        return _("The answer stopped half-way because the language model failed; ask again.")
    if isinstance(e, IndexLockedError):
        return _("Another ingestion is writing to the index; wait until it finishes and try again.")
    return str(e)
