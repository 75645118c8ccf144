"""Chat with any OpenAI-compatible server: llama.cpp (local), vLLM (GPU servers), cloud APIs.

One client for all three, through the openai SDK: explicit timeouts, retries only for what is
retryable (the SDK retries connection errors, 408, 409, 429 and 5xx), streaming, and every
failure turned into one sentence the user can act on. Prompt tokens are counted by the server's
own tokenizer where it has an endpoint for it, so a request never exceeds the context window.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from rag.errors import (
    GenerationError,
    LLMOverloaded,
    LLMRejected,
    LLMStreamBroken,
    LLMTimeout,
    LLMUnavailable,
)
from rag.settings import LLMEndpointSettings

log = logging.getLogger(__name__)
Message = dict[str, str]
# Tokens a chat template adds around each message (role markers, separators); generous on purpose.
PER_MESSAGE_OVERHEAD = 8


@dataclass
class Completion:
    """What one generation produced, with its costs."""

    text: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    first_token_s: float | None = None
    total_s: float = 0.0
    finish_reason: str | None = None
    extra: dict[str, object] = field(default_factory=dict)


class ChatClient:
    """A chat model behind an OpenAI-compatible endpoint."""

    def __init__(self, endpoint: LLMEndpointSettings) -> None:
        try:
            from openai import OpenAI, Timeout
        except ImportError as e:  # pragma: no cover - part of the base install
            raise GenerationError("The openai package is missing; run `make setup`.") from e
        self.endpoint = endpoint
        key = os.environ.get(endpoint.api_key_env) if endpoint.api_key_env else None
        if endpoint.api_key_env and not key:
            raise GenerationError(
                f"The {endpoint.name} model needs an API key in {endpoint.api_key_env}, which is not set; export it."
            )
        self._client = OpenAI(
            base_url=endpoint.base_url,
            api_key=key or "not-needed",
            timeout=Timeout(endpoint.timeout_s, connect=endpoint.connect_timeout_s),
            max_retries=endpoint.retries,
        )
        self._root = endpoint.base_url.rstrip("/").removesuffix("/v1")
        self._http = httpx.Client(timeout=httpx.Timeout(endpoint.timeout_s, connect=endpoint.connect_timeout_s))

    @property
    def name(self) -> str:
        return self.endpoint.name

    @property
    def model(self) -> str:
        return self.endpoint.model

    # -- health and tokens -----------------------------------------------------------------------
    def health(self) -> str | None:
        """None when the server answers and serves the configured model, else the problem in one sentence."""
        try:
            served = [m.id for m in self._client.with_options(max_retries=0, timeout=5).models.list()]
        except Exception as e:
            return self._explain(e).args[0]
        if self.endpoint.model not in served:
            return f"The server at {self.endpoint.base_url} serves {served}, not {self.endpoint.model}; fix llm model."
        return None

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` by the server's tokenizer; a conservative estimate where it has none."""
        try:
            if self.endpoint.kind == "llamacpp":
                r = self._http.post(f"{self._root}/extras/tokenize", json={"input": text})
                r.raise_for_status()
                return len(r.json()["tokens"])
            if self.endpoint.kind == "vllm":
                r = self._http.post(f"{self._root}/tokenize", json={"model": self.endpoint.model, "prompt": text})
                r.raise_for_status()
                return int(r.json()["count"])
        except (httpx.HTTPError, KeyError, ValueError) as e:
            log.debug("tokenize endpoint failed (%s); estimating", e)
        # About 3 characters a token for Spanish/English with BPE vocabularies: rounds up on purpose.
        return len(text) // 3 + 1

    def count_messages(self, messages: list[Message]) -> int:
        return sum(self.count_tokens(m["content"]) + PER_MESSAGE_OVERHEAD for m in messages)

    # -- generation ------------------------------------------------------------------------------
    def stream(
        self,
        messages: list[Message],
        *,
        max_tokens: int | None = None,
        out: Completion | None = None,
        response_format: dict[str, Any] | None = None,
    ) -> Iterator[str]:
        """Yield the answer's text as it arrives; ``out`` receives timings and token counts.

        ``response_format`` is passed as the server expects it (see rag/protocol.py): a JSON schema the
        server enforces while decoding.
        """
        out = out if out is not None else Completion()
        started = time.monotonic()
        extra: dict[str, Any] = {"response_format": response_format} if response_format else {}
        try:
            response = self._client.chat.completions.create(  # type: ignore[call-overload]
                model=self.endpoint.model,
                messages=messages,  # type: ignore[arg-type]
                max_tokens=max_tokens or self.endpoint.max_tokens,
                temperature=self.endpoint.temperature,
                stream=True,
                stream_options={"include_usage": True},
                **extra,
            )
        except Exception as e:
            raise self._explain(e) from e
        try:
            for event in response:
                if event.usage is not None:
                    out.prompt_tokens = event.usage.prompt_tokens
                    out.completion_tokens = event.usage.completion_tokens
                for choice in event.choices:
                    if choice.finish_reason:
                        out.finish_reason = choice.finish_reason
                    piece = choice.delta.content if choice.delta else None
                    if piece:
                        if out.first_token_s is None:
                            out.first_token_s = time.monotonic() - started
                        out.text += piece
                        yield piece
            if out.finish_reason is None and not out.text:
                raise self._ended_early(messages, max_tokens or self.endpoint.max_tokens)
        except GenerationError:
            raise
        except Exception as e:
            raise LLMStreamBroken(
                f"The answer from {self.endpoint.name} ({self.endpoint.model}) stopped half-way ({type(e).__name__}); "
                "ask again, and if it repeats check the model server's log."
            ) from e
        finally:
            out.total_s = time.monotonic() - started
        # llama.cpp's server reports no usage in a stream: count with the server's own tokenizer instead
        # (the prompt as the context budget counts it: an upper bound of what the server saw).
        if not out.prompt_tokens:
            out.prompt_tokens = self.count_messages(messages)
            out.extra["usage"] = "counted"
        if not out.completion_tokens and out.text:
            out.completion_tokens = self.count_tokens(out.text)
            out.extra["usage"] = "counted"

    def _ended_early(self, messages: list[Message], max_tokens: int) -> GenerationError:
        """A stream that closed before its first token: llama.cpp's server does that (HTTP 200, empty body)
        for a prompt over its context, where vLLM answers HTTP 400."""
        where = f"{self.endpoint.name} model server at {self.endpoint.base_url}"
        if self.count_messages(messages) + max_tokens > self.endpoint.context_tokens:
            return LLMRejected(
                f"The {where} rejected the request without an answer; the question may be too long for its context."
            )
        return LLMStreamBroken(
            f"The answer from {self.endpoint.name} ({self.endpoint.model}) ended before it began; "
            "ask again, and if it repeats check the model server's log."
        )

    def complete(
        self, messages: list[Message], *, max_tokens: int | None = None, response_format: dict[str, Any] | None = None
    ) -> Completion:
        out = Completion()
        for _ in self.stream(messages, max_tokens=max_tokens, out=out, response_format=response_format):
            pass
        return out

    def yes_probability(self, messages: list[Message]) -> float | None:
        """How sure the model is that the answer to ``messages`` (a yes/no question) is yes, in [0, 1].

        From the log-probabilities of its first reply token (see :func:`yes_share`) where the server
        returns them (vLLM and OpenAI do; llama-cpp-python only with logits kept: `llm.server.logits_all`,
        the default, or a draft model, else it fails the request and the check counts as not run), else 1.0
        or 0.0 from the word it wrote; None when it wrote neither word. One token, at temperature 0.
        """
        try:
            response = self._client.chat.completions.create(  # type: ignore[call-overload]
                model=self.endpoint.model,
                messages=messages,  # type: ignore[arg-type]
                max_tokens=1,
                temperature=0.0,
                logprobs=True,
                top_logprobs=10,
            )
        except Exception as e:
            raise self._explain(e) from e
        if not response.choices:
            return None
        choice = response.choices[0]
        content = choice.logprobs.content if choice.logprobs is not None else None
        top = [(t.token, t.logprob) for t in content[0].top_logprobs] if content else []
        return yes_share(top, choice.message.content or "")

    def _explain(self, e: Exception) -> GenerationError:
        import openai

        where = f"{self.endpoint.name} model server at {self.endpoint.base_url}"
        if isinstance(e, openai.APITimeoutError):
            return LLMTimeout(
                f"The {where} did not answer within {self.endpoint.timeout_s:.0f} s; try again or raise llm timeout_s."
            )
        if isinstance(e, openai.APIConnectionError):
            hint = (
                "start it with `fuente serve-llm`" if self.endpoint.kind == "llamacpp" else "check that it is running"
            )
            return LLMUnavailable(f"The {where} cannot be reached; {hint}.")
        if isinstance(e, openai.RateLimitError) or (
            isinstance(e, openai.APIStatusError) and e.status_code in (502, 503, 504)
        ):
            return LLMOverloaded(
                f"The {where} is overloaded (HTTP {getattr(e, 'status_code', '?')}); try again in a moment."
            )
        if isinstance(e, openai.BadRequestError):
            return LLMRejected(
                f"The {where} rejected the request (HTTP 400); the question may be too long for its context."
            )
        if isinstance(e, openai.AuthenticationError | openai.PermissionDeniedError):
            return GenerationError(f"The {where} refused the API key; check {self.endpoint.api_key_env}.")
        if isinstance(e, openai.APIStatusError):
            return GenerationError(f"The {where} failed with HTTP {e.status_code}; check its log.")
        return GenerationError(f"The {where} failed ({type(e).__name__}); check its log.")

    def close(self) -> None:
        self._client.close()
        self._http.close()


_YES = frozenset({"yes", "sí", "si"})
_NO = frozenset({"no"})


def yes_share(top: list[tuple[str, float]], text: str) -> float | None:
    """P(yes) / (P(yes) + P(no)) over the top first tokens ``(token, logprob)``, "Yes" and " yes" alike.

    Without log-probabilities (or with neither word among them) the written word decides: 1.0 or 0.0,
    None when it is neither.
    """
    yes = sum(math.exp(lp) for token, lp in top if token.strip().lower() in _YES)
    no = sum(math.exp(lp) for token, lp in top if token.strip().lower() in _NO)
    if yes + no > 0:
        return yes / (yes + no)
    word = text.strip().split()[0].strip(".,!¡").lower() if text.strip() else ""
    return 1.0 if word in _YES else 0.0 if word in _NO else None


T = TypeVar("T")


def with_fallback(first: ChatClient, second: ChatClient, call: Callable[[ChatClient], T]) -> T:
    """``call(first)``; when ``first``'s server cannot be reached and ``second`` is another client, ``call(second)``.

    The helper server answers the short calls (translations, the answer check) so the answer server keeps its
    processed prompt; when the helper is down, the answer server does them, a bit slower.
    """
    try:
        return call(first)
    except LLMUnavailable:
        if first is second:
            raise
        return call(second)
