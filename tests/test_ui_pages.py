"""Every page through Streamlit's AppTest: real settings, index, embedder and writer; no browser.

The model server is pointed at a closed port: these tests cover what the pages do without a model
(log in, roles, refusal with nothing to search, ingestion, deletion, admin, evaluation runs); the
browser tests (tests/test_browser_app.py) ask the real llama.cpp server.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from rag.settings import REPO_ROOT, Settings, load_settings
from rag.users import UserRecord, add_user, list_users
from tests.helpers import TEST_MODELS, SettingsFactory, free_port
from ui.context import USER_KEY
from ui.render import escape
from ui.runtime import Runtime

pytestmark = [pytest.mark.integration]
APP = str(REPO_ROOT / "ui" / "streamlit_app.py")


def _page(module: str) -> None:
    import importlib

    importlib.import_module(module).page()


def _close_runtimes() -> None:
    for rt in list(Runtime.instances):
        rt.close()
    st.cache_resource.clear()


@pytest.fixture
def settings(make_settings: SettingsFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    s = make_settings()
    for key, value in {
        "FUENTE_HOME": str(s.paths.home),
        "FUENTE_PROFILE": "test",
        "FUENTE__PATHS__MODELS": str(TEST_MODELS),
        "FUENTE__LLM__LOCAL__BASE_URL": f"http://127.0.0.1:{free_port()}/v1",
        "FUENTE__LLM__SERVER__AUTOSTART": "false",
        "FUENTE__RETRIEVAL__TRANSLATE_QUERY": "false",
        "HF_HUB_OFFLINE": "1",
    }.items():
        monkeypatch.setenv(key, value)
    _close_runtimes()
    yield s
    _close_runtimes()


def page_test(
    module: str,
    user: UserRecord | None,
    timeout: float = 60,
    *,
    locale: str | None = None,
    state: dict[str, Any] | None = None,
) -> AppTest:
    at = AppTest.from_function(_page, args=(module,), default_timeout=timeout)
    if locale is not None:
        at.context["locale"] = locale  # what the browser says (navigator.language)
    if user is not None:
        # Every rerun checks the session's user against the users file: the user must be in it.
        add_user(load_settings("test"), user.name, password=None, groups=user.groups, roles=user.roles)
        at.session_state[USER_KEY] = user
    for key, value in (state or {}).items():
        at.session_state[key] = value
    return at.run()


def _wait_for_writer() -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if all(rt.current is None or rt.current.done for rt in Runtime.instances):
            return
        time.sleep(0.2)
    pytest.fail("the app's ingestion did not finish in 180 s")


def test_login_checks_the_password_and_shows_only_allowed_pages(settings: Settings) -> None:
    add_user(settings, "pablo", password="pw-pablo", roles=frozenset({"user"}))
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.text_input[0].input("pablo")
    at.text_input[1].input("wrong")
    at.button[0].click().run()
    assert "Wrong user or password" in at.error[0].value and USER_KEY not in at.session_state
    at.text_input[1].input("pw-pablo")
    at.button[0].click().run()
    assert at.title[0].value == "Ask Fuente"
    assert at.session_state[USER_KEY].password_hash is None


@pytest.mark.parametrize(
    ("module", "role"),
    [("ui.ingest_page", "knowledge_manager"), ("ui.eval_page", "ai_lead"), ("ui.admin_page", "admin")],
)
def test_pages_refuse_users_without_their_role(settings: Settings, module: str, role: str) -> None:
    at = page_test(module, UserRecord("pablo", frozenset({"rrhh"}), frozenset({"user"})))
    assert at.error[0].value == f"This page needs the {role} role; ask an administrator for it."
    assert not at.title  # nothing of the page was drawn
    assert "Log in" in page_test(module, None).error[0].value


def test_chat_refuses_when_nothing_may_be_searched(settings: Settings) -> None:
    # A Spanish browser: the whole page speaks Spanish, the refusal explains itself in one sentence.
    at = page_test("ui.chat_page", UserRecord("pablo", frozenset(), frozenset({"user"})), locale="es-ES")
    assert at.title[0].value == "Pregunta a Fuente"
    at.chat_input[0].set_value("¿Cuál es la dieta diaria para un viaje internacional?").run()
    assert at.warning[0].value == "Nada en los documentos que puedes ver corresponde a esta pregunta."
    badge = next(m.value for m in at.markdown if "local · " in m.value)  # route, model and time
    assert re.search(r"local · \S+ · \d+\.\d s", badge), badge
    # Feedback goes to the query log row of the question.
    at.feedback[0].set_value(0).run()
    at.text_input[0].input("no sources at all")
    next(b for b in at.button if b.label == "Enviar valoración").click().run()
    from rag.querylog import QueryLog
    from rag.sqlite import connect

    conn = connect(settings.paths.records_db)
    try:
        row = QueryLog(conn).recent(1)[0]
    finally:
        conn.close()
    assert (row["user"], row["feedback"], row["comment"]) == ("pablo", -1, "no sources at all")
    # The turn stays on the page (the session's history) after the reruns.
    assert "Gracias por tu valoración." in [c.value for c in at.caption]
    assert at.chat_message[0].text[0].value == "¿Cuál es la dieta diaria para un viaje internacional?"


def test_ingestion_page_ingests_a_folder_and_deletes_a_document(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "docs"
    (folder / "rrhh").mkdir(parents=True)
    (folder / "faq.md").write_text("# FAQ\n\nLa oficina abre a las 8:00.\n", encoding="utf-8")
    (folder / "rrhh" / "_access.yaml").write_text("groups: [rrhh]\nsensitivity: confidential\n")
    (folder / "rrhh" / "nominas.md").write_text("# Nóminas\n\nSe pagan el día 28.\n", encoding="utf-8")
    monkeypatch.setenv("FUENTE_APP_SOURCES", str(folder))
    km = UserRecord("ana", frozenset(), frozenset({"knowledge_manager"}))
    at = page_test("ui.ingest_page", km)
    at.radio[0].set_value("folder").run()
    start = next(b for b in at.button if b.label == "Start ingestion")
    start.click().run()
    _wait_for_writer()
    at.run()
    # ana is not in rrhh: she sees one document, and neither the name nor the count of the other.
    frames = [df.value for df in at.dataframe]
    titles = [t for f in frames if "title" in f.columns for t in f["title"]]
    assert titles == ["FAQ"]
    assert not any("nominas" in str(f.to_dict()) for f in frames)
    assert any("1 file in groups you do not belong to is not shown" in c.value for c in at.caption)
    next(b for b in at.button if b.label == "Delete it from the index").click().run()
    from rag.index.records import Records

    records = Records(settings.paths.records_db)
    try:
        assert records.document_count() == 1 and "FAQ" not in str(
            records.conn.execute("SELECT title FROM documents").fetchall()
        )
    finally:
        records.close()


def test_admin_page_adds_users_and_reports_health(settings: Settings) -> None:
    admin = UserRecord("root", frozenset(), frozenset({"admin"}))
    at = page_test("ui.admin_page", admin)
    assert [s.value for s in at.subheader] == ["Users", "Model endpoints", "Index health"]
    endpoints = at.dataframe[1].value
    assert list(endpoints["health"]) == ["down"]  # the test points the model at a closed port
    at.text_input[0].input("luis")
    at.text_input[1].input("pw-luis")
    at.text_input[2].input("finanzas")
    at.button[0].click().run()
    assert [(u.name, u.groups) for u in list_users(settings)] == [
        ("luis", frozenset({"finanzas"})),
        ("root", frozenset()),
    ]
    health = dict(zip(at.dataframe[2].value[""], at.dataframe[2].value["value"], strict=True))
    assert health["consistent"] == "True" and health["documents"] == "0"


def test_evaluation_page_compares_two_runs(settings: Settings) -> None:
    from eval.store import RunStore

    with RunStore.from_settings(settings) as store:
        for name, value in (("local", 1.0), ("cloud", 0.0)):
            run = store.start_run(contender=name, dataset="sample", dataset_hash="0", config={})
            store.add_row(run, {"question_id": "a01", "question": "¿Dieta?", "groups": [], "answerable": True, "refused": False, "answer": f"{name} says 75 [1]",
                                "metrics": {"token_f1": value}, "timings": {"total_s": 3.0}})  # fmt: skip
            store.add_row(run, {"question_id": "r01", "question": "¿Salario?", "groups": ["rrhh"], "answerable": True, "refused": False, "answer": "secret",
                                "metrics": {"token_f1": value}, "timings": {"total_s": 5.0}})  # fmt: skip
            store.finish_run(run, summary={})
    lead = UserRecord("eva", frozenset(), frozenset({"ai_lead"}))
    at = page_test("ui.eval_page", lead)
    assert len(at.dataframe[0].value) == 2
    at.multiselect(key="compare_runs").set_value(at.multiselect(key="compare_runs").options).run()
    metrics = at.dataframe[1].value
    f1 = metrics.loc[next(i for i in metrics.index if "F1" in i or "f1" in i)]
    assert any("1.000 [1.000, 1.000]" in str(v) for v in f1) and any("0.000 [0.000, 0.000]" in str(v) for v in f1)
    shown = " ".join(m.value for m in at.markdown)
    assert "local says 75" in shown and "cloud says 75" in shown and "secret" not in shown
    assert any("1 question asked for groups you do not belong to is not shown" in c.value for c in at.caption)


def test_oidc_login_maps_claims_to_groups_and_roles(settings: Settings) -> None:
    users = settings.paths.resolve("users.yaml")
    users.parent.mkdir(parents=True, exist_ok=True)
    users.write_text(
        "oidc:\n  groups_claim: groups\n  groups: {/fuente/rrhh: rrhh}\n  roles: {/fuente/admins: admin}\nusers: {}\n"
    )
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x"}
    at.run()
    assert [b.label for b in at.button] == ["Log in"] and not at.text_input  # no password form
    at.user = {"is_logged_in": True, "preferred_username": "ana", "groups": ["/fuente/rrhh", "/fuente/admins", "/x/y"],
               "iss": "https://idp.example", "sub": "0f3a"}  # fmt: skip
    at.run()
    user = at.session_state[USER_KEY]
    assert (user.shown_name, user.groups, user.roles) == ("ana", {"rrhh"}, {"user", "admin"})
    assert at.title[0].value == "Ask Fuente"


def test_the_language_follows_the_browser_then_the_users_choice(settings: Settings) -> None:
    add_user(settings, "pablo", password="pw-pablo", roles=frozenset({"user"}))
    at = AppTest.from_file(APP, default_timeout=60)
    at.context["locale"] = "es-ES"
    at.run()
    assert [b.label for b in at.button] == ["Iniciar sesión"]
    assert [t.label for t in at.text_input] == ["Usuario", "Contraseña"]
    at.text_input[0].input("pablo")
    at.text_input[1].input("wrong")
    at.button[0].click().run()
    assert at.error[0].value.startswith("Usuario o contraseña incorrectos")
    at.text_input[1].input("pw-pablo")
    at.button[0].click().run()
    assert at.title[0].value == "Pregunta a Fuente"
    assert at.chat_input[0].placeholder == "Haz una pregunta sobre tus documentos"
    # pablo prefers English: the choice is stored for him and wins over his Spanish browser.
    at.selectbox(key="user_language").set_value("en").run()
    assert at.title[0].value == "Ask Fuente"
    from ui.preferences import Preferences

    assert Preferences(settings.paths.resolve("app.db")).language("pablo") == "en"
    again = AppTest.from_file(APP, default_timeout=60)
    again.context["locale"] = "es-ES"
    again.session_state[USER_KEY] = UserRecord("pablo", frozenset(), frozenset({"user"}))
    again.run()
    assert again.title[0].value == "Ask Fuente" and again.selectbox(key="user_language").value == "en"
    # Back to "browser language": Spanish again, and nothing stored.
    again.selectbox(key="user_language").set_value("auto").run()
    assert again.title[0].value == "Pregunta a Fuente"
    assert Preferences(settings.paths.resolve("app.db")).language("pablo") is None


def _viewer_corpus(settings: Settings, embedder: Any, root: Path) -> dict[str, dict[str, Any]]:
    """A policy in Markdown with a table (everyone) and a PDF (rrhh only), ingested; their chunks by name."""
    from tests.test_ingest_pipeline import ingest
    from tests.test_ui_viewer import _pdf

    (root / "rrhh").mkdir(parents=True)
    (root / "viajes.md").write_text(
        "# Dietas\n\nLa dieta depende del destino.\n\n| Tipo de viaje | Importe por día |\n|---|---|\n"
        "| Nacional | 40 € |\n| Internacional | 75 € |\n",
        encoding="utf-8",
    )
    (root / "rrhh" / "_access.yaml").write_text("groups: [rrhh]\nsensitivity: confidential\n")
    _pdf(root / "rrhh" / "travel.pdf")
    ingest(settings, embedder, root)
    from rag.index.records import Records, chunk_meta

    with Records(settings.paths.records_db, read_only=True) as records:
        ids, _, _ = records.chunk_texts()
        chunks = records.get_chunks(ids)
    out = {}
    for chunk_id, chunk in chunks.items():
        meta = chunk_meta(chunk)
        name = "md" if meta["source_uri"].endswith(".md") else f"pdf-{meta.get('page')}"
        out[name] = {"chunk_id": chunk_id, "text": chunk.text, **meta}
    return out


def _turn(chunks: dict[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """A stored turn citing the table row and the PDF's sentence, as the assistant returns them."""
    from tests.test_ui_viewer import QUOTE

    def cite(n: int, c: dict[str, Any], quote: str) -> dict[str, Any]:
        return {"n": n, "chunk_id": c["chunk_id"], "title": c["title"], "source_uri": c["source_uri"],
                "location": c.get("section", ""), "snippet": c["text"][:280], "quote": quote, "page": c.get("page")}  # fmt: skip

    answer = {
        "question_id": "q1", "text": "75 € [1][2].", "refused": False, "verdict": "supported", "route": "local",
        "model": "qwen2.5-0.5b", "language": "es", "timings": {"total_s": 4.2}, "reason": "", "sensitive": False,
        "sentences": [], "closest_sources": [],
        "citations": [cite(1, chunks["md"], "| Tipo de viaje | Importe por día |\n| Internacional | 75 € |"),
                      cite(2, chunks["pdf-2"], QUOTE)],
    }  # fmt: skip
    return "¿Cuál es la dieta internacional?", answer


def test_a_citation_opens_its_evidence_for_who_may_see_it(settings: Settings, embedder: Any, tmp_path: Path) -> None:
    chunks = _viewer_corpus(settings, embedder, tmp_path / "docs")
    turn = _turn(chunks)
    ana = UserRecord("ana", frozenset({"rrhh"}), frozenset({"user"}))
    at = page_test("ui.chat_page", ana, locale="es-ES", state={"turns": [turn]})
    assert at.get("html") == [] and at.get("image") == []  # nothing is rendered before a click
    # Under each source, the quoted table row as one line, not a line of pipes.
    assert escape("Tipo de viaje: Internacional · Importe por día: 75 €") in " ".join(c.value for c in at.caption)
    # The Markdown table's citation: the chunk as a real table, the quoted row marked.
    at.button(key="src-t0-cite-1").click().run()
    html = " ".join(h.proto.body for h in at.get("html"))
    assert "<tr class='hit'><td><mark>Internacional</mark></td><td><mark>75 €</mark></td></tr>" in html
    assert "| Internacional |" not in html and "<tr><td>Nacional</td><td>40 €</td></tr>" in html
    assert [d.label for d in at.get("download_button")] == ["Descargar el original"]
    # The PDF's citation: page 2 rendered, the sentence found and highlighted.
    at.button(key="src-t0-cite-2").click().run()
    assert len(at.get("image")) == 1
    assert any(c.value.startswith(escape("Página 2 de 2, con la frase citada resaltada.")) for c in at.caption)
    # A user outside rrhh, with the same turn (a forged or stale citation), sees one sentence, nothing of the PDF.
    pablo = UserRecord("pablo", frozenset(), frozenset({"user"}))
    other = page_test("ui.chat_page", pablo, state={"turns": [turn]})
    other.button(key="src-t0-cite-2").click().run()
    assert other.get("image") == [] and other.get("download_button") == []
    assert other.error[0].value == (
        "This source is no longer available to you: it was removed, changed or its access changed."
    )
    other.button(key="src-t0-cite-1").click().run()  # the policy is everyone's
    assert any("<mark>" in h.proto.body for h in other.get("html"))
    # The folder is relabeled on disk (not yet re-ingested): ana's old access no longer opens it.
    (tmp_path / "docs" / "rrhh" / "_access.yaml").write_text("groups: [finanzas]\nsensitivity: confidential\n")
    at.button(key="src-t0-cite-2").click().run()
    assert at.get("image") == [] and at.error[0].value.startswith("Esta fuente ya no está disponible")
