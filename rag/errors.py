"""One root exception for Fuente, and the core's families of errors.

Every message is written for the person who reads it: one sentence saying what happened and
what to do. Third-party errors are wrapped with ``raise ... from e`` so the cause stays in logs.

The families the whole core raises live here; each more particular error lives next to the code
that raises it, under one of them or under the root:

- :class:`StoreError` > ``rag.index.lock.IndexLockedError`` > ``ui.runtime.WriterBusyError``
- ``ingest.errors``: ``IngestError`` (with ``ingest.parsing``'s ``OcrUnavailable`` and
  ``ConverterUnavailable``), ``FileRejected`` > ``SkipFile``, ``ParseFailure``
- ``eval.errors.EvalError`` > ``DatasetError``, ``ContenderError``, ``RunNotFound``
- ``ui.api_service.ApiError`` (an HTTP status with its sentence)
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
