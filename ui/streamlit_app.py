"""The Streamlit app: ``fuente app`` runs ``streamlit run`` on this file.

Log in (local users file, or OIDC through ``st.login`` when ``[auth]`` is in Streamlit's secrets),
then the pages the user's roles allow. Each page checks the role again itself. Every text is in
the session's language (:mod:`ui.i18n`): the user's stored choice, else the browser's.
"""

from __future__ import annotations

import logging

import streamlit as st

from rag.errors import FuenteError
from rag.index import private_files
from rag.users import UserRecord, UsersFile, authenticate, users_file
from ui import admin_page, chat_page, eval_page, i18n, ingest_page
from ui.auth import OIDCRefused, oidc_configured, oidc_mapping, user_from_claims
from ui.context import USER_KEY, current_user, failure, settings
from ui.i18n import _
from ui.preferences import Preferences

log = logging.getLogger("fuente.app")


def _preferences() -> Preferences:
    return Preferences(settings().paths.resolve("app.db"))


def _oidc_logged_in() -> bool:
    return bool(st.user.to_dict().get("is_logged_in", False))


def _language_names() -> dict[str, str]:
    # Labels computed now: a selector's format_func may be called again outside this run.
    return {i18n.AUTO: _("Browser language"), **i18n.LANGUAGE_NAMES}


def _login_language() -> None:
    """The login page's language selector: for this session only (nobody is known yet)."""
    current = st.session_state.get(i18n.CHOICE_KEY, i18n.AUTO)
    picked = st.selectbox(
        _("Language"), [i18n.AUTO, *i18n.LANGUAGES], index=[i18n.AUTO, *i18n.LANGUAGES].index(current),
        format_func=_language_names().__getitem__, key="login_language",
    )  # fmt: skip
    if picked != current:
        st.session_state[i18n.CHOICE_KEY] = picked
        st.rerun()


def _login() -> None:
    st.title("Fuente")
    st.caption(_("Grounded, cited answers from your organisation's documents."))
    if oidc_configured(st.secrets):
        if _oidc_logged_in():
            mapping = oidc_mapping(UsersFile.load(users_file(settings())))
            try:
                st.session_state[USER_KEY] = user_from_claims(st.user.to_dict(), mapping)
            except OIDCRefused as e:
                st.error(e.shown(i18n.active()))
                st.button(_("Log out"), on_click=st.logout)
                return
            st.rerun()
        st.button(_("Log in"), on_click=st.login, type="primary")
        _login_language()
        return
    with st.form("login"):
        name = st.text_input(_("User"))
        password = st.text_input(_("Password"), type="password")
        if st.form_submit_button(_("Log in"), type="primary"):
            found = authenticate(settings(), name.strip(), password)
            if found is None:
                st.error(_("Wrong user or password; try again or ask an administrator."))
            else:
                # The hash stays in the file; the session keeps who the user is and what they may do.
                st.session_state[USER_KEY] = UserRecord(found.name, found.groups, found.roles)
                st.rerun()
    _login_language()


def _logout() -> None:
    choice = st.session_state.get(i18n.CHOICE_KEY)
    st.session_state.clear()
    if choice is not None:  # the language picked on this browser outlives the login
        st.session_state[i18n.CHOICE_KEY] = choice
    if oidc_configured(st.secrets) and _oidc_logged_in():
        st.logout()


def _language_menu(user: UserRecord, stored: str | None) -> None:
    """The sidebar's language selector; the choice is stored for the user (``auto``: follow the browser)."""
    options = [i18n.AUTO, *i18n.LANGUAGES]
    # What the page is drawn in: the stored choice, else one made on the login page, else the browser's.
    session = st.session_state.get(i18n.CHOICE_KEY)
    current = stored if stored in i18n.LANGUAGES else session if session in i18n.LANGUAGES else i18n.AUTO
    picked = st.selectbox(
        _("Language"),
        options,
        index=options.index(current),
        format_func=_language_names().__getitem__,
        key="user_language",
    )
    if picked != current:
        _preferences().set_language(user.name, None if picked == i18n.AUTO else picked)
        st.session_state.pop(i18n.CHOICE_KEY, None)
        st.session_state.pop("user_language", None)
        st.rerun()


def _activate(user: UserRecord | None) -> str | None:
    """Choose and activate this run's language; returns the user's stored choice (None: the browser's)."""
    stored = _preferences().language(user.name) if user is not None else None
    headers, locale = i18n.browser()
    i18n.activate(i18n.choose(stored, st.session_state.get(i18n.CHOICE_KEY), headers, locale))
    return stored


def main() -> None:
    # Employees get the app, not Streamlit's chrome, however it is started: no menu or toolbar (Deploy,
    # rerun, print, screencast), no tracebacks or "ask Google/ChatGPT" links on an error.
    st.set_option("client.toolbarMode", "minimal")
    st.set_option("client.showErrorDetails", "none")
    st.set_page_config(page_title="Fuente", layout="wide")
    private_files(settings())  # embedded mode: uploads, conversations and the index are owner-only
    user = current_user()  # checked again against the users file (or the OIDC mapping) on every rerun
    stored = _activate(user)
    if user is None:
        st.navigation([st.Page(_login, title=_("Log in"), url_path="login")], position="hidden").run()
        return
    pages = [st.Page(chat_page.page, title=_("Chat"), url_path="chat", default=True)]
    if user.has_role("knowledge_manager"):
        pages.append(st.Page(ingest_page.page, title=_("Ingestion"), url_path="ingestion"))
    if user.has_role("ai_lead"):
        pages.append(st.Page(eval_page.page, title=_("Evaluation"), url_path="evaluation"))
    if user.has_role("admin"):
        pages.append(st.Page(admin_page.page, title=_("Admin"), url_path="admin"))
    with st.sidebar:
        groups = ", ".join(sorted(user.groups)) or _("none")
        st.caption(_("{user} · groups: {groups}", user=user.shown_name, groups=groups))
        st.button(_("Log out"), on_click=_logout, icon=":material/logout:")
        _language_menu(user, stored)
    try:
        st.navigation(pages).run()
    except FuenteError as e:
        st.error(failure(e))
    except Exception as e:  # never a traceback on the page: one sentence, the details in the log
        log.exception("unexpected error on a page")
        st.error(
            _("Something went wrong ({error}); it was logged. Try again, or tell an administrator.",
              error=type(e).__name__)
        )  # fmt: skip


main()
