"""Observability: OpenTelemetry traces (off by default) and Prometheus metrics.

Traces are configured by the standard variables and nothing else: ``OTEL_TRACES_EXPORTER``
(``otlp``, ``console`` or ``none``), ``OTEL_EXPORTER_OTLP_ENDPOINT`` /
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``, ``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``,
``OTEL_SDK_DISABLED``. With none of them set no provider is installed and every span is the
API's no-op span, so tracing costs nothing.

Metrics live in one :class:`Metrics` object per server (its own registry, so two servers in one
process, as in tests, do not collide); ``/metrics`` serves it in Prometheus' text format.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from rag.errors import ConfigError

log = logging.getLogger(__name__)
TRACER_NAME = "fuente"
_configured = False


def tracing_wanted(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the OTEL_* variables ask for traces: an exporter other than none, or an OTLP endpoint."""
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter:
        return exporter != "none"
    return bool(env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def setup_tracing(service: str = "fuente", environ: Mapping[str, str] | None = None) -> bool:
    """Install a tracer provider with the exporters OTEL_TRACES_EXPORTER names; False when tracing is off.

    Raises:
        ConfigError: an exporter is asked for whose package is not installed.
    """
    global _configured
    env = os.environ if environ is None else environ
    if _configured or not tracing_wanted(env):
        return _configured
    try:
        from opentelemetry import trace
        from opentelemetry.sdk.resources import OTELResourceDetector, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor
    except ImportError as e:
        raise ConfigError("Tracing needs opentelemetry-sdk; run `make setup` (it is a dependency).") from e
    resource = Resource.create({"service.name": env.get("OTEL_SERVICE_NAME", service)}).merge(
        OTELResourceDetector().detect()
    )
    provider = TracerProvider(resource=resource)
    names = [n.strip().lower() for n in env.get("OTEL_TRACES_EXPORTER", "otlp").split(",") if n.strip()]
    for name in names:
        if name == "console":
            provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
        elif name == "otlp":
            try:
                from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            except ImportError as e:
                raise ConfigError(
                    "OTEL_TRACES_EXPORTER=otlp needs opentelemetry-exporter-otlp-proto-http; run `make setup`."
                ) from e
            # The exporter reads OTEL_EXPORTER_OTLP_* (endpoint, headers, timeout) itself.
            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        elif name != "none":
            raise ConfigError(f"Unknown OTEL_TRACES_EXPORTER {name!r}; use otlp, console or none.")
    trace.set_tracer_provider(provider)
    _configured = True
    log.info("tracing on: exporters %s", names)
    return True


def tracer() -> Any:
    from opentelemetry import trace

    return trace.get_tracer(TRACER_NAME)


@contextmanager
def span(name: str, attributes: Mapping[str, Any] | None = None, context: Any = None) -> Iterator[Any]:
    """A span as the current one for the block; exceptions are recorded on it and re-raised."""
    with tracer().start_as_current_span(name, context=context, attributes=dict(attributes or {})) as s:
        yield s


def current_context() -> Any:
    """The current trace context, to hand to a worker thread (contextvars do not cross executors)."""
    from opentelemetry import context

    return context.get_current()


def instrument_assistant(assistant: Any) -> None:
    """Spans around what the assistant calls, wrapped from outside it: retrieval and model calls.

    The assistant's retriever and chat clients are replaced on this instance only by thin wrappers;
    verification runs inside ``Assistant.ask`` and shows as the ``fuente.timings.*`` attributes of
    the caller's span until the assistant opens spans of its own.
    """
    retriever = getattr(assistant, "retriever", None)
    if retriever is not None and not getattr(retriever.retrieve, "_fuente_traced", False):
        retriever.retrieve = _traced_retrieve(retriever.retrieve)
    for attr in ("local", "cloud"):
        client = getattr(assistant, attr, None)
        if client is None or getattr(client.stream, "_fuente_traced", False):
            continue
        client.stream = _traced_stream(client.stream, client)
        client.complete = _traced_complete(client.complete, client)


def _mark(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn._fuente_traced = True  # type: ignore[attr-defined]
    return fn


def _traced_retrieve(retrieve: Callable[..., Any]) -> Callable[..., Any]:
    def wrapped(query: str, user_groups: frozenset[str], **kwargs: Any) -> Any:
        with span("fuente.retrieval", {"fuente.queries": 1 + len(kwargs.get("extra_queries") or ())}) as s:
            found = retrieve(query, user_groups, **kwargs)
            s.set_attribute("fuente.chunks", len(found.chunks))
            s.set_attribute("fuente.best_dense", float(found.best_dense))
            return found

    return _mark(wrapped)


def _model_attributes(client: Any) -> dict[str, Any]:
    return {"gen_ai.request.model": str(client.model), "fuente.route": str(client.name)}


def _traced_stream(stream: Callable[..., Iterator[str]], client: Any) -> Callable[..., Iterator[str]]:
    def wrapped(messages: Any, *args: Any, **kwargs: Any) -> Iterator[str]:
        # Not made current: a generator's context would be detached wherever it is closed.
        s = tracer().start_span("fuente.generation", attributes=_model_attributes(client))
        try:
            yield from stream(messages, *args, **kwargs)
            done = kwargs.get("out")
            if done is not None:
                s.set_attribute("gen_ai.usage.input_tokens", int(done.prompt_tokens))
                s.set_attribute("gen_ai.usage.output_tokens", int(done.completion_tokens))
        except BaseException as e:
            s.record_exception(e)
            raise
        finally:
            s.end()

    return _mark(wrapped)


def _traced_complete(complete: Callable[..., Any], client: Any) -> Callable[..., Any]:
    def wrapped(messages: Any, *args: Any, **kwargs: Any) -> Any:
        # Short helper calls: the follow-up rewrite and the query translation.
        with span("fuente.llm_helper", _model_attributes(client)):
            return complete(messages, *args, **kwargs)

    return _mark(wrapped)


class Metrics:
    """The service's Prometheus metrics, in a registry of their own."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()
        r = self.registry
        buckets = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300)
        self.requests = Counter(
            "fuente_requests", "API requests by endpoint and HTTP status.", ["endpoint", "status"], registry=r
        )
        self.latency = Histogram(
            "fuente_request_seconds",
            "Time to the whole response, by endpoint.",
            ["endpoint"],
            buckets=buckets,
            registry=r,
        )
        self.queue = Histogram(
            "fuente_queue_seconds", "Time a request waited for the assistant.", buckets=buckets, registry=r
        )
        self.stage = Histogram(
            "fuente_answer_stage_seconds",
            "Time of each stage of an answer (rewrite, retrieval, generation, verification, total).",
            ["stage"],
            buckets=buckets,
            registry=r,
        )
        self.answers = Counter(
            "fuente_answers", "Answers by verdict and whether they were refused.", ["refused", "verdict"], registry=r
        )
        self.refusals = Counter(
            "fuente_refusals", "Answers that were refusals (not supported by the documents).", registry=r
        )
        self.tokens = Counter("fuente_tokens", "Model tokens by kind (prompt, completion).", ["kind"], registry=r)
        self.busy = Counter(
            "fuente_busy", "Requests turned away busy, by reason (queue_full, queue_timeout).", ["reason"], registry=r
        )
        self.in_flight = Gauge("fuente_generations_in_flight", "Requests holding the assistant now.", registry=r)
        self.waiting = Gauge("fuente_queue_depth", "Requests waiting for the assistant now.", registry=r)

    def observe_answer(self, answer: Any) -> None:
        """Count an Answer: its verdict, refusal, tokens and stage timings."""
        self.answers.labels(str(bool(answer.refused)).lower(), str(answer.verdict)).inc()
        if answer.refused:
            self.refusals.inc()
        for kind, n in (answer.tokens or {}).items():
            if n:
                self.tokens.labels(kind).inc(n)
        for key, seconds in (answer.timings or {}).items():
            if key.endswith("_s") and key != "first_token_s":
                self.stage.labels(key[:-2]).observe(seconds)

    def render(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class Stopwatch:
    """Seconds since it was made."""

    def __init__(self) -> None:
        self.start = time.monotonic()

    def __call__(self) -> float:
        return time.monotonic() - self.start
