"""`fuente doctor` against real parts: an embedded index of the sample corpus, the llama.cpp server,
a `chroma run` server configured as docker-compose.yml configures the app, and real embedding models."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from rag.doctor import CHECKS, Status, check_disk, check_users, run_checks
from rag.embedders import SentenceTransformerEmbedder
from rag.index import Index
from rag.settings import Settings, load_settings
from tests.helpers import SAMPLE_CORPUS, TEST_MODELS, free_port, ingest, one_sentence, settings_for

USERS = {"users": {"ana": {"groups": ["rrhh"]}, "luis": {"groups": []}}}


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder) -> Path:
    """Two folders of the sample corpus (two access sets; the whole corpus only costs time here)
    ingested once into an embedded index, with a users file beside it."""
    root = tmp_path_factory.mktemp("doctor-home")
    summary = ingest(settings_for(root), embedder, SAMPLE_CORPUS / "public", SAMPLE_CORPUS / "rrhh")
    assert summary.counts["failed"] == 0 and summary.counts["chunks_embedded"] > 0
    (root / "users.yaml").write_text(yaml.safe_dump(USERS))
    return root


def run_cli(monkeypatch: pytest.MonkeyPatch, home: Path, llm: dict[str, Any], *args: str) -> Any:
    """`fuente doctor ARGS` with the installation configured through the environment, as in a container."""
    from ui.cli import app

    environ = {
        "FUENTE_PROFILE": "test",
        "FUENTE_HOME": str(home),
        "FUENTE__PATHS__MODELS": str(TEST_MODELS),
        "FUENTE__LLM__LOCAL__BASE_URL": llm["base_url"],
        "FUENTE__LLM__LOCAL__MODEL": llm["model"],
        "FUENTE__LLM__LOCAL__CONTEXT_TOKENS": str(llm["context_tokens"]),
    }
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    return CliRunner().invoke(app, ["doctor", *args])


def lines_by_check(output: str) -> dict[str, tuple[str, str]]:
    """{check: (status, sentence)} from the one-line-per-check text output."""
    out = {}
    for line in output.strip().splitlines():
        status, name, detail = line.split(maxsplit=2)
        out[name] = (status, detail)
    return out


@pytest.mark.integration
def test_every_component_ok_exits_0(home: Path, llama_server: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    result = run_cli(monkeypatch, home, llama_server)
    assert result.exit_code == 0, result.output
    lines = lines_by_check(result.stdout)
    assert list(lines) == list(CHECKS)
    assert {status for status, _ in lines.values()} == {"ok"}, result.stdout
    recorded = Index(settings_for(home))
    try:
        chunks, documents = recorded.records.chunk_count(), recorded.records.document_count()
    finally:
        recorded.close()
    assert f"{chunks} chunks of {documents} documents, matching the records" in lines["index"][1]
    assert llama_server["model"] in lines["llm"][1] and llama_server["base_url"] in lines["llm"][1]
    assert "384 dimensions, matching the index" in lines["embedding"][1]
    assert "2 users" in lines["users"][1]


@pytest.mark.integration
def test_json_output_carries_the_numbers(
    home: Path, llama_server: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_cli(monkeypatch, home, llama_server, "--json")
    assert result.exit_code == 0, result.output
    checks = {c["name"]: c for c in json.loads(result.stdout)}
    assert list(checks) == list(CHECKS) and {c["status"] for c in checks.values()} == {"ok"}
    assert checks["index"]["chunks"] == checks["index"]["recorded_chunks"] > 0
    assert checks["index"]["dimension"] == checks["embedding"]["dimension"] == 384
    assert checks["llm"]["model"] == llama_server["model"]
    assert checks["disk"]["free_gb"] >= checks["disk"]["min_free_gb"]


@pytest.mark.integration
def test_a_stopped_llm_server_fails_that_line_with_one_sentence(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()  # where a stopped server used to listen: nothing answers
    stopped = {"base_url": f"http://127.0.0.1:{port}/v1", "model": "qwen2.5-0.5b", "context_tokens": 2048}
    result = run_cli(monkeypatch, home, stopped, "--skip", "embedding")
    assert result.exit_code == 1, result.output
    lines = lines_by_check(result.stdout)
    status, detail = lines["llm"]
    assert status == "fail" and f"127.0.0.1:{port}" in detail and "cannot be reached" in detail
    assert one_sentence(detail), detail
    # The other components are still reported, and still fine.
    assert {name: s for name, (s, _) in lines.items() if name != "llm"} == {"index": "ok", "disk": "ok", "users": "ok"}
    assert "Traceback" not in result.output


@pytest.mark.integration
def test_a_server_serving_another_model_fails(home: Path, llama_server: dict[str, Any]) -> None:
    settings = settings_for(home, llm={"local": {"base_url": llama_server["base_url"], "model": "llama-3.1-8b"}})
    (result,) = run_checks(settings, only=["llm"])
    assert result.status is Status.FAIL and "not llama-3.1-8b" in result.detail and one_sentence(result.detail)


@pytest.fixture(scope="module")
def projected_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real sentence-transformers model of another dimension: MiniLM with a 384->128 dense layer."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Dense

    base = SentenceTransformer(str(TEST_MODELS / "all-MiniLM-L6-v2"), device="cpu")
    dense = Dense(in_features=384, out_features=128)
    folder = tmp_path_factory.mktemp("minilm-128") / "model"
    SentenceTransformer(modules=[*base, dense], device="cpu").save(str(folder))
    return folder


@pytest.mark.integration
def test_an_embedding_model_of_another_dimension_fails(home: Path, projected_model: Path) -> None:
    settings = settings_for(home, embedding={"model": str(projected_model)})
    index, embedding = run_checks(settings, only=["index", "embedding"])
    assert index.status is Status.OK
    assert embedding.status is Status.FAIL and embedding.data["dimension"] == 128
    assert "128-dimensional vectors but the index holds 384-dimensional ones" in embedding.detail
    assert one_sentence(embedding.detail), embedding.detail


@pytest.mark.integration
def test_vectors_missing_from_the_index_fail_the_index_line(home: Path, tmp_path: Path) -> None:
    damaged = tmp_path / "home"
    shutil.copytree(home, damaged)
    settings = settings_for(damaged)
    index = Index(settings)
    try:
        key = index.vectors.access_keys()[0]
        victims = sorted(index.records.chunk_ids_by_access()[key])[:2]
        index.vectors.delete(key, victims)  # as if a write to Chroma had been lost
        recorded = index.records.chunk_count()
    finally:
        index.close()
    (result,) = run_checks(settings, only=["index"])
    assert result.status is Status.FAIL
    assert result.data["chunks"] == recorded - 2 and result.data["recorded_chunks"] == recorded
    assert "run `fuente ingest`" in result.detail and one_sentence(result.detail), result.detail

    # While an ingestion holds the writer lock the counts may differ for a moment: a warning, not a failure.
    from rag.index.lock import writer_lock

    with writer_lock(settings.paths.lock_file):
        (result,) = run_checks(settings, only=["index"])
    assert result.status is Status.WARN and result.ok and "An ingestion is writing" in result.detail
    (result,) = run_checks(settings, only=["index"])
    assert result.status is Status.FAIL  # the lock released: a real mismatch again


@pytest.mark.integration
def test_an_access_set_whose_documents_were_all_deleted_is_fine(home: Path, tmp_path: Path) -> None:
    """Deleting every document of an access set leaves its collection empty behind; that is no mismatch."""
    copy = tmp_path / "home"
    shutil.copytree(home, copy)
    settings = settings_for(copy)
    index = Index(settings)
    try:
        key = index.vectors.access_keys()[-1]
        doomed = {c.doc_id for c in index.records.get_chunks(sorted(index.records.chunk_ids_by_access()[key])).values()}
        for doc_id in doomed:  # what ingestion does when those files disappear
            index.delete_document(doc_id)
        assert key in index.vectors.access_keys()  # the collection is still there, empty
    finally:
        index.close()
    (result,) = run_checks(settings, only=["index"])
    assert result.status is Status.OK, result.detail


def test_a_fresh_installation_warns_about_the_index_and_fails_on_users(make_settings: Any) -> None:
    settings = make_settings()
    index, users = run_checks(settings, only=["index", "users"])
    assert index.status is Status.WARN and index.ok and "fuente ingest" in index.detail
    assert users.status is Status.FAIL and "no users file" in users.detail and one_sentence(users.detail)
    assert not settings.paths.chroma_dir.exists()  # the doctor looked, it did not create an index


def test_unknown_check_names_are_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from ui.cli import app

    monkeypatch.setenv("FUENTE_HOME", str(tmp_path))
    result = CliRunner().invoke(app, ["doctor", "--only", "index,gpu"])
    assert result.exit_code == 2 and "unknown check(s) gpu" in " ".join(result.output.split())


def test_a_users_file_without_users_and_a_full_disk_fail(make_settings: Any) -> None:
    settings = make_settings()
    path = settings.paths.resolve("users.yaml")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("users: {}\n")
    assert check_users(settings).status is Status.FAIL
    disk = check_disk(settings, min_free_gb=1e9)  # more than any disk has
    assert disk.status is Status.FAIL and "free space" in disk.detail and one_sentence(disk.detail)


# -- the Chroma server, configured as docker-compose.yml configures the app ----------------------


def compose_app_settings(port: int, home: Path) -> Settings:
    """Settings built as the app container builds them (gpu profile + the compose `app` environment
    resolved with .env.example), pointed at a local token proxy instead of the `chroma-auth` service,
    and at the CPU instead of a GPU."""
    from tests.test_compose import resolved_compose

    environment = resolved_compose()["services"]["app"]["environment"]
    environ = {
        **{k: str(v) for k, v in environment.items() if v is not None},
        "FUENTE_HOME": str(home),
        "FUENTE__PATHS__MODELS": str(TEST_MODELS),
        "FUENTE__INDEX__HOST": "127.0.0.1",
        "FUENTE__INDEX__PORT": str(port),
        "FUENTE__EMBEDDING__DEVICE": "cpu",
    }
    return load_settings(environ=environ)


@pytest.mark.integration
def test_doctor_reads_a_chroma_server_with_the_compose_settings(
    embedder: SentenceTransformerEmbedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The compose chain for real: the app's settings, the token proxy (nginx with the compose template),
    a `chroma run` behind it; ingestion through it, doctor on it, lost vectors, the server stopped."""
    from tests.servers import chroma_server
    from tests.test_compose import chroma_auth_proxy, env_example

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "horario.md").write_text("# Horario\n\nLa oficina abre de 8:00 a 18:00 de lunes a viernes.\n")
    (folder / "cierre.md").write_text("# Cierre\n\nEn agosto la oficina cierra a las 15:00.\n")
    token = env_example()["CHROMA_TOKEN"]
    monkeypatch.setenv("CHROMA_TOKEN", token)  # as in the app container's environment
    with (
        chroma_server(tmp_path / "chroma", free_port()) as chroma_port,
        chroma_auth_proxy(tmp_path / "nginx", f"127.0.0.1:{chroma_port}", token) as port,
    ):
        settings = compose_app_settings(port, tmp_path / "home")
        assert settings.profile == "gpu" and settings.index.token_env == "CHROMA_TOKEN"
        assert ingest(settings, embedder, folder).counts["added"] == 2
        index, embedding = run_checks(settings, only=["index", "embedding"], embedder=embedder)
        assert index.status is Status.OK and f"http://127.0.0.1:{port}" in index.detail, index.detail
        assert index.data["chunks"] == index.data["recorded_chunks"] > 0
        assert embedding.status is Status.OK and embedding.data["dimension"] == index.data["dimension"] == 384

        # A Chroma server that has lost vectors (restored from an older snapshot than the records).
        store = Index(settings)
        try:
            key = store.vectors.access_keys()[0]
            store.vectors.delete(key, sorted(store.records.chunk_ids_by_access()[key])[:1])
        finally:
            store.close()
        (index,) = run_checks(settings, only=["index"])
        assert index.status is Status.FAIL and "run `fuente ingest`" in index.detail

        monkeypatch.setenv("CHROMA_TOKEN", "not-the-token")
        (index,) = run_checks(settings, only=["index"])
        assert index.status is Status.FAIL and "refused the request" in index.detail and one_sentence(index.detail)
        monkeypatch.setenv("CHROMA_TOKEN", token)

    # The same installation with the Chroma server (and its proxy) stopped.
    (index,) = run_checks(settings, only=["index"])
    assert index.status is Status.FAIL and f"Cannot reach the Chroma server at http://127.0.0.1:{port}" in index.detail
    assert one_sentence(index.detail), index.detail


# -- vLLM started with the compose file's own command line ----------------------------------------------


@pytest.mark.integration
@pytest.mark.vllm
@pytest.mark.slow
def test_doctor_against_vllm_started_as_compose_starts_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The `vllm` service's command line (resolved with .env.example) serves the model; the app's settings
    reach it with the API key; doctor reports it, catches a wrong key and context, and a stopped server."""
    import os
    import subprocess
    import time

    import httpx

    from rag.llm import ChatClient
    from tests.servers import VLLM_MODEL, VLLM_PYTHON
    from tests.servers import stop_group as _stop
    from tests.test_compose import env_example, flag, resolved_compose
    from ui.cli import app

    if not VLLM_PYTHON.exists() or not (VLLM_MODEL / "config.json").exists():
        pytest.skip("the vLLM CPU server is not installed: run `make vllm`.")
    example = env_example()
    command = list(resolved_compose()["services"]["vllm"]["command"])
    command[command.index("--model") + 1] = str(VLLM_MODEL)  # the hub id, swapped for the converted 0.5B
    port = free_port()
    # On CPU: loopback and a free port instead of 0.0.0.0:8000 (argparse keeps the last value),
    # float32 (bfloat16 is ~3.5x slower without AVX-512), no graph capture (minutes of start-up).
    command += ["--host", "127.0.0.1", "--port", str(port), "--dtype", "float32", "--enforce-eager"]
    assert flag(command, "--max-model-len") == example["VLLM_MAX_MODEL_LEN"] and "--enable-prefix-caching" in command
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "VLLM_CPU_KVCACHE_SPACE": "2", "VLLM_API_KEY": example["VLLM_API_KEY"]}
    log = tmp_path / "vllm.log"
    proc = subprocess.Popen(
        [str(VLLM_PYTHON), "-m", "vllm.entrypoints.openai.api_server", *command],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    base_url = f"http://127.0.0.1:{port}/v1"
    app_env = resolved_compose()["services"]["app"]["environment"]
    monkeypatch.setenv("VLLM_API_KEY", example["VLLM_API_KEY"])  # the app container's environment has it

    def settings(**extra: str) -> Settings:
        environ = {
            **{k: str(v) for k, v in app_env.items() if v is not None},
            "FUENTE_HOME": str(tmp_path / "home"),
            "FUENTE__LLM__LOCAL__BASE_URL": base_url,
            **extra,
        }
        return load_settings(environ=environ)

    try:
        started = time.monotonic()
        while True:
            assert proc.poll() is None, f"vLLM exited with {proc.returncode}:\n{log.read_text()[-3000:]}"
            assert time.monotonic() - started < 300, f"vLLM did not start in 300 s:\n{log.read_text()[-3000:]}"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(1)

        (llm,) = run_checks(settings(), only=["llm"])
        assert llm.status is Status.OK, llm.detail
        assert llm.detail == f"vllm at {base_url} serves {example['VLLM_SERVED_NAME']}."
        assert llm.data["served_context"] == int(example["VLLM_MAX_MODEL_LEN"])
        # The production client, configured as in the app container, gets an answer.
        client = ChatClient(settings().llm.local)
        try:
            done = client.complete([{"role": "user", "content": "Say hello."}], max_tokens=8)
        finally:
            client.close()
        assert done.text.strip() and done.completion_tokens > 0

        (llm,) = run_checks(settings(FUENTE__LLM__LOCAL__CONTEXT_TOKENS="32768"), only=["llm"])
        assert llm.status is Status.FAIL and "raise the server's max-model-len" in llm.detail
        monkeypatch.setenv("VLLM_API_KEY", "not-the-key")
        (llm,) = run_checks(settings(), only=["llm"])
        assert llm.status is Status.FAIL and "refused the API key" in llm.detail and one_sentence(llm.detail)
        monkeypatch.setenv("VLLM_API_KEY", example["VLLM_API_KEY"])
    finally:
        _stop(proc)

    # The server stopped: `fuente doctor` says so in one line and exits 1.
    for name, value in {k: str(v) for k, v in app_env.items() if v is not None}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("FUENTE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FUENTE__LLM__LOCAL__BASE_URL", base_url)
    result = CliRunner().invoke(app, ["doctor", "--only", "llm"])
    assert result.exit_code == 1, result.output
    status, detail = lines_by_check(result.stdout)["llm"]
    assert status == "fail" and f"{base_url} cannot be reached; check that it is running." in detail
