"""Tracing when asked for: with OTEL_EXPORTER_OTLP_ENDPOINT set, the API and the worker send
spans to it, and the request that submits an import and the task that runs it are one
trace with MongoDB and Redis spans in it. Unset, nothing is started: no provider, no
instrumentation, the app served as it is."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from devstack import free_port
from settings import PROJECT_DIR, TestingConfig
from tests.helpers import wait_until, worker_environment
from tests.served import import_demo_books, served_api, sign_up

Span = dict[str, Any]


class Collector:
    """An OTLP/HTTP trace receiver on a free port that keeps every span it is sent."""

    def __init__(self) -> None:
        self.spans: list[Span] = []
        collector = self

        class Receive(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the http.server naming)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                for resource in request.resource_spans:
                    service = next(
                        a.value.string_value
                        for a in resource.resource.attributes
                        if a.key == "service.name"
                    )
                    for scope in resource.scope_spans:
                        for span in scope.spans:
                            collector.spans.append(
                                {
                                    "service": service,
                                    "name": span.name,
                                    "trace": span.trace_id.hex(),
                                    "attributes": {a.key: a.value for a in span.attributes},
                                }
                            )
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Receive)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def collector() -> Iterator[Collector]:
    receiving = Collector()
    yield receiving
    receiving.server.shutdown()
    receiving.server.server_close()


async def test_one_trace_from_the_request_to_the_task_with_database_spans(
    settings: TestingConfig, collector: Collector, tmp_path: Path
) -> None:
    env = worker_environment(
        settings, OTEL_EXPORTER_OTLP_ENDPOINT=collector.url, OTEL_BSP_SCHEDULE_DELAY="200"
    )
    async with served_api(env, tmp_path, worker="traced") as base:
        access = sign_up(base, "traced@example.com")["access_token"]
        import_demo_books(base, access, 10)

        def submit_trace() -> str | None:
            for span in collector.spans:
                route = span["attributes"].get("http.route")
                if (
                    span["service"] == "bookapi-api"
                    and span["name"].startswith("POST")
                    and ("imports" in span["name"] or (route and "imports" in route.string_value))
                ):
                    return str(span["trace"])
            return None

        async def task_span_in_the_same_trace() -> bool:
            trace = submit_trace()
            return trace is not None and any(
                span["service"] == "bookapi-worker" and span["trace"] == trace
                for span in collector.spans
            )

        await wait_until(task_span_in_the_same_trace, 60, "the task's span in the request's trace")
    trace = submit_trace()
    in_trace = [span for span in collector.spans if span["trace"] == trace]
    services = {span["service"] for span in in_trace}
    assert services == {"bookapi-api", "bookapi-worker"}, services
    systems = {
        span["attributes"]["db.system"].string_value
        for span in collector.spans
        if "db.system" in span["attributes"]
    }
    assert {"mongodb", "redis"} <= systems, systems


def test_without_an_endpoint_nothing_is_traced(settings: TestingConfig) -> None:
    probe = (
        "import bookapi.asgi, pymongo.monitoring as m; from opentelemetry import trace; "
        "print(type(bookapi.asgi.app).__name__, type(trace.get_tracer_provider()).__name__, "
        "len(m._LISTENERS.command_listeners))"
    )
    env = {k: v for k, v in worker_environment(settings).items() if not k.startswith("OTEL_")}
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=PROJECT_DIR, env=env, capture_output=True, text=True
    )
    assert result.stdout.split() == ["Quart", "ProxyTracerProvider", "0"], result.stderr[-2000:]
