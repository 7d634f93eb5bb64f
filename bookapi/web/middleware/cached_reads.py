"""The edge: a hit in the book cache (a single book, a list page, a 304 revalidation) is
answered here, before Quart builds a request, and so is a single book the cache does not
hold, read here through the cache (the hot miss); anything else goes on to the app, and so
does a read that failed (a 404, an outage), for the route to render as every error is.

What a hit answers is what the route would: the same body, status and headers (the request
log around this adds its own, as for every response). A page is found by its query string as
sent, which the route remembered after validating it, so nothing unvalidated is answered here;
the cache itself stays correct across processes as the routes use it (services/book_cache).
"""

from __future__ import annotations

from bson import ObjectId

from ..http.encoding import negotiate
from ..http.paths import API_PREFIX
from ..services.app_services import AppServices
from ..services.book_cache import RenderedBook, read_rendered_book
from .asgi_types import EDGE_FAILURE, ROUTE, ASGIApp, Headers, Receive, Scope, Send, header

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
    def __init__(self, app: ASGIApp, services: AppServices) -> None:
        self.app = app
        self.services = services
        self.cache = services.book_cache

    def book_id(self, scope: Scope) -> str | None:
        """The id of a GET of one book (24 hex digits, no query), else None."""
        path: str = scope["path"]
        if not path.startswith(BOOK_PREFIX) or scope["query_string"]:
            return None
        book_id = path[len(BOOK_PREFIX) :]
        return book_id if len(book_id) == 24 and HEX.issuperset(book_id) else None

    async def answer(self, scope: Scope) -> RenderedBook | None:
        """A hit, or a book read here through the cache (a miss: concurrent ones share one
        read, as in the route); None for everything else, and for a read that failed, whose
        error the route then renders (EDGE_FAILURE: it is not read twice)."""
        if scope["type"] != "http" or scope["method"] != "GET":
            return None
        if scope["path"] == BOOKS:
            return self.cache.cached_page(scope["query_string"])
        book_id = self.book_id(scope)
        if book_id is None:
            return None
        hit = self.cache.cached_book(book_id)
        if hit is not None:
            return hit
        try:
            batches = self.services.book_batches
            return await self.cache.book(
                book_id, lambda: read_rendered_book(batches, ObjectId(book_id))
            )
        except Exception as error:  # a 404 or an outage: Quart renders it, as for any route
            scope[EDGE_FAILURE] = error
            return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        entry = await self.answer(scope)
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
