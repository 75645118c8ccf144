"""Timing helpers of the ingestion benchmark (bench/ingestion.py): wall seconds by stage, and other
processes' share of the CPUs while a side runs."""

from __future__ import annotations

import os
import resource
import time
from collections import defaultdict
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import numpy as np

from rag.embedders import Embedder, takes_token_ids

P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class StageClock:
    """Wall seconds spent inside wrapped calls, by stage name."""

    seconds: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))

    def timed(self, stage: str, fn: Callable[P, R]) -> Callable[P, R]:
        """``fn``, adding the time of each call to ``stage``."""

        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[stage] += time.perf_counter() - start

        return wrapper

    def timed_iterator(
        self, stage: str, fn: Callable[P, Generator[R, None, None]]
    ) -> Callable[P, Generator[R, None, None]]:
        """``fn``, a function returning a generator, adding the time of each ``next`` to ``stage``.

        For the pipeline's parsed files: what the caller waits for them, not what the workers spend.
        Closing the wrapper closes the wrapped generator (the pipeline closes its parse pool this way).
        """

        def wrapper(*args: P.args, **kwargs: P.kwargs) -> Generator[R, None, None]:
            items = fn(*args, **kwargs)
            try:
                while True:
                    start = time.perf_counter()
                    try:
                        item = next(items)
                    except StopIteration:
                        return
                    finally:
                        self.seconds[stage] += time.perf_counter() - start
                    yield item
            finally:
                items.close()

        return wrapper


class TimedStore:
    """Forwards to a store; calls of the named methods are timed into their stages."""

    def __init__(self, inner: object, clock: StageClock, stages: dict[str, str]) -> None:
        self._inner = inner
        self._clock = clock
        self._stages = stages

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        return self._clock.timed(self._stages[name], attr) if name in self._stages else attr


class TimedEmbedder:
    """An :class:`~rag.embedders.Embedder` that forwards to another and times encode and tokenize."""

    def __init__(self, inner: Embedder, clock: StageClock) -> None:
        self._inner = inner
        self._clock = clock

    @property
    def model_id(self) -> str:
        return self._inner.model_id

    @property
    def dimension(self) -> int:
        return self._inner.dimension

    @property
    def max_tokens(self) -> int:
        return self._inner.max_tokens

    def count_tokens(self, text: str) -> int:
        # Timed inline rather than through StageClock.timed: the chunker calls this tens of
        # thousands of times, and a wrapper per call would bill its own cost to the pipeline.
        start = time.perf_counter()
        tokens = self._inner.count_tokens(text)
        self._clock.seconds["tokenize"] += time.perf_counter() - start
        return tokens

    def count_tokens_many(self, texts: list[str]) -> list[int]:
        start = time.perf_counter()
        counts = self._inner.count_tokens_many(texts)
        self._clock.seconds["tokenize"] += time.perf_counter() - start
        return counts

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        start = time.perf_counter()
        vectors = self._inner.embed_documents(texts)
        self._clock.seconds["encode"] += time.perf_counter() - start
        return vectors

    # An embedder that takes token ids (rag.embedders.TokenIdsEmbedder) gets them from the chunker.
    @property
    def takes_token_ids(self) -> bool:
        return takes_token_ids(self._inner)

    def token_ids_many(self, texts: list[str]) -> list[tuple[int, ...]]:
        assert takes_token_ids(self._inner)
        start = time.perf_counter()
        ids = self._inner.token_ids_many(texts)
        self._clock.seconds["tokenize"] += time.perf_counter() - start
        return ids

    def embed_token_ids(self, token_ids: Sequence[Sequence[int]]) -> np.ndarray:
        assert takes_token_ids(self._inner)
        start = time.perf_counter()
        vectors = self._inner.embed_token_ids(token_ids)
        self._clock.seconds["encode"] += time.perf_counter() - start
        return vectors

    def embed_query(self, text: str) -> np.ndarray:
        return self._inner.embed_query(text)


class CpuMeter:
    """CPU time that processes other than this one and its children took over an interval.

    Parse workers are forked from the fork server, not from this process, so their CPU counts as other
    processes' (about 1% of the CPUs in the bench's pipeline side).

    Both sides are timed on a shared machine; when something else runs during one side only, the
    ratio moves for reasons unrelated to the pipeline. This says how much of that happened.
    """

    _BUSY_FIELDS = (0, 1, 2, 5, 6, 7)  # user nice system irq softirq steal; idle and iowait are not busy

    def __init__(self) -> None:
        self._start = self._sample()
        self._wall = time.perf_counter()

    @classmethod
    def _sample(cls) -> tuple[float, float] | None:
        try:
            first = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        except (OSError, IndexError):
            return None
        busy = sum(int(first[i]) for i in cls._BUSY_FIELDS) / os.sysconf("SC_CLK_TCK")
        ours = sum(
            getattr(resource.getrusage(who), f)
            for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
            for f in ("ru_utime", "ru_stime")
        )
        return busy, ours

    def others_share(self) -> float | None:
        """Share of all CPUs' capacity used by other processes since construction, or None off Linux."""
        end, wall = self._sample(), time.perf_counter() - self._wall
        if self._start is None or end is None or wall <= 0:
            return None
        others = (end[0] - self._start[0]) - (end[1] - self._start[1])
        return round(max(others, 0.0) / (wall * (os.cpu_count() or 1)), 3)
