"""The Streamlit app: ``fuente app`` runs ``streamlit run`` on this file.

Log in (local users file, or OIDC through ``st.login`` when ``[auth]`` is in Streamlit's secrets),
then the pages the user's roles allow. Each page checks the role again itself.
"""

from __future__ import annotations

import logging

import streamlit as st

from rag.errors import FuenteError
from rag.index import private_files
from rag.users import UserRecord, UsersFile, authenticate, users_file
from ui import admin_page, chat_page, eval_page, ingest_page
from ui.auth import OIDCRefused, oidc_configured, oidc_mapping, user_from_claims
from ui.context import USER_KEY, current_user, settings

log = logging.getLogger("fuente.app")


def _oidc_logged_in() -> bool:
    return bool(st.user.to_dict().get("is_logged_in", False))


def _login() -> None:
    st.title("Fuente")
    st.caption("Grounded, cited answers from your organisation's documents.")
    if oidc_configured(st.secrets):
        if _oidc_logged_in():
            mapping = oidc_mapping(UsersFile.load(users_file(settings())))
            try:
                st.session_state[USER_KEY] = user_from_claims(st.user.to_dict(), mapping)
            except OIDCRefused as e:
                st.error(str(e))
                st.button("Log out", on_click=st.logout)
                return
            st.rerun()
        st.button("Log in", on_click=st.login, type="primary")
        return
    with st.form("login"):
        name = st.text_input("User")
        password = st.text_input("Password", type="password")
        if st.form_submit_button("Log in", type="primary"):
            found = authenticate(settings(), name.strip(), password)
            if found is None:
                st.error("Wrong user or password; try again or ask an administrator.")
            else:
                # The hash stays in the file; the session keeps who the user is and what they may do.
                st.session_state[USER_KEY] = UserRecord(found.name, found.groups, found.roles)
                st.rerun()


def _logout() -> None:
    st.session_state.clear()
    if oidc_configured(st.secrets) and _oidc_logged_in():
        st.logout()


def main() -> None:
    st.set_page_config(page_title="Fuente", layout="wide")
    private_files(settings())  # embedded mode: uploads, conversations and the index are owner-only
    user = current_user()  # checked again against the users file (or the OIDC mapping) on every rerun
    if user is None:
        st.navigation([st.Page(_login, title="Log in", url_path="login")], position="hidden").run()
        return
    pages = [st.Page(chat_page.page, title="Chat", url_path="chat", default=True)]
    if user.has_role("knowledge_manager"):
        pages.append(st.Page(ingest_page.page, title="Ingestion", url_path="ingestion"))
    if user.has_role("ai_lead"):
        pages.append(st.Page(eval_page.page, title="Evaluation", url_path="evaluation"))
    if user.has_role("admin"):
        pages.append(st.Page(admin_page.page, title="Admin", url_path="admin"))
    with st.sidebar:
        st.caption(f"{user.shown_name} · groups: {', '.join(sorted(user.groups)) or 'none'}")
        st.button("Log out", on_click=_logout, icon=":material/logout:")
    try:
        st.navigation(pages).run()
    except FuenteError as e:
        st.error(str(e))
    except Exception as e:  # never a traceback on the page: one sentence, the details in the log
        log.exception("unexpected error on a page")
        st.error(f"Something went wrong ({type(e).__name__}); it was logged. Try again, or tell an administrator.")


main()
