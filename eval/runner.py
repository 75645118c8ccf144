"""Runs contenders over the same questions and stores what each answered and how well.

For each contender: its settings (the base settings with its overlay, temperature 0), the real
assistant (:func:`rag.app.build_app`), every question asked as a user with the question's groups,
the :class:`~rag.assistant.Answer` recorded, and per-question metrics computed with
:mod:`eval.metrics`. An optional judge (an LLM) adds claim-level correctness and faithfulness,
repeated ``judge_passes`` times (mean and spread kept). Rows go to the :class:`~eval.store.RunStore`
as they complete, so an interrupted run keeps what it did.

What was retrieved is captured by wrapping the assistant's retriever (asking it for ten chunks and
handing the assistant its usual ``k``), so retrieval metrics rank exactly what the assistant saw.
"""

from __future__ import annotations

import itertools
import logging
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from eval import metrics as M
from eval.contenders import Contender, ContenderBook, answering_models, check_ready, contender_settings
from eval.datasets import EvalSample
from eval.errors import EvalError
from eval.store import RunStore, git_commit
from rag.assistant import Answer, User, build_messages
from rag.embedders import Embedder
from rag.errors import GenerationError, LLMUnavailable
from rag.retrieval import HybridRetriever, Retrieved
from rag.settings import Settings
from rag.types import ScoredChunk
from rag.verify import strip_citations

log = logging.getLogger(__name__)
RANK_DEPTH = 10  # MRR@10 and nDCG@10 need ten ranked chunks


class AnswerJudge(Protocol):
    """What the runner needs from an LLM judge (:class:`eval.judges.Judge` provides it)."""

    def supported_share(self, answer: str, context: str, language: str = "en") -> float:
        """Share of the answer's claims the context supports; NaN when it cannot judge."""
        ...

    def claim_scores(
        self, answer: str, reference: str, context: str | None = None, language: str = "en"
    ) -> dict[str, Any]:
        """Claim precision/recall/F1 against the reference (``precision``, ``recall``, ``f1``), and ``claims``."""
        ...


def _fresh(judge: AnswerJudge) -> None:
    """Forget the judge's cached verdicts, so a repeated pass really asks again."""
    for cache in ("_claims_cache", "_check_cache"):
        found = getattr(judge, cache, None)
        if isinstance(found, dict):
            found.clear()


@dataclass(frozen=True)
class Progress:
    """One step of a run, for a progress bar (CLI) or a status line (the Streamlit page)."""

    contender: str
    run_id: str
    done: int
    total: int
    question_id: str
    seconds: float
    error: str | None = None


ProgressFn = Callable[[Progress], None]


class RecordingRetriever(HybridRetriever):
    """The assistant's retriever, asked for ``RANK_DEPTH`` chunks; keeps the full ranking of the last call."""

    def __init__(self, inner: HybridRetriever) -> None:
        super().__init__(inner.index, inner.embedder, inner.params)
        self.last: Retrieved | None = None

    def retrieve(
        self, query: str, user_groups: frozenset[str], *, extra_queries: tuple[str, ...] = (), k: int | None = None
    ) -> Retrieved:
        want = k or self.params.k
        full = super().retrieve(query, user_groups, extra_queries=extra_queries, k=max(want, RANK_DEPTH))
        self.last = full
        return Retrieved(full.chunks[:want], full.best_dense, full.queries)


# --------------------------------------------------------------------------- choosing questions


def kind_of(sample: EvalSample) -> str:
    """answerable, unanswerable or restricted: the strata a sample is drawn from."""
    if any(t.startswith("restricted") for t in sample.tags):
        return "restricted"
    return "answerable" if sample.answerable else "unanswerable"


def select(samples: Sequence[EvalSample], limit: int | None) -> list[EvalSample]:
    """The first ``limit`` samples taken round-robin over kinds, so a small run still has every kind."""
    if not limit or limit >= len(samples):
        return list(samples)
    kinds: dict[str, list[EvalSample]] = {}
    for s in samples:
        kinds.setdefault(kind_of(s), []).append(s)
    mixed = [s for group in itertools.zip_longest(*kinds.values()) for s in group if s is not None]
    return mixed[:limit]


# --------------------------------------------------------------------------- per-question metrics


def gold_key(uri: str, gold: Sequence[str]) -> str:
    """The gold source a source URI is (gold paths are relative to the corpus root), else the URI itself."""
    norm = uri.replace("\\", "/")
    for g in gold:
        g_norm = g.replace("\\", "/").lstrip("./")
        if norm == g_norm or norm.endswith("/" + g_norm):
            return g
    return uri


def gold_of(sample: EvalSample) -> tuple[str, ...]:
    return sample.gold_sources or ((sample.doc_id,) if sample.doc_id else ())


def question_metrics(sample: EvalSample, answer: Answer | None, ranked_uris: Sequence[str], k: int) -> dict[str, float]:
    """The metrics of one question that need no judge. Absent: does not apply; NaN: could not judge.

    Args:
        sample: the question and its gold data.
        answer: what the assistant returned; None when it failed (every applicable metric is NaN).
        ranked_uris: source URIs of the retrieved chunks, best first (up to ``RANK_DEPTH``).
        k: how many chunks the assistant gave the model.
    """
    out: dict[str, float] = {}
    gold = gold_of(sample)
    nan = math.nan
    if gold:
        ranked = [gold_key(u, gold) for u in ranked_uris]
        out["recall@k"] = M.recall_at_k(ranked, gold, k) if answer else nan
        out["mrr@10"] = M.mrr_at_k(ranked, gold, 10) if answer else nan
        out["ndcg@10"] = M.ndcg_at_k(ranked, gold, 10) if answer else nan
    shown = strip_citations(answer.text) if answer else ""
    if sample.answerable:
        refs = [*sample.accepted_answers, *([sample.reference_answer] if sample.reference_answer else [])]
        if refs:
            out["exact_match"] = M.exact_match(shown, refs) if answer else nan
            out["token_f1"] = M.token_f1(shown, refs) if answer else nan
        if sample.accepted_answers:
            out["contains_answer"] = M.contains_any(shown, sample.accepted_answers) if answer else nan
        if gold:
            cited = [gold_key(c.source_uri, gold) for c in answer.citations] if answer else []
            out["citation_recall"] = M.citation_recall(cited, gold) if answer else nan
    out["refusal_correct"] = float(answer.refused != sample.answerable) if answer else nan
    if answer is None:
        return out
    # The outcomes a user sees: a right answer citing its source, a refusal where one is due, a wrong one shown.
    right = bool(sample.accepted_answers) and M.contains_any(shown, sample.accepted_answers) > 0
    cites_gold = not gold or any(gold_key(c.source_uri, gold) in gold for c in answer.citations)
    if sample.answerable:
        out["answered_correct"] = float(not answer.refused and right and cites_gold)
        if "cross-language" in sample.tags:
            out["cross_language_correct"] = out["answered_correct"]
    else:
        out["refused_when_due"] = float(answer.refused)
    out["shown_wrong"] = float(not answer.refused and (not sample.answerable or not right))
    claims = [s for s in answer.sentences if s.kind == "claim"]
    if claims:
        # The offline support scorer of the answer guard, on what the model wrote (before any refusal).
        out["support_offline"] = sum(1 for s in claims if s.supported) / len(claims)
    if not answer.refused:
        pairs: list[bool | None] = []
        for s in claims:
            valid = [n for n in s.citations if n not in set(s.invalid_citations)]
            support = s.support
            judged = support is not None and not (isinstance(support, float) and math.isnan(support))
            pairs += [bool(s.supported) if judged else None for _ in valid]
            pairs += [False for _ in s.invalid_citations]
        if pairs:
            out["citation_precision"] = M.citation_precision(pairs)
    out["latency_s"] = float(answer.timings.get("total_s", nan))
    out["ttft_s"] = float(answer.timings.get("first_token_s", nan))
    out["prompt_tokens"] = float(answer.tokens.get("prompt", 0)) if answer.tokens.get("prompt") else nan
    out["completion_tokens"] = float(answer.tokens.get("completion", 0)) if answer.tokens.get("prompt") else nan
    return out


def judge_passes(
    judge: AnswerJudge, sample: EvalSample, answer: Answer, context: str, passes: int
) -> dict[str, dict[str, Any]]:
    """Claim-level scores and faithfulness, ``passes`` times: per metric the mean, spread (stdev) and each pass."""
    runs: list[dict[str, float]] = []
    model_refused = answer.verdict == "refusal" and not any(s.kind == "claim" for s in answer.sentences)
    language = answer.language or sample.language
    claims: list[Any] = []
    for n in range(max(1, passes)):
        if n:
            _fresh(judge)
        scores: dict[str, float] = {}
        if answer.generated_text.strip() and not model_refused:
            # What the model wrote, before the guard could replace it: the model's own hallucination rate.
            scores["faithfulness_judge"] = float(judge.supported_share(answer.generated_text, context, language))
        if sample.answerable and sample.reference_answer:
            if answer.refused:
                # Nothing was claimed: no precision to speak of, and none of the reference was recalled.
                scores.update({"claim_recall": 0.0, "claim_f1": 0.0})
            else:
                got = judge.claim_scores(strip_citations(answer.text), sample.reference_answer, context, language)
                for name in ("precision", "recall", "f1"):
                    scores[f"claim_{name}"] = float(got.get(name, math.nan))
                claims = list(got.get("claims", []))
        runs.append(scores)
    out: dict[str, dict[str, Any]] = {}
    for name in dict.fromkeys(n for r in runs for n in r):
        values = [r.get(name, math.nan) for r in runs]
        mean, n_valid, _ = M.mean_ignoring_nan(values)
        valid = [v for v in values if not math.isnan(v)]
        spread = statistics.pstdev(valid) if len(valid) > 1 else (0.0 if valid else math.nan)
        out[name] = {"mean": mean, "spread": spread, "passes": values, "n_valid": n_valid}
    if claims:
        out["_claims"] = {"claims": claims}  # the last pass's verdicts per claim, for reading a row
    return out


# --------------------------------------------------------------------------- the run


@dataclass(frozen=True)
class RunOptions:
    """How to run.

    Attributes:
        judge_passes: how many times the judge scores each answer (mean and spread are stored).
        judge_limit: judge at most this many questions per run (LLM judging is slow on CPUs); None: all.
        stop_after_failures: abort a run after this many questions failed in a row (a dead server).
    """

    judge_passes: int = 1
    judge_limit: int | None = None
    stop_after_failures: int = 3


class Runner:
    """Runs contenders over a dataset into a store. One per process; contenders share the embedder."""

    def __init__(
        self,
        base: Settings,
        book: ContenderBook,
        store: RunStore,
        *,
        embedder: Embedder | None = None,
        start_local_server: bool = True,
    ) -> None:
        self.base = base
        self.book = book
        self.store = store
        self._embedder = embedder
        self.start_local_server = start_local_server

    def embedder(self) -> Embedder:
        if self._embedder is None:
            from rag.embedders import build_embedder

            self._embedder = build_embedder(self.base)
        return self._embedder

    def check(self, names: Sequence[str]) -> list[tuple[Contender, Settings]]:
        """Every contender resolved and ready (keys present) before anything runs."""
        out = []
        for name in names:
            contender = self.book.get(name)
            settings = contender_settings(self.base, contender)
            check_ready(contender, settings)
            out.append((contender, settings))
        return out

    def run(
        self,
        names: Sequence[str],
        samples: Sequence[EvalSample],
        *,
        dataset: str,
        dataset_hash: str,
        judge: AnswerJudge | None = None,
        judge_name: str | None = None,
        options: RunOptions | None = None,
        progress: ProgressFn | None = None,
    ) -> list[str]:
        """Run each contender over the same ``samples``; returns the run ids in order."""
        return [
            self.run_one(
                contender,
                settings,
                samples,
                dataset=dataset,
                dataset_hash=dataset_hash,
                judge=judge,
                judge_name=judge_name,
                options=options,
                progress=progress,
            )  # fmt: skip
            for contender, settings in self.check(names)
        ]

    def run_one(
        self,
        contender: Contender,
        settings: Settings,
        samples: Sequence[EvalSample],
        *,
        dataset: str,
        dataset_hash: str,
        judge: AnswerJudge | None = None,
        judge_name: str | None = None,
        options: RunOptions | None = None,
        progress: ProgressFn | None = None,
    ) -> str:
        from eval.compare import summarize
        from rag.app import build_app

        opts = options or RunOptions()
        recorders: list[RecordingRetriever] = []

        def record(retriever: HybridRetriever) -> HybridRetriever:
            recorders.append(RecordingRetriever(retriever))
            return recorders[-1]

        app = build_app(settings, start_local_server=self.start_local_server, embedder=self.embedder(),
                        wrap_retriever=record)  # fmt: skip
        recorder = recorders[0]
        prices = {m: self.book.price(m) for m in answering_models(settings)}
        config = {
            "settings": settings.model_dump(mode="json"),
            "contender": contender.to_json(),
            "prices": {m: (p.__dict__ if p else None) for m, p in prices.items()},
            "judge": judge_name,
            "judge_passes": opts.judge_passes if judge else 0,
            "judge_limit": opts.judge_limit,
            "questions": [s.id for s in samples],
        }
        run_id = self.store.start_run(
            contender=contender.name, dataset=dataset, dataset_hash=dataset_hash, config=config, commit=git_commit()
        )
        failures = judged = 0
        try:
            for done, sample in enumerate(samples, start=1):
                started = time.monotonic()
                row = self._ask(app, recorder, settings, sample, prices)
                if (
                    judge is not None
                    and row["_answer"] is not None
                    and (opts.judge_limit is None or judged < opts.judge_limit)
                ):
                    judged += 1
                    row["judge"] = judge_passes(judge, sample, row["_answer"], row["_context"], opts.judge_passes)
                    row["metrics"].update({n: v["mean"] for n, v in row["judge"].items() if "mean" in v})
                row.pop("_answer")
                row.pop("_context")
                self.store.add_row(run_id, row)
                failures = failures + 1 if row["error"] else 0
                if progress is not None:
                    progress(Progress(contender.name, run_id, done, len(samples), sample.id,
                                      time.monotonic() - started, row["error"]))  # fmt: skip
                if failures >= opts.stop_after_failures:
                    raise EvalError(
                        f"Contender {contender.name!r} failed {failures} questions in a row (last: {row['error']}); "
                        "fix its model server and run again."
                    )
        except BaseException as e:
            self.store.finish_run(run_id, summary=summarize(self.store.rows(run_id)), status="failed", note=str(e))
            raise
        finally:
            app.close()
        self.store.finish_run(run_id, summary=summarize(self.store.rows(run_id)))
        return run_id

    @staticmethod
    def _tokens(app: Any, answer: Answer, sources: Sequence[ScoredChunk]) -> dict[str, Any]:
        """Token counts as the server reported them, else counted with its tokenizer (llama.cpp's stream
        reports no usage): the prompt rebuilt from the sources the model saw, the text as generated.
        Where nothing was generated, both are 0."""
        if answer.tokens.get("prompt") or "generation_s" not in answer.timings:
            return {**answer.tokens, "counted": False}
        client = (
            app.assistant.cloud
            if app.assistant.cloud and answer.route == app.assistant.cloud.name
            else app.assistant.local
        )
        try:
            messages = build_messages(answer.standalone_question, answer.language,
                                      [(i, h.chunk, h.chunk.text) for i, h in enumerate(sources, 1)],
                                      prompt=answer.prompt_version)  # fmt: skip
            return {"prompt": client.count_messages(messages), "completion": client.count_tokens(answer.generated_text),
                    "counted": True}  # fmt: skip
        except Exception as e:  # counting is a courtesy; never lose the row for it
            log.warning("could not count tokens: %s", e)
            return {**answer.tokens, "counted": False}

    def _ask(
        self, app: Any, recorder: RecordingRetriever, settings: Settings, sample: EvalSample, prices: dict[str, Any]
    ) -> dict[str, Any]:
        recorder.last = None
        answer: Answer | None = None
        error: str | None = None
        try:
            answer = app.assistant.ask(sample.question, User(None, sample.groups))
        except LLMUnavailable:
            raise  # the server is gone: no point asking the next question
        except GenerationError as e:
            error = str(e)
        ranked: list[ScoredChunk] = recorder.last.chunks if recorder.last else []
        k = settings.retrieval.k
        metrics = question_metrics(sample, answer, [h.chunk.source_uri for h in ranked], k)
        cost = math.nan
        tokens = dict(answer.tokens) if answer else {}
        if answer is not None:
            tokens = self._tokens(app, answer, ranked[:k])
            metrics["prompt_tokens"] = float(tokens.get("prompt", math.nan))
            metrics["completion_tokens"] = float(tokens.get("completion", math.nan))
            price = prices.get(answer.model)
            if price is not None:
                cost = price.cost(tokens.get("prompt", 0), tokens.get("completion", 0),
                                  answer.timings.get("generation_s", 0.0))  # fmt: skip
            metrics["cost"] = cost
        return {
            "question_id": sample.id,
            "question": sample.question,
            "language": sample.language,
            "answerable": sample.answerable,
            "kind": kind_of(sample),
            "groups": sorted(sample.groups),
            "tags": list(sample.tags),
            "reference_answer": sample.reference_answer,
            "accepted_answers": list(sample.accepted_answers),
            "gold_sources": list(gold_of(sample)),
            "answer": answer.text if answer else None,
            "generated_text": answer.generated_text if answer else None,
            "refused": answer.refused if answer else None,
            "verdict": answer.verdict if answer else None,
            "route": answer.route if answer else None,
            "model": answer.model if answer else None,
            "prompt_version": answer.prompt_version if answer else None,
            "protocol": answer.protocol if answer else None,
            "reason": answer.reason if answer else None,
            "signals": dict(answer.signals) if answer else {},
            "citations": [c.__dict__ for c in answer.citations] if answer else [],
            "sentences": [asdict(s) for s in answer.sentences] if answer else [],
            "retrieved": [
                {
                    "rank": i,
                    "chunk_id": h.chunk.id,
                    "source_uri": h.chunk.source_uri,
                    "title": h.chunk.title,
                    "score": h.score,
                    "in_prompt": i <= k,
                }  # fmt: skip
                for i, h in enumerate(ranked, start=1)
            ],
            "evidence": answer.evidence if answer else None,
            "metrics": metrics,
            "judge": {},
            "timings": dict(answer.timings) if answer else {},
            "tokens": tokens,
            "cost": cost,
            "error": error,
            "_answer": answer,
            "_context": "\n\n".join(h.chunk.text for h in ranked[:k]),
        }


def ingest_corpus(settings: Settings, corpus: Path, embedder: Embedder) -> None:
    """Ingest ``corpus`` into ``settings``' index (a throwaway home for a reproducible run)."""
    from ingest.pipeline import Ingestor
    from rag.app import build_writer

    writer = build_writer(settings, embedder=embedder)
    try:
        Ingestor(writer).run([corpus])
    finally:
        writer.close()
