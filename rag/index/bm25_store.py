"""The keyword side of the index: BM25 over exactly the chunks in the records, kept incrementally.

BM25 is derived data, kept as immutable *segments*, each holding the term postings (term ->
rows and term frequencies) of some chunks of one access set, plus a small manifest (``CURRENT``)
naming the live segments and the rows deleted from them. A change of the records touches only
what changed: :meth:`BM25Store.sync` compares the chunks (and their access sets) in the records
with those in the segments, writes one new segment per access set for the added chunks, and marks
the removed ones as deleted; a relabelled chunk is both. Segments of one access set are merged
from their postings (no re-tokenising) when they grow many or carry many deleted rows.

Scores are computed at query time from global statistics (document count, average length and
document frequencies over all live rows of all access sets), with Lucene's BM25 formula (the one
bm25s uses by default), so a chunk scores the same whichever segment holds it and a segment is
never rebuilt because another one changed; k1 and b (``retrieval.bm25_k1``, ``bm25_b``) apply at query
time. A search looks only at the segments of the access sets the user may see: no mask over the rest.

Crash safety: segment files are written under new names and the manifest is replaced with
``os.replace``, so a crash at any point leaves the previous manifest, and the segments it names,
in place; the next sync compares with the records again and repairs the difference. Readers
reload only the manifest and the segments they have not seen yet.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rag.index.base import RecordStore
from rag.settings import RetrievalSettings
from rag.text import keyword_tokens

POINTER = "CURRENT"
FORMAT = 2
_DEFAULTS = RetrievalSettings()  # retrieval.bm25_k1 / bm25_b, chosen on a dev split (docs/benchmarks.md)
# A new segment is merged into its siblings once an access set has more than this many segments...
MAX_SEGMENTS_PER_SET = 6
# ...and a segment is rewritten without its deleted rows once they are more than this share of it.
MAX_DELETED_SHARE = 0.3
# Files no manifest names are removed only when older than this: a reader that has just read the
# previous manifest may still be opening them.
GRACE_S = 60.0


@dataclass
class Segment:
    """Postings of some chunks of one access set, term-major (CSC-like), immutable on disk."""

    name: str
    key: str
    ids: list[str]
    terms: list[str]
    indptr: np.ndarray  # int64, len(terms) + 1
    rows: np.ndarray  # int32, postings' row numbers
    tfs: np.ndarray  # float32, postings' term frequencies
    lengths: np.ndarray  # float32, tokens per row
    vocab: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.vocab:
            self.vocab = {t: i for i, t in enumerate(self.terms)}

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def from_tokens(cls, name: str, key: str, ids: Sequence[str], tokens: Sequence[Sequence[str]]) -> Segment:
        vocab: dict[str, int] = {}
        term_ids: list[int] = []
        row_ids: list[int] = []
        counts: list[int] = []
        lengths = np.zeros(len(ids), dtype=np.float32)
        for row, toks in enumerate(tokens):
            lengths[row] = len(toks)
            for term, count in Counter(toks).items():
                term_ids.append(vocab.setdefault(term, len(vocab)))
                row_ids.append(row)
                counts.append(count)
        return cls._from_triples(
            name,
            key,
            list(ids),
            list(vocab),
            np.asarray(term_ids, dtype=np.int64),
            np.asarray(row_ids, dtype=np.int32),
            np.asarray(counts, dtype=np.float32),
            lengths,
        )

    @classmethod
    def _from_triples(
        cls,
        name: str,
        key: str,
        ids: list[str],
        terms: list[str],
        term_ids: np.ndarray,
        rows: np.ndarray,
        tfs: np.ndarray,
        lengths: np.ndarray,
    ) -> Segment:
        order = np.lexsort((rows, term_ids))
        indptr = np.zeros(len(terms) + 1, dtype=np.int64)
        np.cumsum(np.bincount(term_ids, minlength=len(terms)), out=indptr[1:])
        return cls(name, key, ids, terms, indptr, rows[order].astype(np.int32), tfs[order], lengths)

    @classmethod
    def merge(cls, name: str, parts: Sequence[tuple[Segment, np.ndarray]]) -> Segment:
        """One segment from ``(segment, deleted rows)`` pairs of one access set, deleted rows left out."""
        vocab: dict[str, int] = {}
        ids: list[str] = []
        all_terms, all_rows, all_tfs, all_lengths = [], [], [], []
        offset = 0
        for seg, deleted in parts:
            alive = np.ones(len(seg), dtype=bool)
            alive[deleted] = False
            new_row = np.cumsum(alive, dtype=np.int64) - 1 + offset
            remap = np.asarray([vocab.setdefault(t, len(vocab)) for t in seg.terms], dtype=np.int64)
            local_terms = np.repeat(np.arange(len(seg.terms)), np.diff(seg.indptr))
            keep = alive[seg.rows]
            all_terms.append(remap[local_terms[keep]] if len(remap) else np.zeros(0, dtype=np.int64))
            all_rows.append(new_row[seg.rows[keep]].astype(np.int32))
            all_tfs.append(seg.tfs[keep])
            all_lengths.append(seg.lengths[alive])
            ids.extend(i for i, a in zip(seg.ids, alive, strict=True) if a)
            offset += int(alive.sum())
        terms = list(vocab)
        term_ids = np.concatenate(all_terms) if all_terms else np.zeros(0, dtype=np.int64)
        used = np.bincount(term_ids, minlength=len(terms)) > 0
        if not used.all():  # terms only deleted rows had
            new_term = np.cumsum(used) - 1
            term_ids = new_term[term_ids]
            terms = [t for t, u in zip(terms, used, strict=True) if u]
        return cls._from_triples(
            name,
            parts[0][0].key,
            ids,
            terms,
            term_ids,
            np.concatenate(all_rows) if all_rows else np.zeros(0, dtype=np.int32),
            np.concatenate(all_tfs) if all_tfs else np.zeros(0, dtype=np.float32),
            np.concatenate(all_lengths) if all_lengths else np.zeros(0, dtype=np.float32),
        )

    def save(self, folder: Path) -> None:
        tmp = folder / f".{self.name}.tmp.npz"
        np.savez(
            tmp,
            indptr=self.indptr,
            rows=self.rows,
            tfs=self.tfs,
            lengths=self.lengths,
            ids=np.asarray(self.ids, dtype=str),
            terms=np.asarray(self.terms, dtype=str),
            key=np.asarray(self.key),
        )
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, folder / f"{self.name}.npz")

    @classmethod
    def load(cls, folder: Path, name: str) -> Segment:
        with np.load(folder / f"{name}.npz", allow_pickle=False) as data:
            return cls(
                name,
                str(data["key"]),
                data["ids"].tolist(),
                data["terms"].tolist(),
                data["indptr"],
                data["rows"],
                data["tfs"],
                data["lengths"],
            )

    def df(self, term_id: int) -> int:
        return int(self.indptr[term_id + 1] - self.indptr[term_id])


@dataclass
class _View:
    """One manifest version as a reader holds it: segments, deleted rows, global statistics."""

    version: str
    generation: int | None
    segments: list[Segment]
    deleted: dict[str, np.ndarray]  # segment name -> sorted deleted rows
    alive: dict[str, np.ndarray]  # segment name -> float32 1/0 per row
    n_docs: int
    avgdl: float
    _df_cache: dict[str, int] = field(default_factory=dict)

    def df(self, term: str) -> int:
        cached = self._df_cache.get(term)
        if cached is not None:
            return cached
        total = 0
        for seg in self.segments:
            j = seg.vocab.get(term)
            if j is None:
                continue
            start, end = int(seg.indptr[j]), int(seg.indptr[j + 1])
            dead = self.deleted.get(seg.name)
            total += end - start
            if dead is not None and len(dead):
                total -= int(np.count_nonzero(self.alive[seg.name][seg.rows[start:end]] == 0))
        if len(self._df_cache) > 100_000:
            self._df_cache.clear()
        self._df_cache[term] = total
        return total


class BM25Store:
    """Build, update, load and search the keyword index kept under ``folder``."""

    def __init__(self, folder: Path, *, k1: float = _DEFAULTS.bm25_k1, b: float = _DEFAULTS.bm25_b) -> None:
        self.folder = folder
        self.k1 = k1
        self.b = b
        self._segments: dict[str, Segment] = {}
        self._view: _View | None = None
        self._pointer_stat: tuple[int, int, int] | None = None

    # -- the manifest ------------------------------------------------------------------------------
    def _read_manifest(self) -> dict[str, object] | None:
        pointer = self.folder / POINTER
        try:
            data = json.loads(pointer.read_text())
        except FileNotFoundError:
            return None
        if data.get("format") != FORMAT:
            return None  # an index written by the previous, rebuild-everything store: synced anew
        return dict(data)

    def built_generation(self) -> int | None:
        """The records generation the index was last synced to (None: nothing built yet)."""
        manifest = self._read_manifest()
        if manifest is None:
            return None
        generation = manifest.get("generation")
        return None if generation is None else int(generation)  # type: ignore[call-overload]

    def _write_manifest(self, generation: int | None, segments: list[Segment], deleted: dict[str, np.ndarray]) -> None:
        manifest = {
            "format": FORMAT,
            "version": f"{time.time_ns():x}-{secrets.token_hex(3)}",
            "generation": generation,
            "segments": [{"name": s.name, "key": s.key, "rows": len(s)} for s in segments],
            "deleted": {name: rows.tolist() for name, rows in deleted.items() if len(rows)},
        }
        tmp = self.folder / f".{POINTER}.tmp"
        with open(tmp, "w") as f:
            f.write(json.dumps(manifest))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.folder / POINTER)
        self._collect_garbage({s.name for s in segments})

    def _collect_garbage(self, live: set[str]) -> None:
        now = time.time()
        for path in self.folder.iterdir():
            name = path.name
            if name == POINTER or (name.endswith(".npz") and name[: -len(".npz")] in live):
                continue
            if name.startswith("gen-") or name.startswith(".gen-"):  # the previous store's folders
                shutil.rmtree(path, ignore_errors=True)
                continue
            try:
                if now - path.stat().st_mtime > GRACE_S:
                    path.unlink()
            except (FileNotFoundError, IsADirectoryError):
                pass
        for name in [n for n in self._segments if n not in live]:
            del self._segments[name]

    def _load(self) -> _View | None:
        """The current version, reading only the manifest and segments not yet held."""
        pointer = self.folder / POINTER
        try:
            st = pointer.stat()
            stat = (st.st_mtime_ns, st.st_size, st.st_ino)
        except FileNotFoundError:
            self._view, self._pointer_stat = None, None
            return None
        if self._view is not None and stat == self._pointer_stat:
            return self._view
        for attempt in range(3):
            manifest = self._read_manifest()
            if manifest is None:
                self._view, self._pointer_stat = None, stat
                return None
            try:
                self._view = self._view_of(manifest)
                self._pointer_stat = stat
                return self._view
            except FileNotFoundError:  # a writer replaced the manifest and removed a segment meanwhile
                if attempt == 2:
                    raise
                time.sleep(0.05)
        return None  # pragma: no cover

    def _view_of(self, manifest: dict[str, object]) -> _View:
        segments: list[Segment] = []
        for entry in manifest["segments"]:  # type: ignore[attr-defined]
            name = entry["name"]
            seg = self._segments.get(name)
            if seg is None:
                seg = self._segments[name] = Segment.load(self.folder, name)
            segments.append(seg)
        deleted_lists: dict[str, list[int]] = manifest.get("deleted") or {}  # type: ignore[assignment]
        deleted = {name: np.asarray(sorted(rows), dtype=np.int64) for name, rows in deleted_lists.items()}
        alive: dict[str, np.ndarray] = {}
        n_docs, total_len = 0, 0.0
        for seg in segments:
            mask = np.ones(len(seg), dtype=np.float32)
            if seg.name in deleted:
                mask[deleted[seg.name]] = 0.0
            alive[seg.name] = mask
            n_docs += int(mask.sum())
            total_len += float(seg.lengths @ mask)
        avgdl = total_len / n_docs if n_docs else 1.0
        return _View(
            str(manifest["version"]),
            manifest.get("generation"),  # type: ignore[arg-type]
            segments,
            deleted,
            alive,
            n_docs,
            max(avgdl, 1e-9),
        )

    # -- writing -----------------------------------------------------------------------------------
    def _new_segment(self, key: str, ids: Sequence[str], texts: Iterable[str]) -> Segment:
        name = f"seg-{time.time_ns():x}-{secrets.token_hex(4)}"
        seg = Segment.from_tokens(name, key, ids, [keyword_tokens(t) for t in texts])
        seg.save(self.folder)
        self._segments[name] = seg
        return seg

    def build(self, generation: int, ids: list[str], texts: list[str], access: list[str]) -> None:
        """Replace the whole index with these chunks (one segment per access set)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        by_key: dict[str, tuple[list[str], list[str]]] = {}
        for cid, text, key in zip(ids, texts, access, strict=True):
            bucket = by_key.setdefault(key, ([], []))
            bucket[0].append(cid)
            bucket[1].append(text)
        segments = [self._new_segment(key, k_ids, k_texts) for key, (k_ids, k_texts) in sorted(by_key.items())]
        self._write_manifest(generation, segments, {})

    def sync(self, records: RecordStore) -> bool:
        """Bring the index to the records' chunks, touching only what changed; True when it changed."""
        generation = records.generation()
        view = self._load()
        if view is not None and view.generation == generation:
            return False
        if view is None:
            ids, texts, access = records.chunk_texts()
            self.build(generation, ids, texts, access)
            return True
        wanted = records.chunk_ids_by_access()
        present: dict[str, set[str]] = {}
        where: dict[tuple[str, str], tuple[str, int]] = {}
        for seg in view.segments:
            alive = view.alive[seg.name]
            held = present.setdefault(seg.key, set())
            for row, cid in enumerate(seg.ids):
                if alive[row]:
                    held.add(cid)
                    where[(seg.key, cid)] = (seg.name, row)
        removed = {(key, cid) for key, ids in present.items() for cid in ids - wanted.get(key, set())}
        added = {key: sorted(ids - present.get(key, set())) for key, ids in wanted.items()}
        added = {key: ids for key, ids in added.items() if ids}
        self.apply(generation, added, removed, records=records, view=view, where=where)
        return True

    def apply(
        self,
        generation: int | None,
        added: dict[str, list[str]],
        removed: set[tuple[str, str]],
        *,
        records: RecordStore,
        view: _View | None = None,
        where: dict[tuple[str, str], tuple[str, int]] | None = None,
    ) -> None:
        """Add chunks (access set -> chunk ids, texts read from ``records``) and remove (access set,
        chunk id) pairs, as one new version. Moving a chunk to another access set is both."""
        self.folder.mkdir(parents=True, exist_ok=True)
        view = view or self._load()
        segments = list(view.segments) if view else []
        deleted = {name: set(rows.tolist()) for name, rows in (view.deleted if view else {}).items()}
        if removed:
            if where is None:
                where = {}
                for seg in segments:
                    for row, cid in enumerate(seg.ids):
                        where[(seg.key, cid)] = (seg.name, row)
            for pair in removed:
                hit = where.get(pair)
                if hit is not None:
                    deleted.setdefault(hit[0], set()).add(hit[1])
        wanted_ids = [cid for ids in added.values() for cid in ids]
        chunks = records.get_chunks(wanted_ids) if wanted_ids else {}
        for key, ids in sorted(added.items()):
            ids = [cid for cid in ids if cid in chunks]
            if ids:
                segments.append(self._new_segment(key, ids, (chunks[cid].text for cid in ids)))
        segments, deleted_arrays = self._compact(
            segments, {n: np.asarray(sorted(r), dtype=np.int64) for n, r in deleted.items() if r}
        )
        self._write_manifest(generation, segments, deleted_arrays)

    def _compact(
        self, segments: list[Segment], deleted: dict[str, np.ndarray]
    ) -> tuple[list[Segment], dict[str, np.ndarray]]:
        """Merge an access set's segments when there are too many, and drop segments' deleted rows
        when they are a large share; empty segments go."""
        out: list[Segment] = []
        by_key: dict[str, list[Segment]] = {}
        for seg in segments:
            by_key.setdefault(seg.key, []).append(seg)
        empty = np.zeros(0, dtype=np.int64)
        for key_segments in by_key.values():
            live = [s for s in key_segments if len(s) - len(deleted.get(s.name, empty)) > 0]
            heavy = [s for s in live if len(deleted.get(s.name, empty)) > MAX_DELETED_SHARE * len(s)]
            if len(live) > MAX_SEGMENTS_PER_SET:
                # Merge the small ones (everything but the largest) unless the largest needs cleaning too.
                live.sort(key=len, reverse=True)
                group = live if live[0] in heavy else live[1:]
                keep = [s for s in live if s not in group]
            else:
                group, keep = heavy, [s for s in live if s not in heavy]
            if group:
                name = f"seg-{time.time_ns():x}-{secrets.token_hex(4)}"
                merged = Segment.merge(name, [(s, deleted.get(s.name, empty)) for s in group])
                if len(merged):
                    merged.save(self.folder)
                    self._segments[name] = merged
                    keep.append(merged)
            out.extend(keep)
        names = {s.name for s in out}
        return out, {n: rows for n, rows in deleted.items() if n in names}

    # -- reading -----------------------------------------------------------------------------------
    def chunk_ids(self) -> set[str]:
        view = self._load()
        if view is None:
            return set()
        return {cid for seg in view.segments for cid, a in zip(seg.ids, view.alive[seg.name], strict=True) if a}

    def chunk_count(self) -> int:
        view = self._load()
        return view.n_docs if view else 0

    def search(self, query: str, access_keys: list[str], k: int) -> list[tuple[str, float]]:
        """Top-k (chunk id, BM25 score) among chunks of the given access sets, best first."""
        view = self._load()
        tokens = keyword_tokens(query)
        if view is None or not tokens or view.n_docs == 0:
            return []
        wanted = set(access_keys)
        n = view.n_docs
        idf = {t: float(np.log(1.0 + (n - df + 0.5) / (df + 0.5))) for t in set(tokens) if (df := view.df(t)) > 0}
        if not idf:
            return []
        candidates: list[tuple[float, str]] = []
        for seg in view.segments:
            if seg.key not in wanted:
                continue
            rows_parts, score_parts = [], []
            for t in tokens:
                j = seg.vocab.get(t)
                if j is None or t not in idf:
                    continue
                start, end = int(seg.indptr[j]), int(seg.indptr[j + 1])
                rows = seg.rows[start:end]
                tf = seg.tfs[start:end]
                norm = self.k1 * ((1.0 - self.b) + self.b * seg.lengths[rows] / view.avgdl)
                rows_parts.append(rows)
                score_parts.append(idf[t] * tf / (tf + norm))
            if not rows_parts:
                continue
            scores = np.bincount(np.concatenate(rows_parts), np.concatenate(score_parts), minlength=len(seg))
            scores *= view.alive[seg.name]
            top = min(k, int(np.count_nonzero(scores)))
            if top == 0:
                continue
            best = np.argpartition(-scores, top - 1)[:top]
            candidates.extend((float(scores[i]), seg.ids[int(i)]) for i in best)
        candidates.sort(key=lambda item: (-item[0], item[1]))
        return [(cid, score) for score, cid in candidates[:k] if score > 0]
