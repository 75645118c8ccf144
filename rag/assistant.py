"""The assistant: one object that answers a user's question from the documents they may see.

The UI, the CLI, the API and the evaluation suite all go through :meth:`Assistant.ask`: rewrite a
follow-up into a standalone question, search (also with the question translated es<->en when that
can change the result), pick the route (local or cloud) by policy, answer by the configured protocol,
verify the answer against its sources, refuse when it is not supported, and log the whole exchange.

Two answer protocols (``llm.answer_protocol``):

* ``extract_v1`` (the default, :mod:`rag.protocol`): the retrieved chunks become a short numbered
  evidence list (:mod:`rag.evidence`); the model names the items that answer and writes a short
  answer; :func:`rag.verify.ground` decides from the cited items whether it is shown. The answer's
  citations are those items, quoted.
* ``cite_v1``: whole chunks in the prompt, free text with ``[n]`` citations, every sentence checked
  (:func:`rag.verify.verify_answer`). Kept so the eval suite can compare the two.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import replace

from rag import prompts, protocol
from rag.answer_language import in_language
from rag.asked import (
    Asked,
    StatusSink,
    TokenSink,
    citation_for,
    location_of,
    other_language,
    question_language,
)
from rag.cite_prompt import build_messages, fit_sources
from rag.cloud_gate import CloudGate, redacted_item
from rag.embedders import Embedder
from rag.errors import ConfigError, GenerationError
from rag.evidence import EvidenceSelector, sentence_ranker
from rag.index import Index
from rag.llm import ChatClient, Completion, Message, with_fallback
from rag.policy import decide_route
from rag.protocol import LANGUAGE_NAMES
from rag.querylog import QueryLog
from rag.retrieval import HybridRetriever, Retrieved
from rag.settings import Settings, VerificationSettings
from rag.types import Answer, Citation, Evidence, SentenceCheck, Turn, User, Verdict
from rag.verify import ground, refusal_text, second_reading, should_refuse, strip_citations, verify_answer
from rag.verify.answer_check import answer_check, check_refusal, rescue
from rag.verify.grounding import unnamed_in_chunks
from rag.verify.second_reading import Reading

__all__ = [
    "Answer",
    "Assistant",
    "Citation",
    "StatusSink",
    "TokenSink",
    "Turn",
    "User",
    "build_messages",
    "citation_for",
    "location_of",
    "question_language",
]

log = logging.getLogger(__name__)
# extract_v2 asks for the one item that answers, question first (sample questions, guard open: 38 of 47
# answerable right against 32 for extract_v1's "every item that answers" over eight items).
DEFAULT_PROMPTS = {"extract_v1": "extract_v2", "cite_v1": "answer_v1"}
# An unverified answer is never streamed as an answer: extract_v1 shows it once checked.


class Assistant:
    """Answers questions for users; one instance per process, shared by its callers.

    Args:
        settings: the whole configuration (protocol, thresholds, policy, retrieval).
        index: the index to search.
        embedder: the embedding model of the index (queries, evidence scoring, verification).
        local: the on-premises chat model.
        cloud: a cloud chat model, used only where the policy allows it.
        thresholds: the guard's thresholds (``settings.verification`` when None); calibration opens them.
        retriever: the retriever (a :class:`HybridRetriever` over ``index`` when None); the eval suite wraps it.
        helper: the model for short helper calls (translating, rewriting a follow-up); ``local`` when None.
            A second server process keeps the answer server's processed system prompt in place.
    """

    def __init__(
        self,
        settings: Settings,
        index: Index,
        embedder: Embedder,
        local: ChatClient,
        cloud: ChatClient | None = None,
        thresholds: VerificationSettings | None = None,
        retriever: HybridRetriever | None = None,
        helper: ChatClient | None = None,
    ) -> None:
        self.settings = settings
        self.index = index
        self.embedder = embedder
        self.local = local
        self.cloud = cloud
        self.helper = helper or local
        self.thresholds = thresholds or settings.verification
        self.retriever = retriever or HybridRetriever(index, embedder, settings.retrieval)
        self.selector = EvidenceSelector(embedder, settings.evidence, sentence_ranker(settings.evidence, embedder))
        self._second: EvidenceSelector | None = None  # the second reading's selector, built on first use
        self.query_log = QueryLog(index.log_connection())
        self.cloud_gate = CloudGate(settings)
        self.protocol = settings.llm.answer_protocol
        self.prompt = settings.llm.answer_prompt or DEFAULT_PROMPTS[self.protocol]
        try:
            prompts.load(self.prompt)
        except OSError as e:
            raise ConfigError(
                f"There is no answer prompt {self.prompt!r} in rag/prompts/; set llm.answer_prompt to one of its files."
            ) from e

    # -- helpers that call the local model; each degrades to "no help" rather than failing -----
    def _short_llm(self, system: str, user: str, max_tokens: int = 80) -> str | None:
        messages: list[Message] = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        try:
            done = with_fallback(self.helper, self.local, lambda c: c.complete(messages, max_tokens=max_tokens))
        except GenerationError as e:
            log.warning("helper call to the local model failed: %s", e)
            return None
        line = done.text.strip().splitlines()[0].strip().strip('"') if done.text.strip() else ""
        return line or None

    def standalone(self, question: str, history: Sequence[Turn]) -> str:
        if not history:
            return question
        convo = "\n".join(f"User: {t.question}\nAssistant: {t.answer}" for t in history[-3:])
        rewritten = self._short_llm(
            prompts.load("condense_v1").substitute(),
            f"Conversation:\n{convo}\n\nLast question: {question}",
            max_tokens=100,
        )
        return rewritten or question

    def needs_translation(self, language: str) -> bool:
        """Whether translating the question can change what is found or read.

        Not when it is switched off, and not when the index holds no chunk in the other language (there
        is nothing to find with it). A multilingual embedder does not make it useless: the evidence
        selector's and the guard's term checks, and the model itself, read the question's words in the
        source's language (without the translation the multilingual profile got 4 of 20 cross-language
        sample questions right, with the thresholds open; docs/evaluation.md).
        """
        if not self.settings.retrieval.translate_query:
            return False
        languages = self.index.records.languages()
        return not languages or other_language(language) in languages

    def translation(self, question: str, language: str) -> str | None:
        if not self.needs_translation(language):
            return None
        target = LANGUAGE_NAMES[other_language(language)]
        # v2 frames the question as text to translate: with v1's bare question, the 0.5B model
        # answered it ("10") instead of translating it.
        return self._short_llm(
            prompts.load("translate_v2").substitute(target=target), f"Translate into {target}:\n{question}"
        )

    def in_question_language(self, answer: str, q: Asked, cited: Sequence[str]) -> str:
        """The verified answer in the question's language (rag/answer_language.py)."""
        if not self.settings.llm.translate_answer:
            return answer

        def translate(text: str, language: str) -> str | None:  # timed only when the call is made
            t = time.monotonic()
            target = LANGUAGE_NAMES[language]
            out = self._short_llm(prompts.load("translate_answer_v1").substitute(target=target), text, max_tokens=160)
            q.timings["answer_translation_s"] = time.monotonic() - t
            return out

        return in_language(answer, q.language, cited, translate) or answer

    # -- the main path -----------------------------------------------------------------------------
    def ask(
        self,
        question: str,
        user: User,
        history: Sequence[Turn] = (),
        on_token: TokenSink | None = None,
        on_status: StatusSink | None = None,
    ) -> Answer:
        """Answer ``question`` for ``user``.

        ``on_token`` receives the answer's text: with extract_v1 once, after it was verified (the
        refusal sentence when it was not); with cite_v1 as the model writes it. ``on_status`` receives
        the stage ("searching", "reading", "checking") so a UI can show progress meanwhile.
        """
        started = time.monotonic()
        if on_status is not None:
            on_status("searching")
        language = question_language(question)
        standalone = self.standalone(question, history)
        extra = self.translation(standalone, language)
        rewrite_s = time.monotonic() - started
        t = time.monotonic()
        retrieved = self.retriever.retrieve(standalone, user.groups, extra_queries=(extra,) if extra else ())
        earlier_sensitive = any(turn.sensitive is not False for turn in history)
        client, route_reason = self._route(retrieved, earlier_sensitive)
        ceiling = self.settings.policy.sensitivity_ceiling
        sensitive = earlier_sensitive or any(h.chunk.access.sensitivity.rank > ceiling.rank for h in retrieved.chunks)
        q = Asked(
            id=uuid.uuid4().hex,
            question=question,
            standalone=standalone,
            language=language,
            user=user,
            retrieved=retrieved,
            client=client,
            route_reason=route_reason,
            closest=tuple(citation_for(i, h.chunk) for i, h in enumerate(retrieved.chunks[:3], start=1)),
            timings={"rewrite_s": rewrite_s, "retrieval_s": time.monotonic() - t},
            on_token=on_token,
            on_status=on_status,
            sensitive=sensitive,
        )
        answer: Answer | None = None
        error: str | None = None
        try:
            answer = self._extract(q) if self.protocol == "extract_v1" else self._cite(q)
        except GenerationError as e:
            error = str(e)
            raise
        finally:
            q.timings["total_s"] = time.monotonic() - started
            self.query_log.record_question(q, self.prompt, answer, error)
        return answer

    def _route(self, retrieved: Retrieved, earlier_sensitive: bool) -> tuple[ChatClient, str]:
        """The route of one turn. The decision is the conversation's: once a turn used chunks above the
        ceiling (or the history's turns are not known to be below it), every later turn stays local."""
        if earlier_sensitive and self.cloud is not None and self.settings.policy.cloud_enabled:
            return self.local, (
                "An earlier turn of this conversation drew on documents above the sensitivity ceiling (or its history "
                "is not known to be below it), so the whole conversation stays with the local model."
            )
        decision = decide_route(
            self.settings.policy, [h.chunk for h in retrieved.chunks], cloud_available=self.cloud is not None
        )
        if decision.route == "cloud" and self.cloud is not None:
            return self.cloud, decision.reason
        return self.local, decision.reason

    def _egress(self, q: Asked, messages: list[Message], response_format: dict[str, object] | None) -> None:
        if q.client is self.cloud:  # only what leaves the machine is recorded
            self.cloud_gate.record(q, messages, response_format)

    # -- extract_v1 ---------------------------------------------------------------------------------
    def _extract(self, q: Asked) -> Answer:
        hits = [h.chunk for h in q.retrieved.chunks]
        if not hits:
            return self._refused(q, Verdict.REFUSAL, "nothing the user may see matches the question")
        # Refusals that no reading could change come before any model call.
        if q.retrieved.best_dense < self.thresholds.retrieval_min:
            return self._refused(q, Verdict.UNSUPPORTED, "the retrieved chunks are too far from the question")
        if absent := unnamed_in_chunks(q.retrieved.queries, hits):  # grounding refuses any answer read from them
            why = f"no document the user may see mentions {', '.join(sorted(absent))}, which the question names"
            return self._refused(q, Verdict.UNSUPPORTED, why)
        first = self._read(q, self.selector, q.completion)
        if first is None:
            return self._refused(q, Verdict.REFUSAL, "no sentence of the retrieved chunks relates to the question")
        shown = first if first.refusal is None else self._read_again(q, first)
        if shown is None:
            verdict, reason = first.refusal or (Verdict.UNSUPPORTED, "")
            return self._refused(q, verdict, reason, first.grounding.checks, first.signals)
        cited = shown.grounding.cited
        citations = tuple(citation_for(n, item.chunk, item.text) for n, item in enumerate(cited, start=1))
        written = self.in_question_language(strip_citations(shown.reply.answer), q, [i.text for i in cited])
        text = written + " " + "".join(f"[{c.n}]" for c in citations)
        if q.on_token is not None:
            q.on_token(text)
        g = shown.grounding
        return self._answer(q, text, g.verdict, citations, g.checks, g.reason, shown.signals)

    def _read(self, q: Asked, selector: EvidenceSelector, completion: Completion, stage: str = "") -> Reading | None:
        """One reading: evidence chosen by ``selector``, the model's reply into ``completion``, the guard's verdict.

        None when no sentence of the retrieved chunks relates to the question. ``stage`` prefixes the timings
        of a second reading ("second_").
        """
        q.status("reading")
        t = time.monotonic()
        queries = q.retrieved.queries
        evidence = selector.select(queries, [h.chunk for h in q.retrieved.chunks])
        q.timings[f"{stage}evidence_s"] = time.monotonic() - t
        if not evidence:
            return None
        shown = evidence
        question = q.standalone
        translation = q.translation if any(i.chunk.language != q.language for i in evidence) else None
        if q.client is self.cloud:
            question, redacted = self.cloud_gate.prepare(q, list({i.chunk.id: i.chunk for i in evidence}.values()))
            shown = tuple(redacted_item(i, redacted[i.chunk.id]) for i in evidence)
            translation = None  # never redacted, so it stays with the local model
        evidence, shown, messages, prompt_tokens = protocol.fit_evidence(
            q.client, question, q.language, evidence, shown, translation, self.prompt
        )
        fmt = protocol.response_format(q.client.endpoint.kind) if self.settings.llm.structured_output else None
        self._egress(q, messages, fmt)
        t = time.monotonic()
        for _ in q.client.stream(messages, max_tokens=protocol.ANSWER_MAX_TOKENS, out=completion,
                                 response_format=fmt):  # fmt: skip
            pass
        q.timings[f"{stage}generation_s"] = time.monotonic() - t
        if completion.first_token_s is not None and not stage:
            q.timings["first_token_s"] = completion.first_token_s
        # llama.cpp streams no usage: the prompt was counted above by its tokenizer, the reply is counted now.
        completion.prompt_tokens = completion.prompt_tokens or prompt_tokens
        if not completion.completion_tokens and completion.text:
            completion.completion_tokens = q.client.count_tokens(completion.text)
        q.status("checking")
        t = time.monotonic()
        reply = protocol.parse_reply(completion.text)
        grounding = ground(reply.answer, reply.cited, evidence, queries, q.user.groups, self.thresholds, q.language)
        q.timings[f"{stage}verification_s"] = time.monotonic() - t
        signals = {"relevance": grounding.relevance, "coverage": grounding.coverage, "overlap": grounding.overlap,
                   "well_formed": float(reply.well_formed), "evidence_items": float(len(evidence))}  # fmt: skip
        reading = Reading(evidence, reply, grounding, signals)
        answer = strip_citations(reply.answer)
        grounding = rescue(grounding, reply.answer, reply.cited, evidence, queries, q.user.groups, self.thresholds,
                           q.language, lambda cited: self._answer_check(q, answer, cited, signals))  # fmt: skip
        reading = replace(reading, grounding=grounding)
        if not grounding.supported:
            return replace(reading, refusal=(grounding.verdict, grounding.reason))
        refusal = self._check_answer(q, answer, grounding.cited, signals)
        return reading if refusal is None else replace(reading, refusal=(Verdict.UNSUPPORTED, refusal))

    def _read_again(self, q: Asked, first: Reading) -> Reading | None:
        """The reading to show after the guard refused ``first`` (rag/verify/second_reading.py), or None to refuse.

        Only the local model reads again: a cloud model's refusal is not the 1.5B's misreading, and a second
        cloud call would cost money and egress.
        """
        t = self.thresholds
        if not t.second_reading or t.rescue_min <= 0 or q.client is not self.local:
            return None
        selector = self._second_selector()
        if selector is None:
            return None
        started = time.monotonic()
        completion = Completion()
        second = self._read(q, selector, completion, stage="second_")
        q.timings["second_reading_s"] = time.monotonic() - started
        q.completion.prompt_tokens += completion.prompt_tokens
        q.completion.completion_tokens += completion.completion_tokens
        first.signals["second_reading"] = 1.0
        if second is None:
            return None
        shown = second_reading.decide(first, second, q.retrieved.queries, q.user.groups, t, q.language,
                                      lambda r, answer, cited: self._believed(q, r, answer, cited))  # fmt: skip
        if shown is not None and shown.reply is second.reply:  # decide returns a copy of the reading it shows
            q.completion.text = completion.text  # the reply whose answer is shown
        return shown

    def _believed(self, q: Asked, reading: Reading, answer: str, cited: Sequence[Evidence]) -> float | None:
        """The answer check's probability when it reaches ``rescue_min`` and any required minimum, else None."""
        p = self._answer_check(q, answer, cited, reading.signals)
        if p is None or p < self.thresholds.rescue_min or self._check_answer(q, answer, cited, reading.signals):
            return None
        return p

    def _second_selector(self) -> EvidenceSelector | None:
        """The evidence selector with the other sentence ranker, built on first use (None when it cannot load)."""
        if self._second is None:
            settings = self.settings.evidence
            other = settings.model_copy(
                update={"ranker": "use-multilingual" if settings.ranker == "index" else "index"}
            )
            try:
                ranker = sentence_ranker(other, self.embedder)
            except ConfigError as e:
                log.warning("no second reading: %s", e)
                return None
            self._second = EvidenceSelector(self.embedder, settings, ranker)
        return self._second

    def _answer_check(
        self, q: Asked, answer: str, cited: Sequence[Evidence], signals: dict[str, float]
    ) -> float | None:  # fmt: skip
        """The answer check's probability (rag/verify/answer_check.py), asked once per answer and kept in ``signals``."""
        if "answer_check" in signals:
            return signals["answer_check"]
        t = time.monotonic()
        p = answer_check(self.helper, self.local, q.standalone, answer, cited)
        q.timings["answer_check_s"] = q.timings.get("answer_check_s", 0.0) + time.monotonic() - t  # both readings
        if p is not None:
            signals["answer_check"] = p
        return p

    def _check_answer(self, q: Asked, answer: str, cited: Sequence[Evidence], signals: dict[str, float]) -> str | None:
        """The answer check (rag/verify/answer_check.py) when required: None when it passes or is off, else why the
        answer is refused. Its probability goes into ``signals``."""
        if not self.thresholds.answer_check:
            return None
        return check_refusal(self._answer_check(q, answer, cited, signals), self.thresholds.answer_check_min)

    # -- cite_v1 ------------------------------------------------------------------------------------
    def _cite(self, q: Asked) -> Answer:
        hits = q.retrieved.chunks
        if not hits:
            return self._refused(q, Verdict.REFUSAL, "nothing the user may see matches the question")
        sources = [(i, h.chunk, h.chunk.text) for i, h in enumerate(hits, 1)]
        prompt_question = q.standalone
        # The translation helps only when a source is in the other language; it is never redacted, so
        # it stays with the local model.
        translation = q.translation
        if translation and all(h.chunk.language == q.language for h in hits):
            translation = None
        if q.client is self.cloud:
            prompt_question, redacted = self.cloud_gate.prepare(q, [c for _, c, _ in sources])
            sources = [(n, redacted[c.id], redacted[c.id].text) for n, c, _ in sources]
            translation = None
        sources = fit_sources(q.client, prompt_question, q.language, sources, translation, self.prompt)
        messages = build_messages(prompt_question, q.language, sources, translation=translation, prompt=self.prompt)
        self._egress(q, messages, None)
        q.status("reading")
        t = time.monotonic()
        for piece in q.client.stream(messages, out=q.completion):
            if q.on_token is not None:
                q.on_token(piece)
        q.timings["generation_s"] = time.monotonic() - t
        if q.completion.first_token_s is not None:
            q.timings["first_token_s"] = q.completion.first_token_s
        q.status("checking")
        t = time.monotonic()
        prompt_chunks = [c for _, c, _ in sources]
        verification = verify_answer(q.completion.text, prompt_chunks, q.user.groups, self.embedder, self.thresholds)
        q.timings["verification_s"] = time.monotonic() - t
        if should_refuse(verification, q.retrieved.best_dense, self.thresholds):
            return self._refused(q, verification.verdict, verification.reason, verification.sentences)
        by_n = {n: chunk for n, chunk, _ in sources}
        cited = sorted({n for s in verification.sentences for n in s.citations if n in by_n})
        citations = tuple(citation_for(n, by_n[n]) for n in cited)
        return self._answer(q, q.completion.text.strip(), verification.verdict, citations, verification.sentences,
                            verification.reason)  # fmt: skip

    # -- results ------------------------------------------------------------------------------------
    def _answer(
        self,
        q: Asked,
        text: str,
        verdict: str,
        citations: tuple[Citation, ...],
        sentences: tuple[SentenceCheck, ...],
        reason: str,
        signals: dict[str, float] | None = None,
        *,
        refused: bool = False,
    ) -> Answer:
        return Answer(
            question_id=q.id,
            question=q.question,
            standalone_question=q.standalone,
            language=q.language,
            text=text,
            refused=refused,
            verdict=str(verdict),
            citations=citations,
            sentences=tuple(sentences),
            closest_sources=q.closest,
            route=q.client.name,
            route_reason=q.route_reason,
            model=q.client.model,
            prompt_version=self.prompt,
            timings=q.timings,
            tokens={"prompt": q.completion.prompt_tokens, "completion": q.completion.completion_tokens},
            generated_text=q.completion.text,
            evidence=q.retrieved.best_dense,
            protocol=self.protocol,
            reason=reason,
            sensitive=q.sensitive,
            signals=dict(signals or {}),
        )

    def _refused(
        self,
        q: Asked,
        verdict: str,
        reason: str,
        sentences: tuple[SentenceCheck, ...] = (),
        signals: dict[str, float] | None = None,
    ) -> Answer:
        text = refusal_text(q.language)
        if q.on_token is not None and self.protocol == "extract_v1":
            q.on_token(text)
        return self._answer(q, text, verdict, (), sentences, reason, signals, refused=True)
