"""The Chroma server (`chroma run`) as a user meets it: ingestion through the http provider with a token,
and what a user sees when the server is down, stops mid-use or refuses the token.

The vector-store behaviour itself is the contract suite's (tests/contracts/), run against the server too.
"""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ingest.pipeline import Ingestor
from rag.app import build_writer
from rag.embedders import SentenceTransformerEmbedder
from rag.errors import ConfigError, StoreError
from rag.index import Index
from rag.settings import Settings
from tests.helpers import TEST_MODELS, SettingsFactory, free_port, ingest, one_sentence
from tests.servers import HOST, chroma_client, chroma_server

pytestmark = pytest.mark.integration


def http_settings(make_settings: SettingsFactory, port: int, **index: Any) -> Settings:
    prefix = f"t{uuid.uuid4().hex[:12]}"
    return make_settings(index={"provider": "http", "host": HOST, "port": port, "collection_prefix": prefix, **index})


def server_ids(port: int, prefix: str) -> dict[str, set[str]]:
    """Chunk ids per access set, read straight from the server rather than through ChromaStore."""
    client = chroma_client(port)
    out: dict[str, set[str]] = {}
    for coll in client.list_collections():
        if coll.name.startswith(prefix + "_"):
            out[coll.metadata["fuente_access_key"]] = set(coll.get(include=[])["ids"])
    return out


def recorded_ids(settings: Settings) -> dict[str, set[str]]:
    index = Index(settings)
    try:
        return index.records.chunk_ids_by_access()
    finally:
        index.close()


def test_a_closed_port_is_a_store_error_that_says_what_to_do(make_settings: SettingsFactory) -> None:
    port = free_port()  # nothing listens on it
    settings = http_settings(make_settings, port)
    with pytest.raises(StoreError) as caught:
        Index(settings)
    message = str(caught.value)
    assert f"http://{HOST}:{port}" in message and "start it" in message
    assert one_sentence(message), message


def test_fuente_ingest_with_the_server_down_exits_4_with_the_message(
    make_settings: SettingsFactory, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ui.cli import app

    port = free_port()
    home = make_settings().paths.home
    for name, value in {
        "FUENTE_HOME": str(home),
        "FUENTE_PROFILE": "test",
        "FUENTE__PATHS__MODELS": str(TEST_MODELS),
        "FUENTE__INDEX__PROVIDER": "http",
        "FUENTE__INDEX__PORT": str(port),
    }.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(app, ["ingest", str(corpus)])
    assert result.exit_code == 4, result.output
    assert f"Cannot reach the Chroma server at http://{HOST}:{port}" in " ".join(result.stderr.split())
    assert "Traceback" not in result.output


def test_a_server_that_stops_mid_use_fails_the_job_with_a_store_error(
    make_settings: SettingsFactory, embedder: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "horario.md").write_text("# Horario\n\nLa oficina abre de 8:00 a 18:00 de lunes a viernes.\n")
    with chroma_server(tmp_path / "private-server", free_port()) as port:
        settings = http_settings(make_settings, port)
        assert ingest(settings, embedder, folder).counts["added"] == 1
        index = Index(settings)  # opened while the server is up
    try:
        (folder / "cierre.md").write_text("# Cierre\n\nEn agosto la oficina cierra a las 15:00.\n")
        ingestor = Ingestor(build_writer(settings, embedder=embedder, index=index))
        with pytest.raises(StoreError) as caught:  # not an httpx error escaping from chromadb
            ingestor.run([folder])
        assert "Cannot reach the Chroma server" in str(caught.value) and one_sentence(str(caught.value))
        job = ingestor.jobs.list(1)[0]
        assert job.status == "failed" and job.error == str(caught.value)
    finally:
        index.close()


class _AuthProxy(BaseHTTPRequestHandler):
    """Stands where an authenticating reverse proxy would: records the Authorization header, answers 401."""

    seen: list[str | None] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        type(self).seen.append(self.headers.get("Authorization"))
        body = json.dumps({"error": "Unauthorized"}).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_the_token_is_sent_as_a_bearer_header_and_a_refusal_says_so(
    make_settings: SettingsFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # chroma 1.5.9's Rust server has no token auth (its auth hook allows everything), so a token is
    # enforced by a proxy in front of it; this stands in for that proxy.
    _AuthProxy.seen = []
    proxy = ThreadingHTTPServer((HOST, 0), _AuthProxy)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("FUENTE_TEST_CHROMA_TOKEN", "s3cret-token")
        settings = http_settings(make_settings, proxy.server_address[1], token_env="FUENTE_TEST_CHROMA_TOKEN")
        with pytest.raises(StoreError) as caught:
            Index(settings)
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert _AuthProxy.seen and set(_AuthProxy.seen) == {"Bearer s3cret-token"}
    message = str(caught.value)
    assert "refused" in message and "FUENTE_TEST_CHROMA_TOKEN" in message and one_sentence(message), message
    assert "s3cret-token" not in message


def test_a_token_variable_that_is_not_set_is_a_config_error(
    make_settings: SettingsFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FUENTE_TEST_CHROMA_TOKEN", raising=False)
    settings = http_settings(make_settings, free_port(), token_env="FUENTE_TEST_CHROMA_TOKEN")
    with pytest.raises(ConfigError, match="FUENTE_TEST_CHROMA_TOKEN"):
        Index(settings)


def test_a_token_reaches_a_real_server(
    chroma_server_port: int,
    make_settings: SettingsFactory,
    embedder: SentenceTransformerEmbedder,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The header must not upset a real server (it ignores it in 1.5.9: nothing checks the token).
    monkeypatch.setenv("FUENTE_TEST_CHROMA_TOKEN", "s3cret-token")
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "horario.md").write_text("# Horario\n\nLa oficina abre de 8:00 a 18:00 de lunes a viernes.\n")
    settings = http_settings(make_settings, chroma_server_port, token_env="FUENTE_TEST_CHROMA_TOKEN")
    summary = ingest(settings, embedder, folder)
    assert summary.counts["added"] == 1
    assert server_ids(chroma_server_port, settings.index.collection_prefix) == recorded_ids(settings)
    assert not settings.paths.chroma_dir.exists()  # nothing went to an embedded Chroma folder
