"""An ingestion killed with SIGKILL at any point, then re-run, ends with exactly the right chunks.

The runs are real `fuente ingest` processes; kills land right after one of their commits and at
random moments in between. The final state is compared with a clean ingestion of the same files
(chunk ids are deterministic, so the sets must be equal) in Chroma, BM25 and the records.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag.index import Index
from rag.settings import REPO_ROOT, load_settings
from tests.helpers import TEST_MODELS

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def env_for(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "FUENTE_HOME": str(home),
            "FUENTE__PATHS__MODELS": str(TEST_MODELS),
            # Tiny flushes: many commits, so kills land between and inside them.
            "FUENTE__INGEST__FLUSH_CHUNKS": "3",
            "FUENTE_PROFILE": "test",
        }
    )
    return env


def start(home: Path, corpus: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "ui.cli", "ingest", str(corpus), "--json"],
        cwd=REPO_ROOT,
        env=env_for(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def generation(home: Path) -> int:
    db = home / "fuente.db"
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            row = conn.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
    except sqlite3.OperationalError:
        return 0
    return int(row[0]) if row else 0


def kill_mid_run(home: Path, corpus: Path, rng: random.Random) -> None:
    """Start an ingestion and SIGKILL it just after a commit or at a random moment of its writes."""
    before = generation(home)
    proc = start(home, corpus)
    deadline = time.monotonic() + 120
    while proc.poll() is None and generation(home) <= before and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(rng.choice([0.0, 0.0, rng.uniform(0.0, 0.6)]))
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def run_to_end(home: Path, corpus: Path) -> None:
    proc = start(home, corpus)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr.decode()


def state(home: Path) -> dict[str, object]:
    settings = load_settings("test", environ={"FUENTE_HOME": str(home), "FUENTE__PATHS__MODELS": str(TEST_MODELS)})
    index = Index(settings)
    try:
        chroma = index.vectors.ids_by_access()
        records = index.records.chunk_ids_by_access()
        files = {row[0]: row[1] for row in index.records.conn.execute("SELECT path, status FROM files")}
        return {
            "chroma": {k: v for k, v in chroma.items() if v},
            "chroma_count": index.vectors.count(),
            "bm25": index.keywords.chunk_ids(),
            "records": records,
            "files": files,
        }
    finally:
        index.close()


def test_sigkill_at_any_point_then_rerun_is_exact(tmp_path: Path, corpus: Path) -> None:
    rng = random.Random(20261126)
    home = tmp_path / "home"
    for _ in range(4):
        kill_mid_run(home, corpus, rng)
    # Change the corpus under a half-finished index: a deletion, an edit, a move.
    (corpus / "internal" / "politica_viajes.md").unlink()
    faq = corpus / "public" / "faq_empresa.md"
    faq.write_text(faq.read_text(encoding="utf-8") + "\n\n## Aparcamiento\n\nHay 40 plazas.\n", encoding="utf-8")
    (corpus / "internal" / "remote_work_policy.txt").rename(corpus / "public" / "remote_work_policy.txt")
    for _ in range(2):
        kill_mid_run(home, corpus, rng)
    run_to_end(home, corpus)

    reference = tmp_path / "reference"
    run_to_end(reference, corpus)
    got, want = state(home), state(reference)
    assert got["records"] == want["records"]
    assert got["chroma"] == want["records"]
    assert got["chroma_count"] == want["chroma_count"]  # no duplicates hiding under one id
    all_ids = set().union(*want["records"].values())  # type: ignore[union-attr]
    assert got["bm25"] == all_ids
    assert got["files"] == want["files"]
