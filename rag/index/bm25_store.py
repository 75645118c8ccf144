"""The keyword side of the index: bm25s over exactly the chunks in the records.

BM25 is derived data. It is rebuilt from the SQLite records whenever their generation moves
and swapped in atomically (a new folder, then a pointer file replaced with ``os.replace``), so a
crash mid-build leaves the previous, consistent index in place.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from rag.records import Records
from rag.text import keyword_tokens

POINTER = "CURRENT"


class BM25Store:
    """Build, load and search the keyword index kept under ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._retriever: object | None = None
        self._ids: list[str] = []
        self._access: np.ndarray = np.zeros(0, dtype=object)
        self._generation: int | None = None
        self._masks: dict[tuple[str, ...], np.ndarray] = {}

    def built_generation(self) -> int | None:
        pointer = self.folder / POINTER
        if not pointer.exists():
            return None
        return int(json.loads(pointer.read_text())["generation"])

    def sync(self, records: Records) -> bool:
        """Rebuild when the records moved on since the last build; True when it rebuilt."""
        generation = records.generation()
        if self.built_generation() == generation and (self.folder / f"gen-{generation}").exists():
            return False
        ids, texts, access = records.chunk_texts()
        self.build(generation, ids, texts, access)
        return True

    def build(self, generation: int, ids: list[str], texts: list[str], access: list[str]) -> None:
        import bm25s

        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / f"gen-{generation}"
        staging = self.folder / f".gen-{generation}.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        if ids:
            retriever = bm25s.BM25()
            retriever.index([keyword_tokens(t) for t in texts], show_progress=False)
            retriever.save(str(staging / "bm25"))
        (staging / "ids.json").write_text(json.dumps({"ids": ids, "access": access}))
        shutil.rmtree(target, ignore_errors=True)
        os.replace(staging, target)
        tmp_pointer = self.folder / f".{POINTER}.tmp"
        tmp_pointer.write_text(json.dumps({"generation": generation}))
        os.replace(tmp_pointer, self.folder / POINTER)
        for old in self.folder.glob("gen-*"):
            if old != target:
                shutil.rmtree(old, ignore_errors=True)
        self._generation = None  # force a reload on the next search

    def chunk_ids(self) -> set[str]:
        self._load()
        return set(self._ids)

    def _load(self) -> None:
        import bm25s

        generation = self.built_generation()
        if generation is None:
            self._retriever, self._ids, self._generation = None, [], None
            return
        if generation == self._generation:
            return
        folder = self.folder / f"gen-{generation}"
        data = json.loads((folder / "ids.json").read_text())
        self._ids = data["ids"]
        self._access = np.asarray(data["access"], dtype=object)
        self._retriever = bm25s.BM25.load(str(folder / "bm25")) if self._ids else None
        self._generation = generation
        self._masks = {}

    def _mask(self, access_keys: tuple[str, ...]) -> np.ndarray:
        """1.0 for the rows of the given access sets. Cached per build: users ask with the same sets
        again and again, and recomputing it over 100,000 rows was half of a search's time."""
        mask = self._masks.get(access_keys)
        if mask is None:
            if len(self._masks) >= 64:  # many distinct group combinations: keep memory bounded
                self._masks.clear()
            mask = self._masks[access_keys] = np.isin(self._access, list(access_keys)).astype(np.float32)
        return mask

    def search(self, query: str, access_keys: list[str], k: int) -> list[tuple[str, float]]:
        """Top-k (chunk id, BM25 score) among chunks of the given access sets, best first."""
        self._load()
        tokens = keyword_tokens(query)
        if self._retriever is None or not tokens:
            return []
        mask = self._mask(tuple(sorted(access_keys)))
        allowed = int(mask.sum())
        if allowed == 0:
            return []
        docs, scores = self._retriever.retrieve(  # type: ignore[attr-defined]
            [tokens], k=min(k, allowed), weight_mask=mask, show_progress=False, n_threads=1
        )
        return [(self._ids[int(i)], float(s)) for i, s in zip(docs[0], scores[0], strict=True) if s > 0]
