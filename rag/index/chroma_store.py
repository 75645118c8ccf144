"""Dense vectors in Chroma, one collection per access set.

Chunks are partitioned by the set of groups that may see them, so a query searches only the
collections the user may see, each without a `where` filter: a metadata filter that matches most
chunks made Chroma 1.5 about 60x slower (../shared/ASSETS.md). Each vector carries only what a
filtered query on access needs (``access_meta`` in rag/index/records.py); everything else about a chunk lives in the
records (rag/index/records.py).
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from filelock import FileLock

from rag.errors import ConfigError, FuenteError, StoreError
from rag.index.records import access_meta
from rag.settings import IndexSettings, PathsSettings
from rag.types import Chunk

log = logging.getLogger(__name__)
ACCESS_KEY = "fuente_access_key"


def _client(index: IndexSettings, paths: PathsSettings) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    try:
        if index.provider == "embedded":
            paths.chroma_dir.mkdir(parents=True, exist_ok=True)
            # Chroma creates and migrates its SQLite file on first open, and two processes doing so at
            # once (two `fuente ingest` on a new home) can fail one of them: opening is one at a time.
            with FileLock(str(paths.chroma_dir / ".open.lock")):
                return chromadb.PersistentClient(path=str(paths.chroma_dir), settings=chroma_settings)
        headers = {}
        if index.token_env:
            token = os.environ.get(index.token_env)
            if not token:
                raise ConfigError(
                    f"index.token_env names {index.token_env}, which is not set; export the Chroma token."
                )
            headers["Authorization"] = f"Bearer {token}"
        return chromadb.HttpClient(
            host=index.host, port=index.port, ssl=index.ssl, headers=headers, settings=chroma_settings
        )
    except ConfigError:
        raise
    except Exception as e:
        raise _store_error(e, index, paths, "opening the index") from e


def _chain(e: BaseException) -> Iterator[BaseException]:
    """``e`` and every error it wraps: chromadb re-raises transport errors as ValueError or Exception."""
    seen: BaseException | None = e
    while seen is not None:
        yield seen
        seen = seen.__cause__ or seen.__context__


def _refused(e: BaseException) -> bool:
    """The server (or an authenticating proxy in front of it) answered 401 or 403."""
    import httpx
    from chromadb.errors import AuthorizationError, ChromaAuthError

    for err in _chain(e):
        if isinstance(err, AuthorizationError | ChromaAuthError):
            return True
        if isinstance(err, httpx.HTTPStatusError) and err.response.status_code in (401, 403):
            return True
    return False


def _unreachable(e: BaseException) -> bool:
    import httpx

    return any(isinstance(err, httpx.TransportError | ConnectionError | TimeoutError) for err in _chain(e))


def _store_error(e: Exception, index: IndexSettings, paths: PathsSettings, doing: str) -> StoreError:
    """One sentence for the user; the chromadb error stays chained as the cause."""
    if index.provider == "embedded":
        return StoreError(
            f"Chroma failed while {doing} in {paths.chroma_dir} ({type(e).__name__}); "
            "check that the folder is writable and the disk is not full."
        )
    url = f"{'https' if index.ssl else 'http'}://{index.host}:{index.port}"
    if _refused(e):
        where = f"the token in {index.token_env}" if index.token_env else "no token (index.token_env is not set)"
        return StoreError(
            f"The Chroma server at {url} refused the request while {doing} with {where}; "
            "export the right token in the variable index.token_env names."
        )
    if _unreachable(e):
        return StoreError(
            f"Cannot reach the Chroma server at {url} while {doing}; start it (chroma run) "
            "or point index.host and index.port at it."
        )
    return StoreError(f"The Chroma server at {url} failed while {doing} ({type(e).__name__}); check its log.")


class ChromaStore:
    """The vector side of the index: a :class:`rag.index.base.VectorStore` on Chroma."""

    def __init__(self, index: IndexSettings, paths: PathsSettings) -> None:
        self._settings = index
        self._paths = paths
        self._client = _client(index, paths)
        self._collections: dict[str, Any] = {}

    @contextmanager
    def _guard(self, doing: str) -> Iterator[None]:
        """Turn any chromadb or transport error into a :class:`StoreError` that says what to do."""
        try:
            yield
        except FuenteError:
            raise
        except Exception as e:
            raise _store_error(e, self._settings, self._paths, doing) from e

    def collection_name(self, access_key: str) -> str:
        digest = hashlib.sha256(access_key.encode()).hexdigest()[:16]
        return f"{self._settings.collection_prefix}_{digest}"

    def _collection(self, access_key: str, *, create: bool) -> Any | None:
        if access_key in self._collections:
            return self._collections[access_key]
        from chromadb.errors import NotFoundError

        name = self.collection_name(access_key)
        with self._guard(f"opening collection {name}"):
            try:
                if create:
                    coll = self._client.get_or_create_collection(
                        name,
                        configuration={"hnsw": {"space": "cosine"}},
                        metadata={ACCESS_KEY: access_key},
                        embedding_function=None,
                    )
                else:
                    coll = self._client.get_collection(name, embedding_function=None)
            except NotFoundError:
                # Only a missing collection means "no chunks here"; a server that is down must not.
                return None
        self._collections[access_key] = coll
        return coll

    def access_keys(self) -> list[str]:
        """Access sets that have a collection in this index."""
        keys = []
        prefix = self._settings.collection_prefix + "_"
        with self._guard("listing collections"):
            collections = self._client.list_collections()
        for coll in collections:
            if coll.name.startswith(prefix) and (coll.metadata or {}).get(ACCESS_KEY) is not None:
                keys.append(coll.metadata[ACCESS_KEY])
        return sorted(keys)

    def upsert(self, chunks: list[Chunk], vectors: np.ndarray) -> None:
        """Write chunks with their vectors; idempotent by chunk id."""
        by_key: dict[str, list[int]] = defaultdict(list)
        for i, chunk in enumerate(chunks):
            by_key[chunk.access.key].append(i)
        step = self._settings.write_batch
        for key, rows in by_key.items():
            coll = self._collection(key, create=True)
            assert coll is not None
            for start in range(0, len(rows), step):
                part = rows[start : start + step]
                with self._guard("writing chunks"):
                    # No documents: the text lives in the records, and Chroma would keep a second copy
                    # with a full-text index over it, two thirds of a write's time, that nothing reads.
                    coll.upsert(
                        ids=[chunks[i].id for i in part],
                        embeddings=vectors[part],
                        metadatas=[access_meta(chunks[i]) for i in part],
                    )

    def ids_by_access(self) -> dict[str, set[str]]:
        """Every chunk id in the index, grouped by access set."""
        out: dict[str, set[str]] = {}
        for key in self.access_keys():
            coll = self._collection(key, create=False)
            if coll is None:
                continue
            ids: set[str] = set()
            offset, page = 0, 10_000
            while True:
                with self._guard("reading chunk ids"):
                    got = coll.get(include=[], limit=page, offset=offset)["ids"]
                ids.update(got)
                if len(got) < page:
                    break
                offset += page
            out[key] = ids
        return out

    def delete(self, access_key: str, ids: list[str]) -> None:
        coll = self._collection(access_key, create=False)
        if coll is None or not ids:
            return
        for start in range(0, len(ids), self._settings.write_batch):
            with self._guard("deleting chunks"):
                coll.delete(ids=ids[start : start + self._settings.write_batch])

    def vectors(self, access_key: str, ids: list[str]) -> np.ndarray | None:
        """The stored vectors of ``ids`` (in that order), or None when any is missing (a relabel then re-embeds)."""
        coll = self._collection(access_key, create=False)
        if coll is None or not ids:
            return None
        found: dict[str, Any] = {}
        step = self._settings.write_batch
        for start in range(0, len(ids), step):
            with self._guard("reading vectors"):
                got = coll.get(ids=ids[start : start + step], include=["embeddings"])
            found.update(zip(got["ids"], got["embeddings"], strict=True))
        if any(i not in found for i in ids):
            return None
        return np.asarray([found[i] for i in ids], dtype=np.float32)

    def update_metadata(self, chunks: list[Chunk]) -> None:
        by_key: dict[str, list[Chunk]] = defaultdict(list)
        for chunk in chunks:
            by_key[chunk.access.key].append(chunk)
        for key, group in by_key.items():
            coll = self._collection(key, create=False)
            if coll is not None:
                with self._guard("updating chunk metadata"):
                    coll.update(ids=[c.id for c in group], metadatas=[access_meta(c) for c in group])

    def counts_by_access(self) -> dict[str, int]:
        """Chunks per access set (a collection emptied by deletions stays behind, with 0)."""
        counts: dict[str, int] = {}
        for key in self.access_keys():
            coll = self._collection(key, create=False)
            if coll is not None:
                with self._guard("counting chunks"):
                    counts[key] = int(coll.count())
        return counts

    def count(self) -> int:
        return sum(self.counts_by_access().values())

    def dimension(self) -> int | None:
        """The length of the stored vectors (None when the index holds none)."""
        for key, n in self.counts_by_access().items():
            coll = self._collection(key, create=False)
            if n and coll is not None:
                with self._guard("reading a vector"):
                    embeddings = coll.get(limit=1, include=["embeddings"]).get("embeddings")
                if embeddings is not None and len(embeddings) > 0:
                    return int(len(embeddings[0]))
        return None

    def query(self, vector: np.ndarray, access_keys: list[str], k: int) -> list[tuple[str, float]]:
        """Top-k (chunk id, cosine similarity) over the given access sets, best first."""
        hits: list[tuple[str, float]] = []
        for key in access_keys:
            coll = self._collection(key, create=False)
            if coll is None:
                continue
            with self._guard("searching"):
                res = coll.query(query_embeddings=[vector], n_results=k, include=["distances"])
            hits.extend((cid, 1.0 - float(dist)) for cid, dist in zip(res["ids"][0], res["distances"][0], strict=True))
        hits.sort(key=lambda hit: hit[1], reverse=True)
        return hits[:k]
