"""OpenTelemetry tracing, only when asked for: with OTEL_EXPORTER_OTLP_ENDPOINT set, spans
for HTTP requests and websockets, MongoDB (PyMongo, which Motor and the async client share),
Redis and Celery tasks go to that OTLP/HTTP endpoint. The Celery instrumentation carries
the trace context in the task's headers, so the request that submits a job and the task
that runs it are one trace. Unset, nothing is started (no provider, no instrumentation, the
app served unwrapped): no cost. (redis-py imports OpenTelemetry's API by itself whenever it
is installed; that is all.)
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT"
_started_in: int | None = None  # the process that started tracing (a fork must not reuse it)


def tracing_requested() -> bool:
    return bool(os.environ.get(ENDPOINT))


def start_tracing(service_name: str) -> bool:
    """Install the tracer provider and the instrumentations; False when not requested."""
    if not tracing_requested():
        return False
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.pymongo import PymongoInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    global _started_in
    if _started_in == os.getpid():
        return True  # already started in this process
    _started_in = os.getpid()
    service = os.environ.get("OTEL_SERVICE_NAME", service_name)
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    # The exporter reads OTEL_EXPORTER_OTLP_ENDPOINT (and _HEADERS, _TIMEOUT) itself.
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    # MongoDB, Redis, and Celery (publish in the API, run in the worker: one trace).
    instrumentors: list[Callable[[], Any]] = [
        PymongoInstrumentor,
        RedisInstrumentor,
        CeleryInstrumentor,
    ]
    for instrumentor in instrumentors:
        instrumentor().instrument()
    return True


def trace_asgi(asgi_app: Any) -> Any:
    """`asgi_app` wrapped so every request and websocket is a server span."""
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    return OpenTelemetryMiddleware(asgi_app)


def flush_spans() -> None:
    """Send what is buffered (a process about to stop, a test about to look)."""
    if not tracing_requested():
        return
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider

    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        provider.force_flush()
