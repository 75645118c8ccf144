"""One writer per index: `fuente ingest` in real subprocesses against a lock held elsewhere, or by each other."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingest.jobs import JobLog
from rag.index import Index
from rag.index.lock import writer_lock
from rag.settings import REPO_ROOT, Settings
from tests.helpers import TEST_MODELS, SettingsFactory, index_state

pytestmark = pytest.mark.integration

LOCKED_EXIT = 3


def fuente_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FUENTE")}
    env.update(FUENTE_HOME=str(settings.paths.home), FUENTE_PROFILE="test", FUENTE__PATHS__MODELS=str(TEST_MODELS))
    return env


def start_fuente(settings: Settings, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "ui.cli", *args],
        cwd=REPO_ROOT,
        env=fuente_env(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str], timeout: float = 120) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"fuente did not finish in {timeout:.0f} s:\n{err[-2000:]}")
    return proc.returncode, out, " ".join(err.split())  # rich wraps at 80 columns off a terminal


def test_a_held_lock_makes_ingest_exit_3_and_write_nothing(make_settings: SettingsFactory, small_corpus: Path) -> None:
    settings = make_settings()
    with writer_lock(settings.paths.lock_file):
        code, _, err = finish(start_fuente(settings, "ingest", str(small_corpus)))
    assert code == LOCKED_EXIT, err
    assert "Another ingestion" in err and "is writing to this index" in err
    assert "wait for it to finish or run with --wait" in err
    assert f"process {os.getpid()}" in err  # names who holds it
    assert "Traceback" not in err
    assert index_state(settings) == {"chroma": set(), "bm25": set(), "records": set()}
    index = Index(settings)
    try:
        assert JobLog(index.records.conn).list() == []
    finally:
        index.close()


def test_wait_takes_the_lock_once_it_is_released(make_settings: SettingsFactory, small_corpus: Path) -> None:
    settings = make_settings()
    with writer_lock(settings.paths.lock_file):
        proc = start_fuente(settings, "ingest", str(small_corpus), "--wait", "30")
        # The records database is opened just before the lock is tried: from then on it is waiting.
        deadline = time.monotonic() + 60
        while not settings.paths.records_db.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "fuente never opened its index"
            time.sleep(0.1)
        time.sleep(2)
        assert proc.poll() is None, "fuente --wait 30 gave up while the lock was held"
        released = time.time()
    code, _, err = finish(proc)
    assert code == 0, err
    index = Index(settings)
    try:
        (job,) = JobLog(index.records.conn).list()
    finally:
        index.close()
    assert job.status == "completed" and job.counts["added"] == 3
    assert job.started >= released  # the job began only after the lock came free
    state = index_state(settings)
    assert state["chroma"] == state["bm25"] == state["records"] != set()


def test_two_concurrent_ingests_leave_one_consistent_index(make_settings: SettingsFactory, small_corpus: Path) -> None:
    settings = make_settings()
    procs = [start_fuente(settings, "ingest", str(small_corpus)) for _ in range(2)]
    results = [finish(p) for p in procs]
    codes = sorted(code for code, _, _ in results)
    assert codes in ([0, 0], [0, LOCKED_EXIT]), results
    for code, _, err in results:
        if code == LOCKED_EXIT:
            assert "Another ingestion" in err and "--wait" in err, err
    index = Index(settings)
    try:
        done = JobLog(index.records.conn).list()
        files = index.records.conn.execute("SELECT path, status FROM files").fetchall()
    finally:
        index.close()
    # Each process that got the lock ran one completed job; the one refused ran none.
    assert sorted(j.status for j in done) == ["completed"] * codes.count(0)
    assert sum(j.counts["added"] for j in done) == 3  # a second writer found everything unchanged
    assert {(Path(p).name, s) for p, s in files} == {(p.name, "indexed") for p in small_corpus.iterdir()}
    state = index_state(settings)
    assert state["chroma"] == state["bm25"] == state["records"] != set()


_OPEN_STORE = """
import sys, time
from pathlib import Path
import chromadb
from rag.settings import load_settings
from rag.index.chroma_store import ChromaStore
settings = load_settings("test", environ={"FUENTE_HOME": sys.argv[1]})
(Path(sys.argv[3]) / str(id(settings))).touch()
while not Path(sys.argv[2]).exists():  # imports done: open together with the others
    time.sleep(0.001)
ChromaStore(settings.index, settings.paths)._collection("everyone", create=True)
"""


def test_processes_opening_a_new_embedded_index_at_once_all_succeed(tmp_path: Path) -> None:
    """Chroma creates its SQLite file on first open: three processes opening a new index together (what two
    `fuente ingest` on a new home do) failed with InternalError before opening was made one at a time."""
    for round_ in range(5):
        home, go, ready = tmp_path / str(round_), tmp_path / f"go{round_}", tmp_path / f"ready{round_}"
        ready.mkdir()
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", _OPEN_STORE, str(home), str(go), str(ready)],
                cwd=REPO_ROOT,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(3)
        ]
        deadline = time.monotonic() + 120  # every process has imported chromadb and waits for the go
        while len(list(ready.iterdir())) < 3 and time.monotonic() < deadline and all(p.poll() is None for p in procs):
            time.sleep(0.01)
        go.touch()
        errors = [err for p in procs for _, err in [p.communicate(timeout=120)] if p.returncode]
        assert not errors, errors[0]
