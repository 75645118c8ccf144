"""`fuente doctor`: is every configured component of this installation working?

Each check is a plain function returning a :class:`CheckResult` (never printing), so the CLI, the
compose health checks and the tests read the same verdicts. A check never raises: whatever goes
wrong becomes a failed result with one sentence saying what happened and what to do.

The checks: the index (reachable, and its chunk count matching the ingestion records), each LLM
endpoint the policy may call (healthy and serving the configured model), the embedding model
(loaded, and its dimension matching the vectors in the index), free disk under FUENTE_HOME, and
the users file.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import httpx
import yaml

from rag.errors import FuenteError
from rag.settings import LLMEndpointSettings, Settings

log = logging.getLogger(__name__)

CHECKS = ("index", "llm", "embedding", "disk", "users")
DEFAULT_MIN_FREE_GB = 2.0


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    """Working, but something needs attention (an empty index); does not fail the run."""
    FAIL = "fail"


@dataclass(frozen=True)
class CheckResult:
    """One component's verdict: a name, a status and one sentence; ``data`` holds the numbers behind it."""

    name: str
    status: Status
    detail: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status is not Status.FAIL

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status.value, "detail": self.detail, **self.data}


def _index_where(settings: Settings) -> str:
    cfg = settings.index
    if cfg.provider == "embedded":
        return str(settings.paths.chroma_dir)
    return f"{'https' if cfg.ssl else 'http'}://{cfg.host}:{cfg.port}"


def writer_active(lock_file: Path) -> bool:
    """Whether a process holds the index's writer lock (an ingestion is running).

    Read from the kernel's lock table rather than by trying the lock: taking it even for a moment
    could make an ingestion starting at that instant refuse to run. Linux only; elsewhere, False.
    """
    try:
        inode = lock_file.stat().st_ino
        table = Path("/proc/locks").read_text()
    except OSError:
        return False
    # Lines look like "1: FLOCK  ADVISORY  WRITE 1234 00:2f:5678 0 EOF"; the 6th field ends in the inode.
    return any(
        len(f) > 5 and f[5].rsplit(":", 1)[-1] == str(inode) for f in (line.split() for line in table.splitlines())
    )


def check_index(settings: Settings) -> CheckResult:
    """The vector store answers and holds exactly as many chunks as the SQLite records list."""
    from rag.index import open_vector_store
    from rag.index.records import Records

    where = _index_where(settings)
    records_db = settings.paths.records_db
    if settings.index.provider == "embedded" and not settings.paths.chroma_dir.exists() and not records_db.exists():
        return CheckResult(
            "index", Status.WARN, f"No index at {where} yet; run `fuente ingest PATH` to build it.", {"chunks": 0}
        )
    try:
        store = open_vector_store(settings)
        counts, dimension = store.counts_by_access(), store.dimension()
    except FuenteError as e:
        return CheckResult("index", Status.FAIL, str(e))
    in_store = sum(counts.values())
    store_keys = {key for key, n in counts.items() if n}  # a collection emptied by deletions stays behind
    if records_db.exists():
        with Records(records_db) as records:
            recorded, documents, recorded_keys = records.chunk_count(), records.document_count(), records.access_keys()
    else:
        recorded, documents, recorded_keys = 0, 0, set()
    data: dict[str, Any] = {
        "where": where,
        "chunks": in_store,
        "recorded_chunks": recorded,
        "documents": documents,
        "dimension": dimension,
    }
    if in_store != recorded or store_keys - recorded_keys or recorded_keys - store_keys:
        if writer_active(settings.paths.lock_file):
            # Vectors go to Chroma before their records commit: mid-ingestion the two differ for a moment.
            return CheckResult(
                "index",
                Status.WARN,
                f"An ingestion is writing to the index at {where} ({in_store} chunks, {recorded} recorded so far); "
                "check again when it ends.",
                data,
            )
        return CheckResult(
            "index",
            Status.FAIL,
            f"The index at {where} holds {in_store} chunks but the records at {records_db} list {recorded}; "
            "run `fuente ingest` on the same folders to repair it.",
            data,
        )
    if recorded == 0:
        return CheckResult(
            "index", Status.WARN, f"The index at {where} is reachable but empty; run `fuente ingest PATH`.", data
        )
    return CheckResult(
        "index",
        Status.OK,
        f"{where}: {in_store} chunks of {documents} documents, matching the records.",
        data,
    )


def _served_context(endpoint: LLMEndpointSettings) -> int | None:
    """The context window the server reports for the model (vLLM's ``max_model_len``), if it does."""
    key = os.environ.get(endpoint.api_key_env) if endpoint.api_key_env else None
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        response = httpx.get(endpoint.base_url.rstrip("/") + "/models", headers=headers, timeout=5.0)
        response.raise_for_status()
        for model in response.json().get("data", []):
            if model.get("id") == endpoint.model and isinstance(model.get("max_model_len"), int):
                return int(model["max_model_len"])
    except (httpx.HTTPError, ValueError, AttributeError):
        return None  # health() already judged reachability; this is only a refinement
    return None


def check_llm(endpoint: LLMEndpointSettings, *, label: str = "llm") -> CheckResult:
    """The endpoint answers, serves the configured model, and its context fits the configured one."""
    from rag.llm import ChatClient

    data: dict[str, Any] = {"endpoint": endpoint.name, "base_url": endpoint.base_url, "model": endpoint.model}
    try:
        client = ChatClient(endpoint)
    except FuenteError as e:
        return CheckResult(label, Status.FAIL, str(e), data)
    try:
        problem = client.health()
    finally:
        client.close()
    if problem is not None:
        return CheckResult(label, Status.FAIL, problem, data)
    served = _served_context(endpoint)
    data["served_context"] = served
    if served is not None and served < endpoint.context_tokens:
        return CheckResult(
            label,
            Status.FAIL,
            f"The server at {endpoint.base_url} serves {endpoint.model} with a {served}-token context but "
            f"context_tokens is {endpoint.context_tokens}; lower it to {served} or raise the server's max-model-len.",
            data,
        )
    return CheckResult(label, Status.OK, f"{endpoint.kind} at {endpoint.base_url} serves {endpoint.model}.", data)


def check_embedding(settings: Settings, index_dimension: int | None, embedder: Any = None) -> CheckResult:
    """The embedding model loads, embeds, and writes vectors of the length the index holds."""
    cfg = settings.embedding
    data: dict[str, Any] = {"model": cfg.model, "provider": cfg.provider, "index_dimension": index_dimension}
    if embedder is None:
        if cfg.provider == "sentence_transformers" and cfg.device.startswith("cuda"):
            import torch

            if not torch.cuda.is_available():
                return CheckResult(
                    "embedding",
                    Status.FAIL,
                    f"embedding.device is {cfg.device} but this process sees no GPU; "
                    "give the container a GPU or set FUENTE__EMBEDDING__DEVICE=cpu.",
                    data,
                )
        from rag.embedders import build_embedder

        try:
            embedder = build_embedder(settings)
        except FuenteError as e:
            return CheckResult("embedding", Status.FAIL, str(e), data)
    try:
        dimension = int(embedder.embed_query("fuente doctor").shape[0])
    except FuenteError as e:
        return CheckResult("embedding", Status.FAIL, str(e), data)
    data["dimension"] = dimension
    if index_dimension is not None and index_dimension != dimension:
        return CheckResult(
            "embedding",
            Status.FAIL,
            f"The embedding model {cfg.model} makes {dimension}-dimensional vectors but the index holds "
            f"{index_dimension}-dimensional ones; configure the model the index was built with, "
            "or re-ingest into a fresh index.",
            data,
        )
    against = "matching the index" if index_dimension is not None else "the index holds no vectors to compare"
    return CheckResult("embedding", Status.OK, f"{cfg.model} loaded: {dimension} dimensions, {against}.", data)


def check_disk(settings: Settings, min_free_gb: float = DEFAULT_MIN_FREE_GB) -> CheckResult:
    """Enough free space where the index, models and records live."""
    folder: Path = settings.paths.home.expanduser()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent  # a home not created yet is judged by the disk it will be on
    free_gb = shutil.disk_usage(folder).free / 1024**3
    data = {"path": str(folder), "free_gb": round(free_gb, 2), "min_free_gb": min_free_gb}
    if free_gb < min_free_gb:
        return CheckResult(
            "disk",
            Status.FAIL,
            f"Only {free_gb:.1f} GB free at {folder} (under {min_free_gb:g} GB); free space before ingesting more.",
            data,
        )
    return CheckResult("disk", Status.OK, f"{free_gb:.1f} GB free at {folder}.", data)


def check_users(settings: Settings) -> CheckResult:
    """The users file exists and lists users."""
    from rag.users import users_file

    path = users_file(settings)
    if not path.exists():
        return CheckResult(
            "users", Status.FAIL, f"There is no users file at {path}; create it (see docs/deployment.md).", {}
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as e:
        return CheckResult("users", Status.FAIL, f"The users file {path} cannot be read ({type(e).__name__}); fix it.")
    users = data.get("users") if isinstance(data, dict) else None
    if not isinstance(users, dict) or not users:
        return CheckResult("users", Status.FAIL, f"The users file {path} lists no users under `users:`; add them.")
    return CheckResult("users", Status.OK, f"{path}: {len(users)} users.", {"path": str(path), "users": len(users)})


def _guarded(name: str, check: Callable[[], CheckResult]) -> CheckResult:
    # A diagnostic tool must report every component even when one check hits something unforeseen.
    try:
        return check()
    except Exception as e:
        log.exception("check %s crashed", name)
        return CheckResult(name, Status.FAIL, f"The {name} check crashed ({type(e).__name__}: {e}); run with -v.")


def run_checks(
    settings: Settings,
    *,
    only: Iterable[str] | None = None,
    skip: Iterable[str] = (),
    min_free_gb: float = DEFAULT_MIN_FREE_GB,
    embedder: Any = None,
) -> list[CheckResult]:
    """Run the selected checks in a fixed order: index, llm (and llm-cloud), embedding, disk, users."""
    wanted = [c for c in CHECKS if (only is None or c in set(only)) and c not in set(skip)]
    results: list[CheckResult] = []
    index_dimension: int | None = None
    if "index" in wanted:
        index = _guarded("index", lambda: check_index(settings))
        index_dimension = index.data.get("dimension")
        results.append(index)
    if "llm" in wanted:
        results.append(_guarded("llm", lambda: check_llm(settings.llm.local)))
        cloud = settings.llm.cloud
        if cloud is not None and settings.policy.cloud_enabled:
            results.append(_guarded("llm-cloud", lambda: check_llm(cloud, label="llm-cloud")))
    if "embedding" in wanted:
        results.append(_guarded("embedding", lambda: check_embedding(settings, index_dimension, embedder)))
    if "disk" in wanted:
        results.append(_guarded("disk", lambda: check_disk(settings, min_free_gb)))
    if "users" in wanted:
        results.append(_guarded("users", lambda: check_users(settings)))
    return results
