"""One writer per index: an OS file lock, released by the kernel even on SIGKILL."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from rag.errors import StoreError


class IndexLockedError(StoreError):
    """Another process is already writing to this index."""


def _holder(info: Path) -> str:
    try:
        data = json.loads(info.read_text())
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(data["since"]))
        return f"process {data['pid']} since {started}"
    except (OSError, ValueError, KeyError):
        return "another process"


@contextmanager
def writer_lock(lock_file: Path, *, wait_s: float = 0.0) -> Iterator[None]:
    """Hold the index's writer lock; wait up to ``wait_s`` seconds (forever when negative).

    Raises:
        IndexLockedError: another writer holds it.
    """
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    info = lock_file.with_suffix(".owner")
    lock = FileLock(str(lock_file))
    try:
        lock.acquire(timeout=wait_s)
    except Timeout as e:
        raise IndexLockedError(
            f"Another ingestion ({_holder(info)}) is writing to this index; wait for it to finish or run with --wait."
        ) from e
    try:
        info.write_text(json.dumps({"pid": os.getpid(), "since": time.time()}))
        yield
    finally:
        lock.release()
