"""X-Request-ID, one log line per request, and the HTTP metrics: one hook before and one
after every request (each hook costs a call per request, so these share theirs).

The id is the client's `X-Request-ID` when it is printable ASCII of at most 128 characters
(a proxy's or a caller's own), else a new one; it is returned on every response, put on
every log line of the request (observability.logs.request_id_var) and passed on to the jobs the
request submits. The line says method, route template, status, duration, caller id and
request id; never headers, bodies or tokens.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from quart import Quart, g, request, websocket
from quart.typing import ResponseTypes

from ...observability.logs import request_id_var
from ...observability.metrics import HTTP_DURATION, HTTP_IN_FLIGHT, HTTP_REQUESTS
from ..security.guard import caller_if_known

HEADER = "X-Request-ID"
ACCEPTABLE_ID = re.compile(r"[\x21-\x7e]{1,128}")
log = logging.getLogger("bookapi.requests")


def request_id_from(header: str | None) -> str:
    if header is not None and ACCEPTABLE_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    return request_id_var.get()


async def start_request() -> None:
    g.request_id = request_id_from(request.headers.get(HEADER))
    request_id_var.set(g.request_id)
    g.request_started = time.perf_counter()
    HTTP_IN_FLIGHT.inc()


async def start_websocket() -> None:
    g.request_id = request_id_from(websocket.headers.get(HEADER))
    request_id_var.set(g.request_id)


async def finish_request(response: ResponseTypes) -> ResponseTypes:
    request_id = g.get("request_id") or request_id_from(None)
    response.headers[HEADER] = request_id
    rule = request.url_rule
    route = rule.rule if rule is not None else "(no route)"
    method = request.method
    started = g.get("request_started")
    duration_ms = None
    if started is not None:  # else a hook before ours refused it: it was never counted in
        seconds = time.perf_counter() - started
        duration_ms = round(seconds * 1000, 2)
        HTTP_IN_FLIGHT.dec()
        HTTP_REQUESTS.labels(method, route, str(response.status_code)).inc()
        HTTP_DURATION.labels(route).observe(seconds)
    if not log.isEnabledFor(logging.INFO):
        return response
    caller = caller_if_known()
    log.info(
        "%s %s %s %s ms",
        method,
        route,
        response.status_code,
        duration_ms,
        extra={
            "http": {
                "method": method,
                "route": route,
                "status": response.status_code,
                "duration_ms": duration_ms,
                "caller": caller.id if caller is not None else None,
                "request_id": request_id,
            }
        },
    )
    return response


def init_app(app: Quart) -> None:
    app.before_request(start_request)
    app.before_websocket(start_websocket)
    app.after_request(finish_request)
