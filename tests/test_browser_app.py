"""The app in a real browser: `streamlit run` on a free port, headless Debian Chromium via playwright.

One app process serves every test here: a temporary FUENTE_HOME with part of the sample corpus
ingested, a users file, two stored evaluation runs, and the real 0.5B llama.cpp server. The tests
save screenshots to docs/screenshots/ (the README shows them).
"""

from __future__ import annotations

import math
import os
import re
import shutil
import time
from collections.abc import Iterator
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
# What the tests ingest: the travel policy (open to employees) and the HR folder (rrhh only).
CORPUS_PARTS = ["internal/politica_viajes.md", "internal/_access.yaml", "rrhh"]


def _store_runs(settings: Any) -> None:
    """Two real stored runs (the eval suite's RunStore), as `fuente eval run` leaves them."""
    from eval.store import RunStore

    questions = [
        ("a01", "¿Cuál es la dieta diaria para un viaje internacional?", []),
        ("a02", "¿Cuánto se paga por kilómetro si uso mi coche para un viaje de trabajo?", []),
        ("r01", "¿Cuál es la banda salarial de un jefe de almacén en 2026?", ["finanzas"]),
    ]
    with RunStore.from_settings(settings) as store:
        for contender, quality, seconds in (("local", 1.0, 9.0), ("local-0.5b", 0.5, 4.0)):
            run_id = store.start_run(contender=contender, dataset="sample", dataset_hash="0" * 64, config={})
            for i, (qid, question, groups) in enumerate(questions):
                store.add_row(
                    run_id,
                    {
                        "question_id": qid,
                        "question": question,
                        "groups": groups,
                        "answer": f"Answer of {contender} to {qid} [1].",
                        "answerable": True,
                        "refused": False,
                        "verdict": "supported",
                        "citations": [{"n": 1, "title": "Política de viajes", "location": "Dietas"}],
                        "metrics": {
                            "token_f1": quality if i else 1.0,
                            "recall@k": 1.0,
                            "support_offline": math.nan,
                            "latency_s": seconds + i,
                        },
                        "judge": {"correctness": {"mean": quality, "spread": 0.0}},
                        "timings": {"total_s": seconds + i},
                        "error": None,
                    },
                )
            store.finish_run(run_id, summary={})


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
    _store_runs(settings)
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
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    # Nothing may leave the machine: any request to another host fails the test.
    outside: list[str] = []
    context.route(
        re.compile(r"^(?!https?://(127\.0\.0\.1|localhost)[:/]).*"),
        lambda route: _refuse(route, outside),
    )
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    yield pg
    context.close()
    assert not [u for u in outside if not u.startswith("data:")], f"the page fetched outside hosts: {outside}"


def login(page: Any, url: str, user: str) -> None:
    page.goto(url)
    page.get_by_role("textbox", name="User").fill(user)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Ask Fuente").wait_for()


def ask(page: Any, question: str) -> Any:
    """Ask; True when the "checking the sources" state was seen before the final answer (feedback thumbs)."""
    page.get_by_placeholder("Ask a question about your documents").fill(question)
    page.keyboard.press("Enter")
    streamed = False
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if page.get_by_text(re.compile("Comprobando las fuentes|Checking the sources")).count():
            streamed = True
        if page.locator('[data-testid="stFeedback"], [data-testid="stButtonGroup"]').count():
            break
        page.wait_for_timeout(100)
    else:
        page.screenshot(path="/tmp/fuente-ask-timeout.png", full_page=True)
        pytest.fail("no answer within 300 s: " + page.locator("body").inner_text()[-1500:])
    return streamed


def test_ask_sees_a_streamed_cited_answer(page: Any, app_url: str) -> None:
    login(page, app_url, "ana")
    streamed = ask(page, "¿Cuál es la dieta diaria para un viaje internacional?")
    # Nothing unverified is shown: a "checking the sources" state, then the verified answer.
    assert streamed, "no 'checking the sources' state before the answer"
    badge = page.get_by_text(re.compile(r"local · qwen2\.5-0\.5b"))
    assert badge.count() >= 1
    # The 0.5B model's answer may be refused by verification; then the closest sources are listed instead.
    refused = page.get_by_text("Los documentos no contienen esa información.").count() > 0
    if not refused:
        assert "75" in page.locator("body").inner_text()
    source = page.get_by_role("button", name=re.compile(r"\[\d+\] Política de viajes"))
    source.first.click()
    page.get_by_text("Open the source file").wait_for()
    page.screenshot(path=str(SHOTS / "chat.png"), full_page=True)


def test_user_without_group_is_refused_restricted_answer(page: Any, app_url: str) -> None:
    login(page, app_url, "pablo")
    ask(page, "¿Cuál es la banda salarial de un jefe de almacén en 2026?")
    body = page.locator("body").inner_text()
    assert "bandas_salariales" not in body and "Bandas salariales" not in body
    # No figure of the restricted salary bands (samples/FACTS.md F75) reaches a user outside rrhh, whether
    # Fuente refuses or answers from what pablo may see.
    assert not any(figure in body for figure in ("20.500", "27.000", "31.000", "35.000", "45.000", "61.000"))


def test_upload_is_ingested_and_answerable(page: Any, app_url: str, tmp_path: Path) -> None:
    doc = tmp_path / "sala_servidores.md"
    doc.write_text(
        "# Sala de servidores\n\nEl código de acceso a la sala de servidores de Aurora Logística es ZX-4471. "
        "Solo el equipo de sistemas puede entrar.\n",
        encoding="utf-8",
    )
    login(page, app_url, "ana")
    page.get_by_role("link", name="Ingestion").click()
    page.locator('input[type="file"]').set_input_files(str(doc))
    page.get_by_text("sala_servidores.md").wait_for()
    # Uploads are labelled explicitly (issue 11): groups and sensitivity have no default.
    groups = page.get_by_text("Groups who may see them").locator("xpath=ancestor::div[@data-testid='stMultiSelect']")
    groups.locator("input").click()
    page.get_by_role("option", name="rrhh").click()
    page.keyboard.press("Escape")
    sensitivity = page.get_by_text("Sensitivity", exact=True).locator("xpath=ancestor::div[@data-testid='stSelectbox']")
    sensitivity.locator("input").click()
    page.get_by_role("option", name="internal").click()
    page.get_by_role("button", name="Start ingestion").click()
    page.get_by_text(re.compile(r"Job \d+ completed: 1 added")).wait_for(timeout=240_000)
    page.get_by_role("tab", name="Statistics").click()
    page.screenshot(path=str(SHOTS / "ingestion.png"), full_page=True)
    page.get_by_role("link", name="Chat").click()
    ask(page, "¿Cuál es el código de acceso a la sala de servidores?")
    assert page.get_by_role("button", name=re.compile(r"Sala de servidores")).count() >= 1
    page.get_by_role("link", name="Admin").click()
    page.get_by_role("heading", name="Index health").wait_for()
    page.get_by_text("🟢 local: up").wait_for()
    page.screenshot(path=str(SHOTS / "admin.png"), full_page=True)


def test_compare_two_eval_runs(page: Any, app_url: str) -> None:
    login(page, app_url, "ana")
    page.get_by_role("link", name="Evaluation").click()
    page.get_by_role("heading", name="Runs").wait_for()
    select = page.get_by_text("Compare runs (two or more)").locator("xpath=ancestor::div[@data-testid='stMultiSelect']")
    for contender in ("local ·", "local-0.5b ·"):
        select.locator("input").click()
        page.get_by_role("option", name=re.compile("^" + re.escape(contender))).click()
    page.keyboard.press("Escape")  # close the drop-down before the screenshot
    page.get_by_role("heading", name=re.compile("Metrics")).wait_for(timeout=120_000)
    page.get_by_role("heading", name="Per question", exact=True).wait_for()
    body = page.locator("body").inner_text()
    assert "Answer of local to a01" in body and "Answer of local-0.5b to a01" in body
    assert "r01" not in body  # asked for finanzas, which ana is not in
    page.screenshot(path=str(SHOTS / "evaluation.png"), full_page=True)
