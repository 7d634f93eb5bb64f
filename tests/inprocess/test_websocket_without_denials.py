"""Where a server cannot refuse a websocket handshake with an HTTP status (no ASGI
`websocket.http.response` extension), a bad token or someone else's job is told by
accepting the socket and closing it with 1008, never by a bare 403."""

from __future__ import annotations

import asyncio
from typing import Any

from quart import Quart

from tests.helpers import MintToken


async def handshake(app: Quart, path: str, token: str) -> list[dict[str, Any]]:
    """What the app sends to a websocket handshake on a server with no extensions."""
    scope: Any = {  # Quart types its scope as its own TypedDict
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "scheme": "ws",
        "http_version": "1.1",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"test"), (b"authorization", f"Bearer {token}".encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
        "subprotocols": [],
        "extensions": {},
    }
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await inbox.put({"type": "websocket.connect"})
    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(dict(message))
        if message["type"] == "websocket.close":
            await inbox.put({"type": "websocket.disconnect", "code": message.get("code", 1000)})

    receive: Any = inbox.get  # plain dicts, as a server sends them
    await asyncio.wait_for(app.asgi_app(scope, receive, send), 10)
    return sent


async def test_refusals_close_with_1008_without_the_extension(
    app: Quart, mint_token: MintToken
) -> None:
    unknown_job = f"/api/v1/jobs/{'f' * 24}/events"
    for token in ("nonsense", await mint_token("a" * 24)):
        sent = await handshake(app, unknown_job, token)
        kinds = [message["type"] for message in sent]
        assert kinds == ["websocket.accept", "websocket.close"], sent
        assert sent[-1]["code"] == 1008
