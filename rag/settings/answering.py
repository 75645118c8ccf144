"""Settings of the answer side: the model endpoints and server, retrieval, routing policy, evidence, the guard, the API."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from rag.settings.base import Section as _Section
from rag.types import Sensitivity


class LLMEndpointSettings(_Section):
    name: str = Field("local", description="Name shown on answers (route badge) and in logs.")
    kind: Literal["llamacpp", "vllm", "openai"] = Field(
        "llamacpp", description="Server flavour: decides how prompt tokens are counted (server /tokenize or estimate)."
    )
    base_url: str = Field("http://127.0.0.1:8088/v1", description="OpenAI-compatible base URL.")
    model: str = Field("qwen2.5-1.5b", description="Model name the server serves.")
    api_key_env: str | None = Field(None, description="Environment variable holding the API key (cloud only).")
    context_tokens: int = Field(4096, ge=512, description="The served model's context window.")
    max_tokens: int = Field(400, ge=16, description="Most tokens an answer may have.")
    temperature: float = Field(0.0, ge=0.0, le=2.0, description="Sampling temperature (0: repeatable).")
    timeout_s: float = Field(120.0, gt=0, description="Seconds to wait for a response (read timeout).")
    connect_timeout_s: float = Field(5.0, gt=0, description="Seconds to wait for a connection.")
    retries: int = Field(1, ge=0, description="Retries of retryable failures (connection, 429, 5xx).")


class LLMServerSettings(_Section):
    model: str = Field("qwen2.5-coder-1.5b-instruct-q4_k_m", description="Catalog model `fuente serve-llm` serves.")
    host: str = Field("127.0.0.1", description="Address the local llama.cpp server listens on.")
    port: int = Field(8088, description="Port of the local llama.cpp server.")
    n_ctx: int = Field(4096, description="Context window the server allocates.")
    threads: int = Field(2, ge=1, description="CPU threads for generation.")
    autostart: bool = Field(True, description="Start the local server when a question needs it and it is down.")
    start_timeout_s: float = Field(90.0, description="Seconds to wait for the server to come up.")
    draft: Literal["prompt-lookup-decoding"] | None = Field(
        None,
        description="Speculative decoding: prompt lookup guesses the next tokens from n-grams of the prompt (answers "
        "copy the evidence), and the model checks the guess in one batch. Off by default: on 2 CPU cores checking "
        "a guess of 10 tokens costs about what reading 10 prompt tokens does, and the answers generated at 6.6 "
        "tokens/s with it against 12.0 without (bench/answer.py, docs/evaluation.md).",
    )
    draft_tokens: int = Field(10, ge=1, description="Tokens guessed per speculative step.")
    prompt_cache: bool = Field(
        False,
        description="Keep the processed states of recent prompts in RAM (llama.cpp's cache), so the fixed system "
        "prompts of the answer and the translation are not processed again when calls alternate. Off by default: "
        "llama-cpp-python stores each state with its full logits (n_ctx x vocabulary floats, about 2.5 GB for "
        "Qwen at 4096), and the 1.5B server grew to 14 GB with it here.",
    )
    cache_mb: int = Field(1024, ge=64, description="Size of that prompt cache.")
    helper_port: int | None = Field(
        8089,
        description="A second server process of the same model on this port answers the short helper calls "
        "(translating the question, rewriting a follow-up), so the answer server keeps its processed system prompt "
        "(llama.cpp keeps one prompt's state; a translation in between cost the next answer about 10 s on 2 cores). "
        "The weights are mapped from the same file, so the second process adds only its context. None: one server.",
    )
    helper_n_ctx: int = Field(2048, ge=512, description="Context window of the helper server.")
    logits_all: bool = Field(
        True,
        description="Keep the logits of every prompt token (llama-cpp-python's server default): the log-probabilities of "
        "`verification.answer_check` (and of `eval.calibrate`, which records it) need them, and a draft model keeps "
        "them anyway. Off, prompts are read about 10% faster (time to first token 4.4 s against 5.1 s here) and the "
        "server holds a few hundred MB instead of n_ctx x vocabulary floats, but the answer check cannot run.",
    )


class LLMSettings(_Section):
    local: LLMEndpointSettings = Field(default_factory=LLMEndpointSettings, description="The on-premises model.")
    cloud: LLMEndpointSettings | None = Field(None, description="A cloud model, used only where policy allows it.")
    server: LLMServerSettings = Field(default_factory=LLMServerSettings, description="`fuente serve-llm`.")
    answer_protocol: Literal["extract_v1", "cite_v1"] = Field(
        "extract_v1",
        description="extract_v1: the model gets a short numbered evidence list, names the items that answer "
        "(constrained JSON where the server supports it) and writes a short answer; Fuente decides whether to "
        "refuse. cite_v1: the earlier protocol (whole chunks, free text with [n] citations, sentence checks).",
    )
    answer_prompt: str | None = Field(
        None,
        description="The answer prompt's file in rag/prompts/ (versioned); None picks the protocol's own "
        "(extract_v2 for extract_v1, answer_v1 for cite_v1). An eval contender may pick another.",
    )
    structured_output: bool = Field(
        True,
        description="Ask the server to enforce the extract protocol's JSON shape (llama.cpp json schema, vLLM "
        "structured outputs, OpenAI json_schema); false: plain prompting, parsed leniently.",
    )
    translate_answer: bool = Field(
        True,
        description="extract_v1: an answer the model wrote in its evidence's language rather than the question's is "
        "translated by a short call to the local model, and shown translated only when it keeps the same facts.",
    )

    def helper(self) -> LLMEndpointSettings | None:
        """The endpoint of the helper server (see ``server.helper_port``), when the local model is the packaged one."""
        srv = self.server
        packaged = f"http://{srv.host}:{srv.port}/v1"
        if self.local.kind != "llamacpp" or srv.helper_port is None or self.local.base_url.rstrip("/") != packaged:
            return None
        return self.local.model_copy(
            update={
                "name": f"{self.local.name}-helper",
                "base_url": f"http://{srv.host}:{srv.helper_port}/v1",
                "context_tokens": srv.helper_n_ctx,
            }  # fmt: skip
        )


class RetrievalSettings(_Section):
    k: int = Field(4, ge=1, description="Chunks given to the model.")
    dense_k: int = Field(30, ge=1, description="Candidates from Chroma.")
    sparse_k: int = Field(30, ge=1, description="Candidates from BM25.")
    rrf_k: int = Field(60, ge=1, description="Reciprocal rank fusion constant.")
    bm25_k1: float = Field(
        0.6, ge=0, description="BM25 term-frequency saturation; chosen on a dev split, see docs/benchmarks.md."
    )
    bm25_b: float = Field(
        0.4, ge=0, le=1, description="BM25 length normalisation; chosen on a dev split, see docs/benchmarks.md."
    )
    dense_weight: float = Field(1.0, ge=0, description="Weight of the dense ranking in the fusion.")
    sparse_weight: float = Field(1.0, ge=0, description="Weight of the keyword ranking in the fusion.")
    uncovered_dense_weight: float = Field(
        1.0,
        ge=0,
        description=(
            "Weight of the dense ranking for a query in a language the embedder does not cover "
            "(embedding.languages); chosen on a dev split, see docs/benchmarks.md."
        ),
    )
    uncovered_rrf_k: int | None = Field(
        None, ge=1, description="rrf_k for queries in a language the embedder does not cover (None: rrf_k)."
    )
    translate_query: bool = Field(
        True, description="Also search with the question translated (es<->en) by the LLM, fused with the original."
    )


class PolicySettings(_Section):
    cloud_enabled: bool = Field(
        False, description="Allow questions to go to the cloud model at all; false (the default) never calls it."
    )
    route: Literal["local", "cloud", "auto"] = Field(
        "local",
        description="local: always the local model; cloud or auto: the cloud model when every retrieved chunk "
        "is at or below the sensitivity ceiling and a cloud model is configured, else the local one.",
    )
    sensitivity_ceiling: Sensitivity = Field(
        Sensitivity.INTERNAL,
        description="The most sensitive level a cloud model may see; above it the question stays local.",
    )
    redact_pii: bool = Field(
        True,
        description="Replace e-mails, phones, IBANs, card numbers, DNIs and NIEs with placeholders before the cloud.",
    )


class EvidenceSettings(_Section):
    """Evidence selection between retrieval and generation (rag/evidence.py)."""

    ranker: Literal["index", "use-multilingual"] = Field(
        "index",
        description=(
            "Embedding model that ranks the sentences: 'index' (the index's own embedder) or 'use-multilingual' (the "
            "Universal Sentence Encoder Multilingual, numpy, reads Spanish and English alike; more right answers "
            "reach the model on six question sets but the guard shows no more, so not the default: "
            "docs/evaluation.md). The guard's relevance score of the chosen items always uses the index's embedder, "
            "on which its thresholds are calibrated."
        ),
    )

    budget_tokens: int = Field(300, ge=40, description="Rough token budget of the evidence list in the prompt.")
    max_items: int = Field(
        4,
        ge=1,
        description="Most evidence items (sentences or table rows) given to the model (4: shorter prompt, fewer distractors).",
    )
    neighbours_of: int = Field(
        2, ge=0, description="The best N items also bring the lead-in before them (a sentence ending in a colon)."
    )
    followers_of: int = Field(
        2, ge=0, description="The best N items also bring the sentence after them in their chunk, merged into the item."
    )
    semantic_weight: float = Field(0.6, ge=0, description="Weight of embedding similarity in an item's score.")
    lexical_weight: float = Field(0.4, ge=0, description="Weight of question-term coverage in an item's score.")
    context_weight: float = Field(
        0.5, ge=0, le=1, description="Coverage counted with the chunk's title and section path, discounted by this."
    )
    rank_weight: float = Field(0.05, ge=0, description="Bonus 1/(1+rank) for items of better-ranked chunks.")
    min_score: float = Field(0.0, description="Items scoring below this are never given to the model.")
    value_weight: float = Field(
        0.15, ge=0, description="Bonus for items holding a value (number, date, time) when the question asks for one."
    )
    uncovered_semantic: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Embedding similarity counts this much for items in a language the embedding model does not cover.",
    )


class VerificationSettings(_Section):
    sentence_support: float = Field(
        0.4, ge=0, le=1, description="Least support score for a claim to count as supported."
    )
    answer_support: float = Field(0.5, ge=0, le=1, description="Least share of supported claims to show an answer.")
    retrieval_min: float = Field(
        0.2,
        ge=-1,
        le=1,
        description="Least best dense similarity to answer at all (extract_v1 refuses under it without a model call).",
    )
    semantic_floor: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="Cosine the embedder gives unrelated texts; semantic support is rescaled from it (e5: ~0.75).",
    )
    evidence_min: float = Field(
        0.35,
        ge=-1,
        le=2,
        description="extract_v1: least relevance score (rag/evidence.py) of the best evidence item the model cited; "
        "below it the cited sentences are judged not to answer the question.",
    )
    overlap_min: float = Field(
        0.5,
        ge=0,
        le=1,
        description="extract_v1: least share of the answer's own words (beyond the question's and its numbers) found "
        "in the cited items, when they are in the answer's language; an answer that says what its items do not is "
        "refused.",
    )
    coverage_min: float = Field(
        0.0,
        ge=0,
        le=1,
        description="extract_v1: least share of the question's content terms found in the cited items (with their "
        "title and section, in the question's words or its translation's).",
    )
    answer_check: bool = Field(
        False,
        description="extract_v1: ask the local model whether the cited items state the answer (rag/verify/answer_check.py); "
        "its probability is kept in the answer's signals as `answer_check`.",
    )
    answer_check_min: float = Field(
        0.0,
        ge=0,
        le=1,
        description="extract_v1: least probability of the answer check; below it, or when the check cannot run, the "
        "answer is refused. 0 records the check without refusing on it.",
    )
    rescue_min: float = Field(
        0.0,
        ge=0,
        le=1,
        description="extract_v1: an answer refused only by the `evidence_min` or `coverage_min` floor is still shown "
        "when it clears `rescue_evidence_min` and `rescue_coverage_min` and the answer check gives it at least this "
        "probability (the check runs only for such answers). 0 turns the rescue off.",
    )
    rescue_evidence_min: float = Field(
        0.5, ge=-1, le=2, description="extract_v1: the relevance floor of an answer the answer check may rescue."
    )
    rescue_coverage_min: float = Field(
        0.0, ge=0, le=1, description="extract_v1: the coverage floor of an answer the answer check may rescue."
    )
    second_reading: bool = Field(
        False,
        description="extract_v1, local model: when the guard refuses an answer, read the question again from evidence "
        "ranked by the other `evidence.ranker`; the first answer is shown when the second agrees with it and the answer "
        "check gives it `rescue_min` with the relevance and coverage floors open, else the second answer when it "
        "clears the rescue floors and the check. Needs `rescue_min` > 0; costs a second generation per refusal.",
    )


class ApiSettings(_Section):
    host: str = Field(
        "127.0.0.1", description="`fuente serve-api` listens here (0.0.0.0 only behind a proxy or in a container)."
    )
    port: int = Field(8090, description="Port of `fuente serve-api`.")
    model_name: str = Field("fuente", description="The model name /v1/models lists and /v1/chat/completions accepts.")
    max_concurrent: int = Field(
        1,
        ge=1,
        le=1,
        description="Generations at once; 1 while the assistant is single-threaded (its SQLite connection belongs to one thread).",
    )
    queue_size: int = Field(
        8, ge=0, description="Requests that may wait for a generation; beyond it the API answers 429 busy."
    )
    queue_timeout_s: float = Field(
        60.0, gt=0, description="Longest wait in the queue; then the API answers 503 busy with a Retry-After."
    )
    deadline_s: float = Field(300.0, gt=0, description="Total time a request may take (queue + answer); then 504.")
    stream: Literal["live", "verified"] = Field(
        "live",
        description="live: stream tokens as generated (a refusal after verification is appended); verified: send the text once it is verified.",
    )
    oidc_issuer: str | None = Field(
        None,
        description="Also accept OIDC access tokens (JWTs) of this issuer as bearer tokens; users and groups are mapped "
        "by the users file's oidc: section, as in the app.",
    )
    oidc_audience: str | None = Field(
        None, description="The audience (aud) those tokens must carry (needed with oidc_issuer)."
    )
    oidc_jwks_url: str | None = Field(
        None, description="The issuer's signing keys; default: jwks_uri of <issuer>/.well-known/openid-configuration."
    )
