"""The ingestion side's errors, under :class:`rag.errors.FuenteError`.

A single bad file is not an error of the job: parsers raise :class:`SkipFile` or
:class:`ParseFailure`, the pipeline records the file with the reason and goes on. :class:`IngestError`
is for a job that cannot run at all (a parser's library missing, the parse pool broken).
"""

from __future__ import annotations

from rag.errors import FuenteError


class IngestError(FuenteError):
    """An ingestion job could not run (not a single bad file: those are recorded, not raised)."""


class FileRejected(FuenteError):
    """A single file was not ingested.

    Attributes:
        status: ``"skipped"`` for files that are fine to leave out (empty, password-protected,
            unsupported type) or ``"failed"`` for files that look broken.
        reason: one sentence for the knowledge manager.
    """

    def __init__(self, reason: str, *, status: str = "skipped") -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class SkipFile(FileRejected):
    """The file is left out on purpose (empty, encrypted, unsupported)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, status="skipped")


class ParseFailure(FileRejected):
    """The file claims a format but its content is broken."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, status="failed")
