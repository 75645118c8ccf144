"""Ingestion against a real `chroma run` server: the http provider, and what a user sees when it is down."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import chromadb
import pytest
from chromadb.config import Settings as ChromaSettings
from typer.testing import CliRunner

from ingest.pipeline import Ingestor
from rag.app import build_writer
from rag.embedders import SentenceTransformerEmbedder
from rag.errors import ConfigError, StoreError
from rag.index import Index
from rag.settings import Settings
from tests.helpers import TEST_MODELS, SettingsFactory, chunks_of, free_port, ingest, one_sentence

pytestmark = pytest.mark.integration

HOST = "127.0.0.1"
CHROMA = Path(sys.executable).parent / "chroma"


def _client(port: int) -> Any:
    return chromadb.HttpClient(host=HOST, port=port, settings=ChromaSettings(anonymized_telemetry=False))


@contextmanager
def chroma_server(data: Path, port: int, timeout_s: float = 60.0) -> Iterator[int]:
    """Run `chroma run` until the block ends; its log is in ``data``/server.log for failures."""
    if not CHROMA.exists():
        pytest.skip(f"{CHROMA} is absent: install chromadb in this environment to run the server tests.")
    data.mkdir(parents=True, exist_ok=True)
    log_path = data / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(CHROMA), "run", "--path", str(data / "db"), "--host", HOST, "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"chroma run exited with {proc.returncode}:\n{log_path.read_text(errors='replace')[-2000:]}"
                )
            try:
                _client(port).heartbeat()
                break
            except Exception:
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"chroma run gave no heartbeat in {timeout_s:.0f} s:\n"
                        f"{log_path.read_text(errors='replace')[-2000:]}"
                    )
                time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """One Chroma server for the module; tests keep apart by collection prefix. Yields its port."""
    with chroma_server(tmp_path_factory.mktemp("chroma-server"), free_port()) as port:
        yield port


def http_settings(make_settings: SettingsFactory, port: int, **index: Any) -> Settings:
    prefix = f"t{uuid.uuid4().hex[:12]}"
    return make_settings(index={"provider": "http", "host": HOST, "port": port, "collection_prefix": prefix, **index})


def server_ids(port: int, prefix: str) -> dict[str, set[str]]:
    """Chunk ids per access set, read straight from the server rather than through ChromaStore."""
    client = _client(port)
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


def test_corpus_lands_on_the_server_and_stays_in_sync(
    server: int, make_settings: SettingsFactory, embedder: SentenceTransformerEmbedder, corpus: Path
) -> None:
    settings = http_settings(make_settings, server)
    prefix = settings.index.collection_prefix
    summary = ingest(settings, embedder, corpus)
    assert summary.counts["failed"] == summary.counts["skipped"] == 0
    on_server = server_ids(server, prefix)
    assert set(on_server) == {"everyone", "rrhh", "direccion+finanzas"}
    assert on_server == recorded_ids(settings)
    assert sum(map(len, on_server.values())) == summary.counts["chunks_embedded"] > 0
    assert not settings.paths.chroma_dir.exists()  # nothing went to an embedded Chroma folder

    def failing_embedder() -> SentenceTransformerEmbedder:
        raise AssertionError("an unchanged corpus must not load the embedding model")

    writer = build_writer(settings, embedder=failing_embedder)
    try:
        again = Ingestor(writer).run([corpus])
    finally:
        writer.close()
    assert again.counts["chunks_embedded"] == 0 and again.counts["unchanged"] == summary.counts["added"]
    assert server_ids(server, prefix) == on_server

    victim = corpus / "internal" / "politica_viajes.md"
    its_chunks = chunks_of(settings, victim)
    assert its_chunks
    victim.unlink()
    after = ingest(settings, embedder, corpus)
    assert after.counts["deleted"] == 1 and after.counts["chunks_deleted"] == len(its_chunks)
    on_server = server_ids(server, prefix)
    assert not set().union(*on_server.values()) & its_chunks
    assert on_server == recorded_ids(settings)


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
    server: int,
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
    settings = http_settings(make_settings, server, token_env="FUENTE_TEST_CHROMA_TOKEN")
    summary = ingest(settings, embedder, folder)
    assert summary.counts["added"] == 1
    assert server_ids(server, settings.index.collection_prefix) == recorded_ids(settings)
