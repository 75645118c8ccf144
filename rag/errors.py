"""One root exception for Fuente, with structured subclasses.

Every message is written for the person who reads it: one sentence saying what happened and
what to do. Third-party errors are wrapped with ``raise ... from e`` so the cause stays in logs.
"""

from __future__ import annotations


class FuenteError(Exception):
    """Root of every error Fuente raises on purpose."""


class ConfigError(FuenteError):
    """Settings are missing, malformed or contradictory."""


class ModelError(FuenteError):
    """A model could not be provisioned, verified or loaded."""


class StoreError(FuenteError):
    """The vector or keyword index could not be reached or written."""


class IndexLockedError(StoreError):
    """Another process is already writing to this embedded index."""


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


class GenerationError(FuenteError):
    """The language model could not produce an answer."""


class LLMUnavailable(GenerationError):
    """The model server cannot be reached."""


class LLMTimeout(GenerationError):
    """The model server did not answer in time."""


class LLMOverloaded(GenerationError):
    """The model server is busy (429 or 503) even after retries."""


class LLMRejected(GenerationError):
    """The model server refused the request (too long for its context, bad parameters)."""


class LLMStreamBroken(GenerationError):
    """The answer stopped half-way: the connection or the server failed mid-stream."""


class PolicyError(FuenteError):
    """Something was about to leave for a cloud model that the policy keeps local."""
