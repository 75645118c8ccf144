"""What the Evaluation page computes from stored runs (``eval.store.RunStore`` rows).

Metric means come with a 95% bootstrap interval over questions; NaN ("could not judge") is left
out of the mean and counted apart. Rows of questions asked for groups the viewer does not belong
to are hidden from the drill-down (their answers and citations could name restricted documents).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rag.types import EVERYONE


@dataclass(frozen=True)
class MetricSummary:
    metric: str
    mean: float
    low: float
    high: float
    n: int
    nan: int


def _valid(values: Sequence[Any]) -> list[float]:
    return [float(v) for v in values if isinstance(v, int | float) and not math.isnan(float(v))]


def bootstrap_interval(values: Sequence[float], *, rounds: int = 1000, seed: int = 0) -> tuple[float, float]:
    """95% percentile bootstrap interval of the mean (seeded, so a page shows the same numbers twice)."""
    if not values:
        return math.nan, math.nan
    if len(values) == 1:
        return values[0], values[0]
    rng = random.Random(seed)
    n = len(values)
    means = sorted(sum(rng.choices(values, k=n)) / n for _ in range(rounds))
    return means[int(0.025 * rounds)], means[min(rounds - 1, int(0.975 * rounds))]


def summarize_metrics(rows: Sequence[Mapping[str, Any]]) -> list[MetricSummary]:
    names = sorted({name for r in rows for name in (r.get("metrics") or {})})
    out = []
    for name in names:
        raw = [(r.get("metrics") or {}).get(name) for r in rows if name in (r.get("metrics") or {})]
        values = _valid(raw)
        low, high = bootstrap_interval(values)
        mean = sum(values) / len(values) if values else math.nan
        out.append(MetricSummary(name, mean, low, high, len(values), len(raw) - len(values)))
    return out


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
