"""The websocket edge: a refused handshake's body in one message, and the server's own send
handed to the routes.

Quart streams a denial's body in pieces (`more_body: true`, then an empty last piece);
Granian takes only a single body message and fails the connection on the second ("Unsupported
ASGI message"), so the client would see a broken handshake instead of its 401 or 404. The
pieces are gathered here and sent as one; nothing else passes through this layer changed.

The server's send is also left in the scope (`SERVER_SEND`): a route that streams many
messages to many sockets (a job's listeners) sends them with it instead of Quart's
`websocket.send`, which per message yields to the loop, rebuilds the accept headers and
fires a signal (as much again as the server's own send, profiled with 10,000 listeners).
"""

from __future__ import annotations

from .asgi_types import ASGIApp, Message, Receive, Scope, Send

BODY = "websocket.http.response.body"
SERVER_SEND = "bookapi.server_send"


class WebsocketDenials:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        pieces: list[bytes] = []

        async def whole_denial_body(message: Message) -> None:
            if message["type"] != BODY:
                await send(message)
                return
            pieces.append(message.get("body", b""))
            if not message.get("more_body", False):
                await send({"type": BODY, "body": b"".join(pieces), "more_body": False})

        scope[SERVER_SEND] = send  # only messages after the handshake: no denial body
        await self.app(scope, receive, whole_denial_body)
