"""The app in a real browser: `streamlit run` on a free port, headless Debian Chromium via playwright.

One app process serves every test here: a temporary FUENTE_HOME with part of the sample corpus
ingested (the travel policy, the IT security policy PDF, the HR folder), a users file, and the
real 0.5B llama.cpp server. A Spanish browser gets the Spanish interface, an English one the
English interface. The tests save the README's screenshots to docs/screenshots/: real answers,
the source viewer on a real PDF page, and two evaluation runs started from the page itself.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from rag.settings import REPO_ROOT, load_settings
from rag.users import add_user
from tests.helpers import SAMPLE_CORPUS, TEST_MODELS, free_port, ingest
from tests.servers import running

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CHROMIUM = Path(os.environ.get("FUENTE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = REPO_ROOT / "docs" / "screenshots"
PASSWORD = "correct horse battery"
# What the tests ingest: the travel policy and the IT security policy (open to employees), the HR folder (rrhh only).
CORPUS_PARTS = ["internal/politica_viajes.md", "internal/it_security_policy.pdf", "internal/_access.yaml", "rrhh"]
DEMO_QUESTION = "¿Cuál es la dieta diaria para un viaje internacional?"
# The interface's words the tests look for, per language (ui/locales).
WORDS = {
    "es": {"user": "Usuario", "password": "Contraseña", "login": "Iniciar sesión", "title": "Pregunta a Fuente",
           "ask": "Haz una pregunta sobre tus documentos", "checking": "Comprobando las fuentes",
           "page": r"Página (\d+) de (\d+)", "quote_lit": "con la frase citada resaltada", "download": "Descargar el original"},
    "en": {"user": "User", "password": "Password", "login": "Log in", "title": "Ask Fuente",
           "ask": "Ask a question about your documents", "checking": "Checking the sources",
           "page": r"Page (\d+) of (\d+)", "quote_lit": "the quoted sentence highlighted", "download": "Download the original"},
}  # fmt: skip
REFUSALS = {
    "es": re.compile(
        r"Nada en los documentos que puedes ver|Ninguno de los pasajes más cercanos|La respuesta redactada no"
    ),
    "en": re.compile(r"Nothing in the documents you may see|None of the passages closest|The drafted answer was not"),
}


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory, embedder: Any, llama_server: dict[str, Any]) -> Iterator[str]:
    home = tmp_path_factory.mktemp("app") / "home"
    corpus = home.parent / "corpus"
    for part in CORPUS_PARTS:
        src, dst = SAMPLE_CORPUS / part, corpus / part
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(src, dst) if src.is_dir() else shutil.copy2(src, dst)
    env = {
        **os.environ,
        "FUENTE_HOME": str(home),
        "FUENTE_PROFILE": "test",
        "FUENTE__PATHS__MODELS": str(TEST_MODELS),
        "FUENTE__LLM__LOCAL__BASE_URL": llama_server["base_url"],
        "FUENTE__LLM__LOCAL__MODEL": llama_server["model"],
        "FUENTE__LLM__LOCAL__CONTEXT_TOKENS": str(llama_server["context_tokens"]),
        "FUENTE__LLM__LOCAL__MAX_TOKENS": "160",
        "FUENTE__LLM__SERVER__AUTOSTART": "false",
        "FUENTE__RETRIEVAL__TRANSLATE_QUERY": "false",
        "FUENTE__RETRIEVAL__K": "2",  # a shorter prompt: answers in seconds on 2 cores
        "HF_HUB_OFFLINE": "1",
    }
    settings = load_settings("test", environ=env)
    ingest(settings, embedder, corpus)
    add_user(settings, "ana", password=PASSWORD, groups=frozenset({"rrhh"}), roles=frozenset({"admin"}))
    add_user(settings, "pablo", password=PASSWORD, groups=frozenset(), roles=frozenset({"user"}))
    port = free_port()
    from ui.cli.serve import streamlit_command

    url = f"http://127.0.0.1:{port}"
    cmd = streamlit_command(port, "127.0.0.1")
    log = home / "streamlit.log"
    with running(
        cmd, log=log, ready_url=url + "/_stcore/health", what="streamlit", timeout_s=60, env=env, cwd=REPO_ROOT
    ):
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent; install Debian's chromium (`make system`).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


def _refuse(route: Any, seen: list[str]) -> None:
    seen.append(route.request.url)
    route.abort()


@pytest.fixture
def open_page(browser: Any) -> Iterator[Callable[[str], Any]]:
    """A page in a browser whose language is ``locale`` (navigator.language and Accept-Language)."""
    contexts: list[tuple[Any, list[str]]] = []

    def make(locale: str) -> Any:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale=locale)
        # Nothing may leave the machine: any request to another host fails the test.
        outside: list[str] = []
        context.route(
            re.compile(r"^(?!https?://(127\.0\.0\.1|localhost)[:/]).*"),
            lambda route: _refuse(route, outside),
        )
        contexts.append((context, outside))
        pg = context.new_page()
        pg.set_default_timeout(30_000)
        return pg

    yield make
    for context, outside in contexts:
        context.close()
        assert not [u for u in outside if not u.startswith("data:")], f"the page fetched outside hosts: {outside}"


def login(page: Any, url: str, user: str, lang: str) -> None:
    w = WORDS[lang]
    page.goto(url)
    page.get_by_role("textbox", name=w["user"], exact=True).fill(user)
    page.get_by_role("textbox", name=w["password"]).fill(PASSWORD)
    page.get_by_role("button", name=w["login"]).click()
    page.get_by_role("heading", name=w["title"]).wait_for()


def ask(page: Any, question: str, lang: str) -> bool:
    """Ask; True when the "checking the sources" state was seen before the final answer (feedback thumbs)."""
    page.get_by_placeholder(WORDS[lang]["ask"]).fill(question)
    page.keyboard.press("Enter")
    streamed = False
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if page.get_by_text(WORDS[lang]["checking"]).count():
            streamed = True
        if page.locator('[data-testid="stFeedback"], [data-testid="stButtonGroup"]').count():
            break
        page.wait_for_timeout(100)
    else:
        page.screenshot(path="/tmp/fuente-ask-timeout.png", full_page=True)
        pytest.fail("no answer within 300 s: " + page.locator("body").inner_text()[-1500:])
    return streamed


def choose(widget: Any, page: Any, name: str | re.Pattern[str], *, exact: bool = False) -> None:
    """Pick ``name`` in a Streamlit select box or multiselect ``widget``.

    The drop-down does not always open on the first click on 2 cores: a click that lands while the app is
    still re-running after the previous widget's change is swallowed by the re-render. Click again until the
    option shows, then pick it.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    option = page.get_by_role("option", name=name, exact=exact)  # exact is ignored for a pattern
    for _ in range(5):
        widget.locator("input").click()
        try:
            option.first.wait_for(timeout=6_000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    option.first.click()


def refused(page: Any, lang: str) -> bool:
    return page.get_by_text(REFUSALS[lang]).count() > 0


def open_source(page: Any, title: re.Pattern[str]) -> Any:
    """Click the first source button whose label matches ``title``; the viewer dialog."""
    page.get_by_role("button", name=title).first.click()
    dialog = page.get_by_role("dialog")
    dialog.wait_for()
    return dialog


_CHAT_SHOT: dict[str, bool] = {"taken": False, "answered": False}


def chat_screenshot(page: Any, *, answered: bool) -> None:
    """The README's chat screenshot: the module's first chat, replaced by a later one only when that one
    was answered and the first was refused (the 0.5B model refuses some questions; both are real)."""
    if not _CHAT_SHOT["taken"] or (answered and not _CHAT_SHOT["answered"]):
        page.screenshot(path=str(SHOTS / "chat.png"), full_page=True)
        _CHAT_SHOT.update(taken=True, answered=answered)


def yellow_pixels(element: Any) -> int:
    """Highlight-coloured pixels in a screenshot of ``element`` (the PDF page image)."""
    import numpy as np
    from PIL import Image

    px = np.asarray(Image.open(io.BytesIO(element.screenshot())).convert("RGB")).astype(int)
    return int(((px[..., 0] > 200) & (px[..., 1] > 170) & (px[..., 2] < 150)).sum())


def test_spanish_interface_end_to_end(open_page: Callable[[str], Any], app_url: str) -> None:
    page = open_page("es-ES")
    login(page, app_url, "ana", "es")
    for link in ("Chat", "Ingesta", "Evaluación", "Administración"):
        page.get_by_role("link", name=link).wait_for()
    page.get_by_role("button", name="Cerrar sesión").wait_for()
    streamed = ask(page, DEMO_QUESTION, "es")
    # Nothing unverified is shown: a "checking the sources" state, then the verified answer.
    assert streamed, "no 'Comprobando las fuentes' state before the answer"
    assert page.get_by_text(re.compile(r"local · qwen2\.5-0\.5b · \d+\.\d s")).count() >= 1  # route, model, time
    body = page.locator("body").inner_text()
    assert "**" not in body
    was_refused = refused(page, "es")
    if not was_refused:
        assert "75" in body
    chat_screenshot(page, answered=not was_refused)
    # The 0.5B model's answer may be refused by verification; then the closest sources open instead.
    dialog = open_source(page, re.compile(r"\[\d+\] Política de viajes"))
    dialog.get_by_role("button", name=WORDS["es"]["download"]).wait_for()
    marked = dialog.locator("mark")
    if not was_refused:
        # The cited evidence opens with the quoted sentence (or table row) marked: the per-diem amount.
        assert marked.count() >= 1
        assert "75" in " ".join(marked.all_inner_texts())
        assert dialog.locator("table").count() >= 1 or "75" in dialog.inner_text()
    assert "|---" not in dialog.inner_text()  # tables are tables, not pipes
    page.keyboard.press("Escape")
    page.get_by_role("link", name="Ingesta").click()
    page.get_by_role("heading", name="Ingesta").wait_for()
    for tab in ("Añadir", "Trabajos", "Documentos", "Estadísticas"):
        page.get_by_role("tab", name=tab).wait_for()
    page.get_by_role("link", name="Administración").click()
    page.get_by_role("heading", name="Estado del índice").wait_for()
    page.get_by_text("🟢 local: activo").wait_for()
    page.screenshot(path=str(SHOTS / "admin.png"), full_page=True)


def test_pdf_citation_opens_its_page_highlighted(open_page: Callable[[str], Any], app_url: str) -> None:
    # A Spanish interface, an English question and document: the answer keeps the question's language.
    page = open_page("es-ES")
    login(page, app_url, "ana", "es")
    ask(page, "What is the minimum password length?", "es")
    was_refused = refused(page, "es")
    chat_screenshot(page, answered=not was_refused)
    button = page.get_by_role("button", name=re.compile(r"\[\d+\] IT Security Policy · p\. \d")).first
    cited_page = int(re.search(r"p\. (\d+)", button.inner_text()).group(1))  # type: ignore[union-attr]
    dialog = open_source(page, re.compile(r"\[\d+\] IT Security Policy · p\. \d"))
    caption = dialog.get_by_text(re.compile(WORDS["es"]["page"]))
    caption.wait_for()
    shown = re.search(WORDS["es"]["page"], caption.inner_text())
    assert shown and (int(shown.group(1)), int(shown.group(2))) == (cited_page, 2)  # the cited page of 2
    image = dialog.locator("img").first
    image.wait_for()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    dialog.get_by_role("button", name=WORDS["es"]["download"]).wait_for()
    assert not page.locator('[data-testid="stMainMenu"]').count()  # no Streamlit menu for employees
    page.screenshot(path=str(SHOTS / "viewer.png"))
    assert yellow_pixels(image) > 500, "no highlight drawn on the page"
    if not was_refused:
        assert WORDS["es"]["quote_lit"] in caption.inner_text()
        assert cited_page == 1  # the password rules are on page 1 (samples/FACTS.md F39)


def test_user_without_group_is_refused_restricted_answer(open_page: Callable[[str], Any], app_url: str) -> None:
    page = open_page("en-US")
    login(page, app_url, "pablo", "en")
    ask(page, "¿Cuál es la banda salarial de un jefe de almacén en 2026?", "en")
    body = page.locator("body").inner_text()
    assert "bandas_salariales" not in body and "Bandas salariales" not in body
    # No figure of the restricted salary bands (samples/FACTS.md F75) reaches a user outside rrhh, whether
    # Fuente refuses or answers from what pablo may see.
    assert not any(figure in body for figure in ("20.500", "27.000", "31.000", "35.000", "45.000", "61.000"))


def test_upload_is_ingested_and_answerable(open_page: Callable[[str], Any], app_url: str, tmp_path: Path) -> None:
    doc = tmp_path / "sala_servidores.md"
    doc.write_text(
        "# Sala de servidores\n\nEl código de acceso a la sala de servidores de Aurora Logística es ZX-4471. "
        "Solo el equipo de sistemas puede entrar.\n",
        encoding="utf-8",
    )
    page = open_page("en-US")
    login(page, app_url, "ana", "en")
    page.get_by_role("link", name="Ingestion").click()
    page.locator('input[type="file"]').set_input_files(str(doc))
    page.get_by_text("sala_servidores.md").wait_for()
    # Uploads are labelled explicitly (issue 11): groups and sensitivity have no default.
    groups = page.get_by_text("Groups who may see them").locator("xpath=ancestor::div[@data-testid='stMultiSelect']")
    choose(groups, page, "rrhh")
    page.keyboard.press("Escape")
    sensitivity = page.get_by_text("Sensitivity", exact=True).locator("xpath=ancestor::div[@data-testid='stSelectbox']")
    choose(sensitivity, page, "internal")
    page.get_by_role("button", name="Start ingestion").click()
    page.get_by_text(re.compile(r"Job \d+ completed: 1 added")).wait_for(timeout=240_000)
    page.get_by_role("tab", name="Statistics").click()
    page.screenshot(path=str(SHOTS / "ingestion.png"), full_page=True)
    page.get_by_role("link", name="Chat").click()
    ask(page, "¿Cuál es el código de acceso a la sala de servidores?", "en")
    assert page.get_by_role("button", name=re.compile(r"Sala de servidores")).count() >= 1


def test_real_eval_runs_are_started_and_compared(open_page: Callable[[str], Any], app_url: str) -> None:
    page = open_page("en-US")
    login(page, app_url, "ana", "en")
    page.get_by_role("link", name="Evaluation").click()
    page.get_by_role("heading", name="Start a run").wait_for()
    contenders = page.get_by_text("Contenders", exact=True).locator("xpath=ancestor::div[@data-testid='stMultiSelect']")
    for name in ("local", "local-answer-v2"):
        choose(contenders, page, name, exact=True)
    page.keyboard.press("Escape")
    questions = page.get_by_label("Questions (0: all)")
    questions.fill("2")
    questions.press("Enter")
    page.get_by_role("button", name="Start", exact=True).click()
    # Two contenders, two questions each, answered by the real 0.5B model and scored by the eval suite.
    page.get_by_text(re.compile(r"local, local-answer-v2 on sample: done \(2 runs\)")).wait_for(timeout=600_000)
    page.get_by_role("link", name="Evaluation").click()  # a full rerun lists the new runs
    page.get_by_role("heading", name="Runs").wait_for()
    select = page.get_by_text("Compare runs (two or more)").locator("xpath=ancestor::div[@data-testid='stMultiSelect']")
    for contender in ("local ·", "local-answer-v2 ·"):
        choose(select, page, re.compile("^" + re.escape(contender)))
    page.keyboard.press("Escape")  # close the drop-down before the screenshot
    page.get_by_role("heading", name=re.compile("Metrics")).wait_for(timeout=120_000)
    page.get_by_role("heading", name="Per question", exact=True).wait_for()
    body = page.locator("body").inner_text()
    assert DEMO_QUESTION[:30] in body  # the first sample question, answered by both runs
    page.screenshot(path=str(SHOTS / "evaluation.png"), full_page=True)
