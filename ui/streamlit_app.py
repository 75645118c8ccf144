"""The Streamlit app: ``fuente app`` runs ``streamlit run`` on this file.

Log in (local users file, or OIDC through ``st.login`` when ``[auth]`` is in Streamlit's secrets),
then the pages the user's roles allow. Each page checks the role again itself.
"""

from __future__ import annotations

import streamlit as st

from rag.users import UserRecord, UsersFile, authenticate, users_file
from ui import admin_page, chat_page, eval_page, ingest_page
from ui.auth import oidc_configured, oidc_mapping, user_from_claims
from ui.context import USER_KEY, current_user, settings


def _oidc_logged_in() -> bool:
    return bool(st.user.to_dict().get("is_logged_in", False))


def _login() -> None:
    st.title("Fuente")
    st.caption("Grounded, cited answers from your organisation's documents.")
    if oidc_configured(st.secrets):
        if _oidc_logged_in():
            mapping = oidc_mapping(UsersFile.load(users_file(settings())))
            st.session_state[USER_KEY] = user_from_claims(st.user.to_dict(), mapping)
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
    user = current_user()
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
        st.caption(f"{user.name} · groups: {', '.join(sorted(user.groups)) or 'none'}")
        st.button("Log out", on_click=_logout, icon=":material/logout:")
    st.navigation(pages).run()


main()
