"""gzip for the app's large answers, when the client accepts it (Starlette's GZipMiddleware,
cut to what this API sends): a JSON, problem or text body whose Content-Length is at least
GZIP_MIN_BYTES (and at most GZIP_MAX_BYTES, so nothing huge is held in memory).

A streamed body (an export download has no Content-Length), one the app encoded itself (a
rendered book or page, whose gzip form the cache keeps) and every answer to a client that
did not ask pass as they are.
"""

from __future__ import annotations

import gzip

from ..http.encoding import accepts_gzip
from ..services.book_cache import GZIP_LEVEL, GZIP_MIN_BYTES
from .asgi_types import ASGIApp, Headers, Message, Receive, Scope, Send, header

GZIP_MAX_BYTES = 8 * 1024 * 1024
COMPRESSIBLE = (b"application/json", b"application/problem+json", b"text/")


def worth_compressing(headers: Headers) -> bool:
    """A whole, not yet encoded, compressible body of a size worth compressing."""
    fields = dict(headers)
    if b"content-encoding" in fields or not fields.get(b"content-type", b"").startswith(
        COMPRESSIBLE
    ):
        return False
    length = fields.get(b"content-length", b"")
    return length.isdigit() and GZIP_MIN_BYTES <= int(length) <= GZIP_MAX_BYTES


def compressed_start(start: Message, body: bytes) -> Message:
    kept = [(name, value) for name, value in start["headers"] if name != b"content-length"]
    kept += [
        (b"content-encoding", b"gzip"),
        (b"content-length", b"%d" % len(body)),
        (b"vary", b"Accept-Encoding"),
    ]
    return {**start, "headers": kept}


class Compression:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not accepts_gzip(header(scope, b"accept-encoding")):
            await self.app(scope, receive, send)
            return
        held: Message | None = None
        chunks: list[bytes] = []

        async def compress_whole_bodies(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start":
                if worth_compressing(list(message.get("headers", ()))):
                    held = message  # until the whole body is here
                    return
            elif held is not None and message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if message.get("more_body"):
                    return
                packed = gzip.compress(b"".join(chunks), GZIP_LEVEL, mtime=0)
                await send(compressed_start(held, packed))
                message = {"type": "http.response.body", "body": packed}
            await send(message)

        await self.app(scope, receive, compress_whole_bodies)
