"""The evaluation suite's root error, under :class:`rag.errors.FuenteError`.

Its subclasses live next to the code that raises them: ``eval.datasets.DatasetError``,
``eval.contenders.ContenderError``, ``eval.store.RunNotFound``.
"""

from __future__ import annotations

from rag.errors import FuenteError


class EvalError(FuenteError):
    """The evaluation suite could not run (a dataset, a judge, a run or a report)."""
