"""An LLM judge: claim decomposition and claim checking with any OpenAI-compatible chat model.

The judge is deliberately simple so that a small local model can run it and a cloud model can
replace it: one call splits a text into atomic claims, one call per claim answers "yes" or "no" to
"does this context support the claim?". The context comes first in the prompt and the claim last,
so a llama.cpp server reuses the context's prompt cache from one claim to the next.

On top of those two calls:

* ``supported_share`` (hallucination / faithfulness): share of the answer's claims the context supports;
* ``claim_scores`` (RAGChecker-style correctness): claim precision (answer claims the reference
  entails), claim recall (reference claims the answer entails), their F1, and faithfulness;
* ``judge`` satisfies ``rag.verify.Judge``, so the assistant's guard can use it per sentence.

Anything the judge cannot decide (an unreadable reply, a failed call) is None per claim and NaN
per score: "could not judge", counted apart by the metrics, never taken as a "no".

Prompts are files under ``eval/prompts/`` (``claims_v1``, ``check_v1``, ``check_user_v1``);
``Judge.prompt_version`` names them so runs record what judged them.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from string import Template
from typing import Any

from rag.errors import GenerationError
from rag.llm import ChatClient
from rag.settings import LLMEndpointSettings

log = logging.getLogger(__name__)
PROMPTS = Path(__file__).parent / "prompts"
_LANGUAGE_NAMES = {"es": "Spanish", "en": "English"}
_YES = frozenset({"supported", "yes", "si", "sí", "true", "correct"})
_NO = frozenset({"unsupported", "no", "false", "incorrect", "not"})
# About 3 characters a token, rounded down on purpose; leaves room for the instructions and reply.
_CHARS_PER_TOKEN = 3
_RESERVED_TOKENS = 400


@cache
def load_prompt(name: str) -> Template:
    """The judge prompt ``name`` (e.g. ``"check_v1"``) as a ``string.Template``."""
    return Template((PROMPTS / f"{name}.md").read_text(encoding="utf-8"))


def parse_verdict(reply: str) -> bool | None:
    """SUPPORTED or yes -> True, UNSUPPORTED or no -> False, anything else -> None (the first word decides)."""
    words = re.findall(r"[^\W\d_]+", reply.casefold())
    if not words:
        return None
    if words[0] in _YES:
        return True
    if words[0] in _NO:
        return False
    return None


def parse_claims(reply: str) -> list[str]:
    """Claims from a "- claim" per line reply; "- NONE" (or nothing) is no claim."""
    out: list[str] = []
    for line in reply.splitlines():
        text = re.sub(r"^\s*(?:[-*•]|\d{1,2}[.)])\s*", "", line).strip()
        if not text or text.strip(".").upper() in ("NONE", "NINGUNA", "NINGUNO"):
            continue
        if text not in out:
            out.append(text)
    return out


@dataclass
class Judge:
    """Claims and claim support from a chat model at temperature 0.

    Args:
        client: any ``rag.llm.ChatClient``; when its endpoint samples (temperature > 0), a copy of
            the endpoint at temperature 0 is used instead, so judgements repeat.
        max_claims: most claims kept from one text (the first ones), to bound the cost.
        claim_tokens: most tokens of the decomposition reply.
    """

    client: ChatClient
    max_claims: int = 12
    claim_tokens: int = 300
    prompt_version: str = "judge_v1"
    calls: int = 0
    failures: int = 0
    _claims_cache: dict[tuple[str, str], list[str]] = field(default_factory=dict, repr=False)
    _check_cache: dict[tuple[str, str], bool | None] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.client.endpoint.temperature != 0.0:
            self.client = ChatClient(self.client.endpoint.model_copy(update={"temperature": 0.0}))

    @classmethod
    def from_endpoint(cls, endpoint: LLMEndpointSettings, **kwargs: Any) -> Judge:
        """A judge on ``endpoint`` (at temperature 0)."""
        return cls(ChatClient(endpoint.model_copy(update={"temperature": 0.0})), **kwargs)

    @property
    def name(self) -> str:
        """Who judges: endpoint name and model."""
        return f"{self.client.name}:{self.client.model}"

    # -- the two calls --------------------------------------------------------------------------------
    def _ask(self, system: str, user: str, max_tokens: int) -> str | None:
        self.calls += 1
        try:
            done = self.client.complete(
                [{"role": "system", "content": system}, {"role": "user", "content": user}], max_tokens=max_tokens
            )
        except GenerationError as e:
            self.failures += 1
            log.warning("judge call failed: %s", e)
            return None
        return done.text

    def claims(self, text: str, language: str = "en") -> list[str]:
        """Atomic claims of ``text`` (at most ``max_claims``); [] when it makes none or the call failed."""
        text = text.strip()
        if not text:
            return []
        key = (text, language)
        if key not in self._claims_cache:
            name = _LANGUAGE_NAMES.get(language.split("-")[0].lower(), "the language of the text")
            system = load_prompt("claims_v1").substitute(language_name=name)
            reply = self._ask(system, f"TEXT: {text}\nCLAIMS:", self.claim_tokens)
            if reply is None:
                return []  # not cached: a later call may succeed
            self._claims_cache[key] = parse_claims(reply)[: self.max_claims]
        return list(self._claims_cache[key])

    def _fit(self, context: str) -> str:
        budget = (self.client.endpoint.context_tokens - _RESERVED_TOKENS) * _CHARS_PER_TOKEN
        return context if len(context) <= budget else context[:budget]

    def check(self, claim: str, context: str) -> bool | None:
        """Whether ``context`` supports ``claim``; None when the judge could not tell."""
        digest = hashlib.sha256(context.encode()).hexdigest()
        key = (claim, digest)
        if key in self._check_cache:
            return self._check_cache[key]
        user = load_prompt("check_user_v1").substitute(context=self._fit(context), claim=claim)
        reply = self._ask(load_prompt("check_v1").template, user, 4)
        if reply is None:
            return None
        verdict = parse_verdict(reply)
        self._check_cache[key] = verdict
        return verdict

    # -- scores ---------------------------------------------------------------------------------------
    def _share(self, claims: list[str], context: str) -> tuple[float, list[bool | None]]:
        verdicts = [self.check(c, context) for c in claims]
        judged = [v for v in verdicts if v is not None]
        return (sum(judged) / len(judged) if judged else math.nan), verdicts

    def supported_share(self, answer: str, context: str, language: str = "en") -> float:
        """Share of the answer's claims that ``context`` supports; NaN when there is nothing to judge."""
        return self._share(self.claims(answer, language), context)[0]

    def claim_scores(
        self, answer: str, reference: str, context: str | None = None, language: str = "en"
    ) -> dict[str, Any]:
        """RAGChecker-style claim scores of ``answer`` against ``reference`` (and ``context``).

        Returns:
            ``precision`` (answer claims the reference entails), ``recall`` (reference claims the
            answer entails), ``f1``, ``faithfulness`` (answer claims the context supports; NaN
            without context), the claim counts, ``unjudged`` (checks the judge could not decide)
            and ``claims``: each claim with its verdicts, for the run's per-question rows.
        """
        answer_claims = self.claims(answer, language)
        reference_claims = self.claims(reference, language)
        precision, p_verdicts = self._share(answer_claims, reference)
        recall, r_verdicts = self._share(reference_claims, answer)
        faithfulness, f_verdicts = self._share(answer_claims, context) if context else (math.nan, [])
        f1 = (
            math.nan
            if math.isnan(precision) or math.isnan(recall)
            else (2 * precision * recall / (precision + recall) if precision + recall else 0.0)
        )
        unjudged = sum(v is None for v in [*p_verdicts, *r_verdicts, *f_verdicts])
        return {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "faithfulness": faithfulness,
            "n_answer_claims": len(answer_claims),
            "n_reference_claims": len(reference_claims),
            "unjudged": unjudged,
            "claims": [
                {"claim": c, "in_reference": p, "in_context": f_verdicts[i] if f_verdicts else None}
                for i, (c, p) in enumerate(zip(answer_claims, p_verdicts, strict=True))
            ]
            + [{"reference_claim": c, "in_answer": r} for c, r in zip(reference_claims, r_verdicts, strict=True)],
        }

    # -- rag.verify.Judge -------------------------------------------------------------------------------
    def judge(self, sentence: str, sources: list[str]) -> float | None:
        """1.0 when the sources support the sentence, 0.0 when not, None when the judge cannot tell."""
        verdict = self.check(sentence, "\n\n".join(sources))
        return None if verdict is None else float(verdict)

    def close(self) -> None:
        self.client.close()
