"""LibreOffice headless as a sandboxed converter: legacy formats in, modern Office files out.

Each conversion runs ``soffice`` in a subprocess of its own session with a time limit, a private
user profile (``-env:UserInstallation``) in a temporary folder that is removed afterwards, a
scrubbed environment (``HOME`` is that folder, no proxy variables), and, where the kernel allows
it, no network at all (a new network namespace via ``unshare``). The untrusted file name never
reaches the command line: the bytes are copied to ``input.<suffix>`` first.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from ingest.errors import IngestError, ParseFailure, SkipFile

# target suffix -> LibreOffice export filter
_FILTERS = {
    "docx": "docx:MS Word 2007 XML",
    "xlsx": "xlsx:Calc MS Excel 2007 XML",
    "pptx": "pptx:Impress MS PowerPoint 2007 XML",
    # The other way, for making test files of the legacy formats from modern ones.
    "odt": "odt:writer8",
    "doc": "doc:MS Word 97",
    "rtf": "rtf:Rich Text Format",
    "xls": "xls:MS Excel 97",
    "ppt": "ppt:MS PowerPoint 97",
    "odp": "odp:impress8",
    "ods": "ods:calc8",
    "fodt": "fodt:OpenDocument Text Flat XML",
}

_SAFE_ENV = ("PATH", "LANG", "LC_ALL", "TZ")

CONVERSION_SECONDS: list[float] = []
"""Wall time of each conversion in this process (bench/ingestion.py times the stage from it)."""


class ConverterUnavailable(IngestError):
    """LibreOffice is not installed."""


def soffice_path() -> str | None:
    """The LibreOffice binary, if installed (``FUENTE_SOFFICE`` overrides the search)."""
    override = os.environ.get("FUENTE_SOFFICE")
    if override:
        return override if Path(override).is_file() else None
    return shutil.which("soffice") or shutil.which("libreoffice")


@functools.cache
def _network_jail() -> tuple[str, ...]:
    """``unshare`` arguments that cut the network off, if this kernel lets us use them."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return ()
    for args in ((unshare, "--net"), (unshare, "--net", "--map-root-user")):
        try:
            ok = subprocess.run([*args, "true"], capture_output=True, timeout=10, check=False).returncode == 0
        except (OSError, subprocess.SubprocessError):
            ok = False
        if ok:
            return args
    return ()


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (soffice starts soffice.bin), from /proc; [] where there is none."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else []:
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _kill_tree(process: subprocess.Popen[bytes]) -> None:
    for pid in [*_descendants(process.pid), process.pid]:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    process.wait(5)


def convert(source: Path, suffix: str, target: str, timeout_s: float, label: str) -> tuple[bytes, float]:
    """Convert ``source`` (whose real format is ``suffix``) to ``target`` (docx, xlsx or pptx).

    Args:
        source: The file to convert.
        suffix: Its suffix with the dot, as the user named it (``".doc"``); it picks the import filter.
        target: ``"docx"``, ``"xlsx"`` or ``"pptx"`` (or a legacy format, to make test files).
        timeout_s: Time limit of the conversion.
        label: How to name the format in messages.

    Returns:
        The converted file's bytes and the seconds the conversion took.

    Raises:
        ConverterUnavailable: LibreOffice is not installed.
        SkipFile: The file is password-protected.
        ParseFailure: LibreOffice failed, produced nothing, or overran the time limit.
    """
    soffice = soffice_path()
    if soffice is None:
        raise ConverterUnavailable("LibreOffice (soffice) is not installed.")
    with tempfile.TemporaryDirectory(prefix="fuente-soffice-") as tmp:
        work = Path(tmp)
        src = work / f"input{suffix}"
        shutil.copyfile(source, src)
        out = work / "out"
        profile = work / "profile"
        env = {k: os.environ[k] for k in _SAFE_ENV if k in os.environ}
        env.update(HOME=str(work), TMPDIR=str(work), SAL_USE_VCLPLUGIN="svp")
        command = [
            *_network_jail(),
            soffice,
            "--headless",
            "--invisible",
            "--norestore",
            "--nologo",
            "--nolockcheck",
            "--nodefault",
            "--nofirststartwizard",
            f"-env:UserInstallation={profile.as_uri()}",
            "--convert-to",
            _FILTERS[target],
            "--outdir",
            str(out),
            str(src),
        ]
        started = time.monotonic()
        process = subprocess.Popen(
            command,
            cwd=work,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            # Same process group as the parse worker: when the pool kills a worker that overran its time
            # limit, LibreOffice goes with it. Its own time limit kills the process tree below it.
        )
        try:
            _, stderr = process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired as e:
            _kill_tree(process)
            raise ParseFailure(
                f"LibreOffice took longer than {timeout_s:g} s to convert the {label} file and was stopped; "
                "raise ingest.convert_timeout_s or save the file in a modern format."
            ) from e
        seconds = time.monotonic() - started
        CONVERSION_SECONDS.append(seconds)
        result = out / f"input.{target}"
        if not result.is_file() or result.stat().st_size == 0:
            detail = stderr.decode("utf-8", "replace").lower()
            if "password" in detail:
                raise SkipFile(
                    f"The {label} file is password-protected; remove the password or ingest an unprotected copy."
                )
            raise ParseFailure(
                f"LibreOffice could not convert the {label} file (exit code {process.returncode}); open and re-save "
                "it in its application, or ingest a fresh copy."
            )
        return result.read_bytes(), seconds
