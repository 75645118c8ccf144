"""What the Evaluation page derives from stored runs (``eval.store.RunStore`` rows).

Metrics and their intervals come from :func:`eval.compare.summarize`. Rows of questions asked for
groups the viewer does not belong to are hidden from the drill-down (their answers and citations
could name restricted documents).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from rag.types import EVERYONE


def _valid(values: Sequence[Any]) -> list[float]:
    return [float(v) for v in values if isinstance(v, int | float) and not math.isnan(float(v))]


def latencies(rows: Sequence[Mapping[str, Any]], key: str = "total_s") -> list[float]:
    return _valid([(r.get("timings") or {}).get(key) for r in rows])


def visible(row: Mapping[str, Any], groups: frozenset[str]) -> bool:
    """A question asked with no groups, or only with groups the viewer has, may be shown."""
    asked = set(row.get("groups") or [])
    return asked <= (groups | {EVERYONE})


def side_by_side(
    runs: Mapping[str, Sequence[Mapping[str, Any]]], groups: frozenset[str]
) -> tuple[list[str], dict[str, dict[str, Mapping[str, Any]]], int]:
    """Question ids answered by every run (in the first run's order), each run's row, and how many were hidden."""
    by_run = {name: {str(r["question_id"]): r for r in rows} for name, rows in runs.items()}
    first = next(iter(runs.values()), [])
    common = [str(r["question_id"]) for r in first if all(str(r["question_id"]) in b for b in by_run.values())]
    shown = [q for q in common if all(visible(b[q], groups) for b in by_run.values())]
    return shown, by_run, len(common) - len(shown)
