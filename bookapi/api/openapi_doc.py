"""Completes the generated OpenAPI document where quart-schema cannot: error responses are
`application/problem+json`, and the websocket protocol is described (`x-websockets`)."""

from __future__ import annotations

from typing import Any

import orjson
from quart import Quart, Response, request
from quart.typing import ResponseTypes

PROBLEM = "application/problem+json"
JOB_EVENTS = {
    "/api/v1/jobs/{job_id}/events": {
        "summary": "Live progress of one job (owner or admin)",
        "authentication": (
            "`Authorization: Bearer <access token>` on the handshake (refused with 401 for a "
            "bad token, 404 for someone else's or an unknown job); or, for clients that cannot "
            'set headers, `{"type": "auth", "token": "<access token>"}` as the first message '
            "within WS_AUTH_TIMEOUT_SECONDS (else the socket closes with 1008)."
        ),
        "server_messages": [
            '{"type": "snapshot", "job": Job} - always first, even after the job ended',
            '{"type": "progress", "state": "running", "done": int, "total": int|null}'
            " - at most about 10 a second",
            '{"type": "finished", "job": Job} - last; the server then closes with 1000',
        ],
        "close_codes": {
            "1000": "the job ended and `finished` was sent",
            "1001": "the server is shutting down: reconnect for a fresh snapshot",
            "1008": "no valid auth message in time, or the job is not the caller's",
        },
    }
}


def complete(document: dict[str, Any]) -> dict[str, Any]:
    """`document` with problem media types on error responses and the websocket protocol."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if status.isdigit() and int(status) >= 400 and "application/json" in content:
                    response["content"] = {PROBLEM: content["application/json"]}
    document["x-websockets"] = JOB_EVENTS
    return document


async def complete_openapi_response(response: ResponseTypes) -> ResponseTypes:
    if request.endpoint == "openapi" and isinstance(response, Response):
        if response.status_code == 200:
            document = complete(orjson.loads(await response.get_data()))
            response.set_data(orjson.dumps(document))
    return response


def init_app(app: Quart) -> None:
    app.after_request(complete_openapi_response)
