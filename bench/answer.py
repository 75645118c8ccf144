"""Where the time of an answer goes: the model, or Fuente around it. Measured in one process.

Ingests the sample corpus into a work folder (once), starts the local model server of the
embedded default when it is not running (the provisioned Qwen2.5-Coder-1.5B on llama.cpp), and
asks ``Assistant.ask`` the sample questions, exactly as ``fuente ask`` does. Every call that the
assistant makes to the model (the translation of the question for retrieval, the answer, and the answer check) is
timed at the client, so each answer's wall time splits into:

* model: waiting on the model server (translation + answer + answer check);
* outside the model: everything else: query embedding, retrieval, counting prompt tokens, prompt
  building, verification, the query log. Target: <= 10% of the end-to-end latency.

It also reports time to first token and generation tokens/s of the answers, and, as the baseline
run in the same process, sends the very same final messages straight to the same server with the
openai SDK (streaming, same max_tokens and temperature) and compares tokens/s and time to first
token: Fuente's client should add nothing measurable to generation.

Run from the repository root::

    .venv/bin/python bench/answer.py                  # 12 sample questions, ~3-4 minutes on 2 idle cores
    .venv/bin/python bench/answer.py --questions 20 --json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from ingest.pipeline import Ingestor  # noqa: E402
from rag.app import build_app, build_writer  # noqa: E402
from rag.assistant import User  # noqa: E402
from rag.llm import Completion, Message  # noqa: E402
from rag.settings import REPO_ROOT, load_settings  # noqa: E402

TARGET_OUTSIDE_SHARE = 0.10
TARGET_MEDIAN_S = 15.0
TARGET_P95_S = 30.0
DEFAULT_MODELS = REPO_ROOT / ".fuente" / "models"


class ModelTimer:
    """Wraps a ChatClient's ``stream`` and ``yes_probability`` (the answer check) to add up the time spent waiting
    on the model server."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.inner = client.stream
        self.seconds = 0.0
        self.last_messages: list[Message] = []
        self.last_max_tokens: int | None = None
        self.last_format: dict[str, Any] | None = None
        client.stream = self.stream
        self.inner_yes = client.yes_probability
        client.yes_probability = self.yes_probability

    def yes_probability(self, messages: list[Message]) -> float | None:
        started = time.monotonic()
        try:
            return self.inner_yes(messages)  # type: ignore[no-any-return]
        finally:
            self.seconds += time.monotonic() - started

    def stream(
        self,
        messages: list[Message],
        *,
        max_tokens: int | None = None,
        out: Completion | None = None,
        response_format: dict[str, Any] | None = None,
    ) -> Iterator[str]:
        started = time.monotonic()
        try:
            yield from self.inner(messages, max_tokens=max_tokens, out=out, response_format=response_format)
        finally:
            self.seconds += time.monotonic() - started
        self.last_messages, self.last_max_tokens, self.last_format = messages, max_tokens, response_format


def direct(
    base_url: str,
    model: str,
    messages: list[Message],
    max_tokens: int,
    temperature: float,
    count: Any,
    response_format: dict[str, Any] | None = None,
) -> dict[str, float]:
    """The same request straight to the server: time to first token and generation tokens/s.

    llama.cpp reuses the cached prefix of the previous prompt, which here is this very prompt. So the
    server is first sent the system message alone (one token of reply, untimed): both sides then start
    as a question does in use, with the fixed system prompt processed and the rest to read. (An earlier
    version changed the system message instead, which also made the next question's call read the
    whole system prompt again: every Fuente time to first token in the report was inflated by it.)
    Its stream reports no usage, so tokens are counted with the server's tokenizer.
    """
    from openai import OpenAI

    client = OpenAI(base_url=base_url, api_key="not-needed", timeout=600)
    client.chat.completions.create(  # type: ignore[call-overload]
        model=model, messages=[messages[0], {"role": "user", "content": "."}], max_tokens=1, temperature=0.0
    )
    started = time.monotonic()
    first: float | None = None
    tokens = 0
    text = ""
    stream = client.chat.completions.create(  # type: ignore[call-overload]
        model=model,
        messages=messages,  # type: ignore[arg-type]
        max_tokens=max_tokens,
        temperature=temperature,
        stream=True,
        stream_options={"include_usage": True},
        **({"response_format": response_format} if response_format else {}),
    )
    for event in stream:
        if event.usage is not None:
            tokens = event.usage.completion_tokens
        for choice in event.choices:
            if choice.delta and choice.delta.content:
                text += choice.delta.content
                if first is None:
                    first = time.monotonic() - started
    total = time.monotonic() - started
    tokens = tokens or count(text)
    first = first if first is not None else total
    return {"ttft_s": first, "total_s": total, "tokens": tokens, "tok_s": tokens / max(total - first, 1e-6)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--questions", type=int, default=12)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/fuente-bench-answer"))
    ap.add_argument("--models", type=Path, default=DEFAULT_MODELS)
    ap.add_argument("--profile", default=None)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    environ = {**os.environ, "FUENTE_HOME": str(args.workdir), "FUENTE__PATHS__MODELS": str(args.models)}
    settings = load_settings(args.profile, environ=environ)

    def say(line: str) -> None:
        if not args.json:
            print(line, flush=True)

    app = build_app(settings)  # starts the local model server when it is not running
    try:
        if app.index.records.document_count() == 0:
            say("ingesting the sample corpus ...")
            writer = build_writer(settings, embedder=app.embedder)
            try:
                Ingestor(writer).run([REPO_ROOT / "samples" / "corpus"])
            finally:
                writer.close()
        timer = ModelTimer(app.assistant.local)
        # Translations go to the helper server when there is one: their time is the model's too.
        helper = ModelTimer(app.assistant.helper) if app.assistant.helper is not app.assistant.local else None
        rows = [json.loads(line) for line in (REPO_ROOT / "samples" / "questions.jsonl").read_text().splitlines()]
        answerable = [r for r in rows if r["answerable"] and not r["groups"]][: args.questions]
        app.assistant.ask("¿Qué es Aurora Logística?", User(None, frozenset()))  # warm-up: model caches, pages
        results: list[dict[str, Any]] = []
        for row in answerable:
            timer.seconds = 0.0
            if helper is not None:
                helper.seconds = 0.0
            t = time.monotonic()
            answer = app.assistant.ask(row["question"], User(None, frozenset(row["groups"])))
            wall = time.monotonic() - t
            model_s = timer.seconds + (helper.seconds if helper is not None else 0.0)
            outside = wall - model_s
            gen = answer.timings.get("generation_s", 0.0)
            ttft = answer.timings.get("first_token_s", gen)
            completion_tokens = answer.tokens.get("completion") or app.assistant.local.count_tokens(
                answer.generated_text
            )
            ours = {
                "id": row["id"],
                "wall_s": wall,
                "model_s": model_s,
                "helper_s": helper.seconds if helper is not None else math.nan,  # translation + answer check
                "answer_check_s": answer.timings.get("answer_check_s", 0.0),
                "outside_s": outside,
                "outside_share": outside / wall,
                "retrieval_s": answer.timings.get("retrieval_s", 0.0),
                "verification_s": answer.timings.get("verification_s", 0.0),
                "ttft_s": ttft,
                "completion_tokens": completion_tokens,
                "tok_s": completion_tokens / max(gen - ttft, 1e-6),
                "refused": answer.refused,
                "prompt_tokens": answer.tokens.get("prompt", 0),
            }
            endpoint = app.assistant.local.endpoint
            base = direct(
                endpoint.base_url,
                endpoint.model,
                timer.last_messages,
                timer.last_max_tokens or endpoint.max_tokens,
                endpoint.temperature,
                app.assistant.local.count_tokens,
                timer.last_format,
            )
            ours.update({f"direct_{k}": v for k, v in base.items()})
            results.append(ours)
            say(f"{row['id']}: {wall:5.1f} s, outside the model {outside * 1000:6.0f} ms ({ours['outside_share']:.1%}), "
                f"ttft {ttft:.2f} s, {ours['tok_s']:.1f} tok/s (direct {base['tok_s']:.1f} tok/s, ttft {base['ttft_s']:.2f} s)")  # fmt: skip
    finally:
        app.close()

    def med(key: str) -> float:
        return statistics.median(r[key] for r in results)

    walls = sum(r["wall_s"] for r in results)
    summary = {
        "questions": len(results),
        "model": settings.llm.local.model,
        "outside_share_total": sum(r["outside_s"] for r in results) / walls,
        "outside_share_median": med("outside_share"),
        "outside_ms_median": med("outside_s") * 1000,
        "retrieval_ms_median": med("retrieval_s") * 1000,
        "verification_ms_median": med("verification_s") * 1000,
        "answer_check_s_median": med("answer_check_s"),
        "wall_s_median": med("wall_s"),
        "wall_s_p95": sorted(r["wall_s"] for r in results)[max(0, math.ceil(0.95 * len(results)) - 1)],
        "prompt_tokens_median": med("prompt_tokens"),
        "refused": sum(r["refused"] for r in results),
        "ttft_s_median": med("ttft_s"),
        "tok_s_median": med("tok_s"),
        "direct_ttft_s_median": med("direct_ttft_s"),
        "direct_tok_s_median": med("direct_tok_s"),
        "tok_s_ratio": med("tok_s") / med("direct_tok_s"),
        "target_outside_share": TARGET_OUTSIDE_SHARE,
        "load_avg_1m": os.getloadavg()[0],
        "rows": results,
    }
    summary["meets_target"] = summary["outside_share_total"] <= TARGET_OUTSIDE_SHARE
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    s = summary
    print(
        f"\n{s['questions']} answerable sample questions, {s['model']} on llama.cpp, protocol "
        f"{settings.llm.answer_protocol} ({s['refused']} refused)"
    )
    print(
        f"end to end: median {s['wall_s_median']:.1f} s, p95 {s['wall_s_p95']:.1f} s a question "
        f"(targets <= {TARGET_MEDIAN_S:.0f} s and <= {TARGET_P95_S:.0f} s); prompt tokens median "
        f"{s['prompt_tokens_median']:.0f}"
    )
    print(f"share of end-to-end time outside the model: {s['outside_share_total']:.1%} overall, "
          f"median {s['outside_share_median']:.1%} ({s['outside_ms_median']:.0f} ms a question: retrieval "
          f"{s['retrieval_ms_median']:.0f} ms, verification {s['verification_ms_median']:.0f} ms)")  # fmt: skip
    print(f"time to first token: median {s['ttft_s_median']:.2f} s (direct {s['direct_ttft_s_median']:.2f} s)")
    print(f"generation: median {s['tok_s_median']:.1f} tok/s through Fuente, {s['direct_tok_s_median']:.1f} tok/s "
          f"calling the server directly (ratio {s['tok_s_ratio']:.2f})")  # fmt: skip
    verdict = "meets" if s["meets_target"] else "MISSES"
    print(f"target outside share <= {TARGET_OUTSIDE_SHARE:.0%}: {verdict} (1-minute load average "
          f"{s['load_avg_1m']:.1f} on {os.cpu_count()} CPUs)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
