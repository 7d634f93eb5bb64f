"""The edge: a hit in the book cache (a single book, a list page, a 304 revalidation) is
answered here, before Quart builds a request; anything else goes on to the app.

What a hit answers is what the route would: the same body, status and headers (the request
log around this adds its own, as for every response). A page is found by its query string as
sent, which the route remembered after validating it, so nothing unvalidated is answered here;
the cache itself stays correct across processes as the routes use it (services/book_cache).
"""

from __future__ import annotations

from ..http.encoding import negotiate
from ..http.paths import API_PREFIX
from ..services.book_cache import BookCache, RenderedBook
from .asgi_types import ROUTE, ASGIApp, Headers, Receive, Scope, Send, header

BOOKS = f"{API_PREFIX}/books"
BOOK_PREFIX = f"{BOOKS}/"
BOOK_ROUTE = f"{BOOKS}/<book_id>"
HEX = frozenset("0123456789abcdef")
JSON = (b"content-type", b"application/json")
VARY = (b"vary", b"Accept-Encoding")
GZIP = (b"content-encoding", b"gzip")


def matches_etag(if_none_match: bytes, tag: str) -> bool:
    """A weak comparison of `If-None-Match` with `tag`, as the route makes it."""
    given = if_none_match.strip()
    if given == b"*":
        return True
    wanted = tag.encode()
    return any(candidate.strip().removeprefix(b"W/") == wanted for candidate in given.split(b","))


def body_headers(entry: RenderedBook, scope: Scope) -> tuple[bytes, Headers]:
    """The body to send and its headers: gzip when the client asks and it pays."""
    body, gzipped, varies = negotiate(entry, header(scope, b"accept-encoding"))
    headers = [JSON, (b"content-length", b"%d" % len(body))]
    if gzipped:
        headers.append(GZIP)
    if varies:
        headers.append(VARY)
    return body, headers


class CachedReads:
    def __init__(self, app: ASGIApp, cache: BookCache) -> None:
        self.app = app
        self.cache = cache

    def hit(self, scope: Scope) -> RenderedBook | None:
        if scope["type"] != "http" or scope["method"] != "GET":
            return None
        path: str = scope["path"]
        if path == BOOKS:
            return self.cache.cached_page(scope["query_string"])
        if path.startswith(BOOK_PREFIX) and not scope["query_string"]:
            book_id = path[len(BOOK_PREFIX) :]
            if len(book_id) == 24 and HEX.issuperset(book_id):
                return self.cache.cached_book(book_id)
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        entry = self.hit(scope)
        if entry is None:
            await self.app(scope, receive, send)
            return
        if entry.etag:  # a single book
            scope[ROUTE] = BOOK_ROUTE
            if_none_match = header(scope, b"if-none-match")
            if if_none_match is not None and matches_etag(if_none_match, entry.etag):
                etag_header = (b"etag", entry.etag.encode())
                await send({"type": "http.response.start", "status": 304, "headers": [etag_header]})
                await send({"type": "http.response.body", "body": b""})
                return
        else:
            scope[ROUTE] = BOOKS
        body, headers = body_headers(entry, scope)
        if entry.etag:
            headers.append((b"etag", entry.etag.encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
