"""X-Request-ID, one log line per request, the HTTP metrics and the headers every response
carries, for every HTTP request, as one ASGI middleware around everything else (Starlette's
way: a concern every request pays for is written once, below the framework).

The id is the client's `X-Request-ID` when it is printable ASCII of at most 128 characters
(a proxy's or a caller's own), else a new one; it is returned on every response, put on
every log line of the request (`observability.logs.request_id_var`) and passed on to the jobs
the request submits. The line says method, route template, status, duration, caller id and
request id; never headers, bodies or tokens.
"""

from __future__ import annotations

import logging
import random
import re
import time
from contextlib import nullcontext

from prometheus_client import Counter, Histogram

from ...observability.logs import json_line, json_stream, request_id_var
from ...observability.metrics import HTTP_DURATION, HTTP_IN_FLIGHT, HTTP_REQUESTS
from ...observability.tick_batches import TICK
from .asgi_types import CALLER, ROUTE, ASGIApp, Message, Receive, Scope, Send, header

ACCEPTABLE_ID = re.compile(rb"[\x21-\x7e]{1,128}")
NO_ROUTE = "(no route)"
LOGGER = "bookapi.requests"
# Every response says these: a browser must never guess another type than the one sent.
EVERY_RESPONSE = [(b"x-content-type-options", b"nosniff")]
log = logging.getLogger(LOGGER)
# A request's line, as gathered: method, route, status, duration ms, caller, id, time.
Line = tuple[str, str, int, float, str | None, str, float]


def request_id_from(given: bytes | None) -> str:
    if given is not None and ACCEPTABLE_ID.fullmatch(given):
        return given.decode()
    # A correlation id, not a secret: 128 random bits, cheaper than uuid4's os.urandom.
    return f"{random.getrandbits(128):032x}"


def http_fields(line: Line) -> dict[str, object]:
    method, route, status, duration_ms, caller, request_id, _ = line
    return {
        "method": method,
        "route": route,
        "status": status,
        "duration_ms": duration_ms,
        "caller": caller,
        "request_id": request_id,
    }


def message(line: Line) -> str:
    return f"{line[0]} {line[1]} {line[2]} {line[3]} ms"


def write_lines(lines: list[Line]) -> None:
    """A turn's request lines: straight to our JSON handler as one write when it is the only
    one, else each through logging (a test's capture, the readable development format)."""
    handler = json_stream()
    if handler is None or not log.isEnabledFor(logging.INFO):
        for line in lines:
            token = request_id_var.set(line[5])
            log.info("%s", message(line), extra={"http": http_fields(line)})
            request_id_var.reset(token)
        return
    text = "".join(
        json_line(
            line[6], "INFO", LOGGER, message(line), request_id=line[5], http=http_fields(line)
        )
        + handler.terminator
        for line in lines
    )
    with handler.lock or nullcontext():
        handler.stream.write(text)
        handler.flush()


class InFlight:
    """Requests being answered in this process, written to the gauge once a turn."""

    count = 0

    @classmethod
    def report(cls) -> None:
        HTTP_IN_FLIGHT.set(cls.count)


TICK.line_writer = write_lines
TICK.before_flush.append(InFlight.report)


class RequestLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # Labelled metric children, made once per label set (a lookup costs a lock).
        self._counters: dict[tuple[str, str, int], Counter] = {}
        self._histograms: dict[str, Histogram] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            request_id_var.set(request_id_from(header(scope, b"x-request-id")))
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(header(scope, b"x-request-id"))
        request_id_var.set(request_id)
        id_header = (b"x-request-id", request_id.encode())
        status = 500  # what the server answers if the app fails before it starts a response

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), id_header, *EVERY_RESPONSE]
            await send(message)

        started = time.perf_counter()
        InFlight.count += 1
        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            InFlight.count -= 1
            self.record(scope, status, time.perf_counter() - started, request_id)

    def record(self, scope: Scope, status: int, seconds: float, request_id: str) -> None:
        method: str = scope["method"]
        route: str = scope.get(ROUTE, NO_ROUTE)
        counter = self._counters.get((method, route, status))
        if counter is None:
            counter = self._counters[(method, route, status)] = HTTP_REQUESTS.labels(
                method, route, str(status)
            )
        histogram = self._histograms.get(route)
        if histogram is None:
            histogram = self._histograms[route] = HTTP_DURATION.labels(route)
        TICK.count(counter)
        TICK.observe(histogram, seconds)
        if log.isEnabledFor(logging.INFO):
            duration_ms = round(seconds * 1000, 2)
            caller = scope.get(CALLER)
            TICK.log((method, route, status, duration_ms, caller, request_id, time.time()))
