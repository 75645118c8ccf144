"""Abstention on SQuAD-es v2.0: does the real assistant decline the unanswerable questions?

A seeded random sample, half answerable and half unanswerable (``is_impossible``), is asked of the
real assistant (``rag.app.build_app``: retrieval, prompt, local model, guard) over a throwaway index
holding the sampled questions' paragraphs plus as many other v2.0 paragraphs as distractors
(indexing all 1,192 would take longer than asking). Rows are appended as they complete, so a
stopped run resumes.
"""

from __future__ import annotations

import json
import logging
import random
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from eval.datasets import load_dataset
from eval.metrics import abstention, contains_any, mean_ignoring_nan
from eval.published.retrieval import benchmark_settings, build_paragraph_index, paragraphs_of, prefixed

log = logging.getLogger(__name__)


def run_abstention(
    shared: Path | None,
    out_dir: Path,
    sample: int,
    base_url: str | None,
    model: str | None,
    contender: str | None = None,
) -> dict[str, Any]:
    """Asks the sample, writes ``<out_dir>/abstention.json`` (``abstention.<contender>.json`` for a contender
    of ``configs/contenders.yaml``, whose answer settings overlay the configured ones: old vs new protocol)."""
    from eval.contenders import contender_settings, load_book
    from rag.app import build_app
    from rag.assistant import User
    from rag.embedders import build_embedder
    from rag.types import EVERYONE

    questions = prefixed("v2", load_dataset("squad-es-v2", shared))
    rng = random.Random(0)
    answerable = [q for q in questions if q.answerable]
    unanswerable = [q for q in questions if not q.answerable]
    chosen = rng.sample(unanswerable, sample // 2) + rng.sample(answerable, sample - sample // 2)
    all_paragraphs = paragraphs_of(questions)
    wanted = {q.doc_id for q in chosen if q.doc_id}
    others = [d for d in all_paragraphs if d not in wanted]
    wanted |= set(rng.sample(others, min(len(others), len(wanted))))
    paragraphs = {d: t for d, t in all_paragraphs.items() if d in wanted}

    llm: dict[str, Any] = {"timeout_s": 600.0}
    if base_url:
        llm["base_url"] = base_url
    if model:
        llm["model"] = model
    workdir = Path(tempfile.mkdtemp(prefix="fuente-bench-abstention-"))
    name = f"abstention.{contender}" if contender else "abstention"
    overlay = load_book().get(contender) if contender else None
    rows_file = out_dir / f"{name}.rows.jsonl"
    out_dir.mkdir(parents=True, exist_ok=True)
    done = {}
    if rows_file.exists():
        for line in rows_file.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            done[row["id"]] = row
    try:

        def settings_for(home: Path) -> Any:
            s = benchmark_settings(home)
            if overlay is not None:
                s = contender_settings(s, overlay)
            return s.model_copy(
                update={
                    "llm": s.llm.model_copy(update={"local": s.llm.local.model_copy(update=llm)}),
                    # One question, one language: no LLM translation call, as in the retrieval numbers.
                    "retrieval": s.retrieval.model_copy(update={"translate_query": False}),
                }
            )

        embedder = build_embedder(settings_for(workdir / "home"))
        pindex = build_paragraph_index(paragraphs, settings_for, embedder, workdir)
        app = build_app(pindex.settings, start_local_server=False, embedder=embedder)
        try:
            with rows_file.open("a", encoding="utf-8") as f:
                for n, q in enumerate(chosen):
                    if q.id in done:
                        continue
                    started = time.monotonic()
                    answer = app.assistant.ask(q.question, User(None, frozenset({EVERYONE})))
                    row = {
                        "id": q.id,
                        "answerable": q.answerable,
                        "refused": answer.refused,
                        "text": answer.text,
                        "generated_text": answer.generated_text,
                        "correct": contains_any(answer.text, q.accepted_answers) if q.answerable else None,
                        "model": answer.model,
                        "prompt_version": answer.prompt_version,
                        # The guard's signals and reason: the rows are a dev set for its thresholds.
                        "reason": answer.reason,
                        "signals": {k: v for k, v in answer.signals.items() if v == v},
                        "seconds": time.monotonic() - started,
                    }
                    done[q.id] = row
                    f.write(json.dumps(row, ensure_ascii=False) + "\n")
                    f.flush()
                    log.info(
                        "abstention %d/%d: refused=%s answerable=%s", n + 1, len(chosen), answer.refused, q.answerable
                    )
        finally:
            app.index.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    rows = [done[q.id] for q in chosen if q.id in done]
    answered_right = [
        float(r["correct"]) if not r["refused"] else 0.0 for r in rows if r["answerable"] and r["correct"] is not None
    ]
    result = {
        "contender": contender or "as configured",
        "n": len(rows),
        "paragraphs": len(paragraphs),
        "model": rows[0]["model"] if rows else "",
        "prompt_version": rows[0]["prompt_version"] if rows else "",
        "scores": abstention([r["refused"] for r in rows], [r["answerable"] for r in rows]),
        "answered_correct": mean_ignoring_nan(answered_right)[0],
        "seconds_per_question": sum(r["seconds"] for r in rows) / max(1, len(rows)),
    }
    (out_dir / f"{name}.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    return result
