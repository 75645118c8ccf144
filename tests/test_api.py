"""`fuente serve-api` as a real process over a real index and the session's real llama.cpp server (0.5B),
driven by the `openai` Python client. Model calls are few: the 0.5B on two shared cores is slow."""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from rag import api_keys
from rag.settings import Settings, load_settings
from rag.users import add_user
from tests.helpers import SAMPLE_CORPUS, TEST_MODELS, free_port, ingest
from tests.servers import running

pytestmark = [pytest.mark.integration, pytest.mark.slow]
MODEL = "fuente"
DIETA = "¿Cuál es la dieta diaria para un viaje internacional?"
SALARY = "¿Cuál es el punto medio de la banda salarial B5?"  # rrhh only: 53.000 €


def service_home(root: Path, embedder: Any) -> tuple[Settings, dict[str, str]]:
    """A FUENTE_HOME with the sample corpus ingested, users ana (rrhh) and luis (no group), and their keys."""
    environ = {"FUENTE_HOME": str(root / "home"), "FUENTE__PATHS__MODELS": str(TEST_MODELS)}
    settings = load_settings("test", environ=environ)
    corpus = root / "corpus"
    shutil.copytree(SAMPLE_CORPUS, corpus)
    ingest(settings, embedder, corpus)
    add_user(settings, "ana", password=None, groups=frozenset({"rrhh"}))
    add_user(settings, "luis", password=None, groups=frozenset())
    keys = {name: api_keys.create_key(settings, name)[1] for name in ("ana", "luis")}
    old, keys["revoked"] = api_keys.create_key(settings, "ana")
    api_keys.revoke(settings, old.key_id)
    return settings, keys


def service_env(settings: Settings, llama: dict[str, Any], **extra: str) -> dict[str, str]:
    """The environment of a `fuente serve-*` process: this home, the session's model server, small limits."""
    return {
        **os.environ,
        "FUENTE_PROFILE": "test",
        "FUENTE_HOME": str(settings.paths.home),
        "FUENTE__PATHS__MODELS": str(TEST_MODELS),
        "FUENTE__LLM__LOCAL__BASE_URL": llama["base_url"],
        "FUENTE__LLM__LOCAL__MODEL": llama["model"],
        "FUENTE__LLM__LOCAL__CONTEXT_TOKENS": str(llama["context_tokens"]),
        "FUENTE__LLM__LOCAL__MAX_TOKENS": "120",
        "FUENTE__LLM__LOCAL__RETRIES": "0",
        "FUENTE__LLM__SERVER__AUTOSTART": "false",
        "FUENTE__RETRIEVAL__TRANSLATE_QUERY": "false",  # one model call per answer
        "HF_HUB_OFFLINE": "1",
        **extra,
    }


ISSUER, AUDIENCE = "https://idp.example.org/realms/fuente", "fuente-api"


@pytest.fixture(scope="module")
def idp() -> Iterator[dict[str, Any]]:
    """An identity provider's signing key, its JWKS served on loopback, and a token maker."""
    import json
    from http.server import BaseHTTPRequestHandler, HTTPServer

    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = {**jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": "k1", "use": "sig"}
    body = json.dumps({"keys": [jwk]}).encode()

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", free_port()), Jwks)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def token(groups: list[str], *, audience: str = AUDIENCE, expires_in: float = 300) -> str:
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": audience, "sub": "s-42", "preferred_username": "marta",
                  "groups": groups, "iat": now, "exp": now + int(expires_in)}  # fmt: skip
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})

    yield {"jwks_url": f"http://127.0.0.1:{server.server_port}/certs", "token": token}
    server.shutdown()


@pytest.fixture(scope="module")
def api(
    tmp_path_factory: pytest.TempPathFactory, embedder: Any, llama_server: dict[str, Any], idp: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    from rag.users import UsersFile, users_file

    root = tmp_path_factory.mktemp("api")
    settings, keys = service_home(root, embedder)
    users = UsersFile.load(users_file(settings))
    users.extra["oidc"] = {"groups_claim": "groups", "groups": {"/fuente/rrhh": "rrhh"}}
    users.save()
    port = free_port()
    env = service_env(
        settings,
        llama_server,
        FUENTE__API__QUEUE_SIZE="1",
        FUENTE__API__QUEUE_TIMEOUT_S="1",
        FUENTE__API__OIDC_ISSUER=ISSUER,
        FUENTE__API__OIDC_AUDIENCE=AUDIENCE,
        FUENTE__API__OIDC_JWKS_URL=idp["jwks_url"],
        OTEL_TRACES_EXPORTER="console",  # spans as JSON in the server's log
    )
    fuente = str(Path(sys.executable).parent / "fuente")
    cmd = [fuente, "serve-api", "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    with running(cmd, log=root / "api.log", ready_url=url + "/health", what="fuente serve-api", timeout_s=240, env=env):
        yield {"url": url, "keys": keys, "settings": settings, "log": root / "api.log"}


def client(api: dict[str, Any], who: str) -> Any:
    from openai import OpenAI

    # No retries: the SDK would retry 429/503 itself and hide the busy answers under test.
    return OpenAI(base_url=api["url"] + "/v1", api_key=api["keys"].get(who, who), max_retries=0, timeout=300)


def sources(answer_extra: dict[str, Any]) -> list[dict[str, Any]]:
    return [*answer_extra["citations"], *answer_extra["closest_sources"]]


def test_no_key_a_wrong_key_and_a_revoked_key_get_401(api: dict[str, Any]) -> None:
    import openai

    no_key = httpx.post(
        api["url"] + "/v1/chat/completions", json={"model": MODEL, "messages": [{"role": "user", "content": "hola"}]}
    )
    assert no_key.status_code == 401
    error = no_key.json()["error"]
    assert error["code"] == "invalid_api_key" and error["message"].startswith("No API key was sent")
    for who in ("fuente-not-a-key", "revoked"):
        with pytest.raises(openai.AuthenticationError) as caught:
            client(api, who).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": DIETA}])
        assert "not valid or has been revoked" in caught.value.message
    assert [m.id for m in client(api, "luis").models.list().data] == [MODEL]
    with pytest.raises(openai.NotFoundError, match="no model 'gpt-4o'"):
        client(api, "luis").chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": DIETA}])
    bad = httpx.post(
        api["url"] + "/v1/search", json={"k": 3}, headers={"Authorization": f"Bearer {api['keys']['luis']}"}
    )
    assert bad.status_code == 400 and "query" in bad.json()["error"]["message"]


def test_search_is_retrieval_as_the_key_user(api: dict[str, Any]) -> None:
    def hits(who: str) -> list[dict[str, Any]]:
        r = httpx.post(
            api["url"] + "/v1/search",
            json={"query": SALARY, "k": 6},
            headers={"Authorization": f"Bearer {api['keys'][who]}"},
            timeout=120,
        )
        assert r.status_code == 200, r.text
        return r.json()["data"]  # type: ignore[no-any-return]

    insider, outsider = hits("ana"), hits("luis")
    assert any("/rrhh/" in h["source_uri"] for h in insider)
    assert outsider and not any("/rrhh/" in h["source_uri"] or "/finanzas/" in h["source_uri"] for h in outsider)
    assert "53.000" not in str(outsider)


def test_oidc_bearer_tokens_act_as_the_mapped_user(api: dict[str, Any], idp: dict[str, Any]) -> None:
    def search(token: str) -> httpx.Response:
        return httpx.post(
            api["url"] + "/v1/search",
            json={"query": SALARY, "k": 6},
            headers={"Authorization": f"Bearer {token}"},
            timeout=120,
        )

    mapped = search(idp["token"](["/fuente/rrhh", "/other"]))
    assert mapped.status_code == 200, mapped.text
    assert any("/rrhh/" in h["source_uri"] for h in mapped.json()["data"])
    for token, says in (
        (idp["token"](["/fuente/rrhh"], audience="another-api"), "neither a Fuente API key nor a valid token"),
        (idp["token"](["/fuente/rrhh"], expires_in=-120), "expired"),
        (idp["token"](["/unmapped"]), "no group mapped"),
        (idp["token"](["/fuente/rrhh"])[:-4] + "AAAA", "neither a Fuente API key"),
    ):
        refused = search(token)
        assert refused.status_code == 401 and says in refused.json()["error"]["message"], refused.text


def test_streamed_answer_with_citations_while_the_queue_answers_busy(api: dict[str, Any]) -> None:
    """One streamed answer holds the assistant; meanwhile one request may wait and the rest are told busy."""
    chunks: list[Any] = []

    def stream() -> None:
        for chunk in client(api, "ana").chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": DIETA}], stream=True
        ):
            chunks.append(chunk)

    def holding() -> bool:
        return "fuente_generations_in_flight 1.0" in httpx.get(api["url"] + "/metrics").text

    with ThreadPoolExecutor(4) as pool:
        streaming = pool.submit(stream)
        deadline = time.monotonic() + 60
        while not holding():
            assert time.monotonic() < deadline and not streaming.done(), "the stream never held the assistant"
            time.sleep(0.05)
        crowd = [
            pool.submit(
                httpx.post,
                api["url"] + "/v1/chat/completions",
                json={"model": MODEL, "messages": [{"role": "user", "content": DIETA}]},
                headers={"Authorization": f"Bearer {api['keys']['luis']}"},
                timeout=300,
            )
            for _ in range(3)
        ]
        answers = [f.result() for f in crowd]
        streaming.result()
    busy = [r for r in answers if r.status_code in (429, 503)]
    assert len(busy) >= 2 and all(r.status_code in (200, 429, 503) for r in answers)
    for r in busy:
        assert r.json()["error"]["code"] == "busy" and "retry in" in r.json()["error"]["message"]
        assert int(r.headers["Retry-After"]) >= 1
    assert any(r.status_code == 429 for r in busy)

    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert chunks[0].choices[0].delta.role == "assistant"
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    extra = last.model_extra["fuente"]
    assert extra["question_id"] and extra["timings"]["queue_s"] >= 0
    if extra["refused"]:
        assert extra["citations"] == [] and extra["closest_sources"]
    else:
        # The answer itself is the 0.5B's (its wording varies); the citations must lead to the travel policy.
        assert any("politica_viajes" in c["source_uri"] for c in extra["citations"])
        assert all(f"[{c['n']}]" in text for c in extra["citations"])
        assert "Fuentes:" in text and extra["citations"][0]["source_uri"] in text
        assert last.choices[0].delta.model_extra["citations"] == extra["citations"]
    # Nothing crashed: the server still answers, and counted what it turned away.
    metrics = httpx.get(api["url"] + "/metrics").text
    assert 'fuente_busy_total{reason="queue_full"}' in metrics
    assert "fuente_queue_seconds_bucket" in metrics and "fuente_tokens_total" in metrics


def test_non_streamed_answer_with_citations(api: dict[str, Any]) -> None:
    done = client(api, "ana").chat.completions.create(model=MODEL, messages=[{"role": "user", "content": DIETA}])
    message = done.choices[0].message
    extra = done.model_extra["fuente"]
    assert done.model == MODEL and done.id == f"chatcmpl-{extra['question_id']}"
    assert message.model_extra["refused"] is extra["refused"]
    assert done.usage is not None and done.usage.prompt_tokens > 0
    if not extra["refused"]:
        assert extra["citations"] == message.model_extra["citations"]
        assert any("politica_viajes" in c["source_uri"] for c in extra["citations"])
        cited = extra["citations"][0]
        assert set(cited) == {"n", "chunk_id", "title", "source_uri", "location", "snippet"}
        assert f"[{cited['n']}] {cited['title']}" in message.content


def test_a_question_the_documents_do_not_answer_is_refused(api: dict[str, Any]) -> None:
    done = client(api, "luis").chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Who won the 1986 football World Cup final?"}]
    )
    extra = done.model_extra["fuente"]
    assert extra["refused"] is True and extra["citations"] == [] and done.choices[0].message.model_extra["refused"]
    assert "Argentin" not in done.choices[0].message.content


def test_a_restricted_question_is_refused_for_a_key_without_the_group(api: dict[str, Any]) -> None:
    done = client(api, "luis").chat.completions.create(model=MODEL, messages=[{"role": "user", "content": SALARY}])
    extra = done.model_extra["fuente"]
    content = done.choices[0].message.content
    # Nothing of rrhh reaches an outsider: no citation, no closest source, no figure, no name. Whether the
    # answer is a refusal is the assistant's decision over what luis may see (the 0.5B usually refuses).
    assert not any("/rrhh/" in s["source_uri"] or "/finanzas/" in s["source_uri"] for s in sources(extra))
    assert extra["refused"] is (extra["citations"] == []), content
    assert "53.000" not in content and "53000" not in content and "Lucía Ferrer" not in content
    metrics = httpx.get(api["url"] + "/metrics").text
    assert (
        "fuente_refusals_total" in metrics
        and 'fuente_requests_total{endpoint="/v1/chat/completions",status="200"}' in metrics
    )
    log = api["log"].read_text(errors="replace")
    assert "bandas_salariales" not in log  # the log (with its spans) names no rrhh file either
    # Traces: the request, the assistant's answer and what it called, as spans of one trace.
    for name in ("fuente.api.chat", "fuente.ask", "fuente.retrieval", "fuente.generation"):
        assert f'"name": "{name}"' in log, name
    assert '"fuente.refused": ' in log
