"""A read cache per API process: rendered single books (JSON and ETag, by id) and rendered
list pages (by their validated query).

A hit answers `GET /books/{id}`, `If-None-Match` or a list page without touching MongoDB.
Any change to any book may change any list page, so every change forgets every page. The process
that changes a book forgets it at once and announces the change on Redis; every other
process forgets it as soon as the announcement arrives through its pub/sub hub. While
that subscription is down the cache may be missing announcements (workers announce the
books an import changed the same way), so it is emptied and
bypassed until the subscription is back (and emptied again then). Writes never read it:
they check the stored version in MongoDB.
"""

from __future__ import annotations

import gzip
import logging
import random
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from bson import ObjectId

from ...domain.books.book_schemas import Book
from ...domain.books.documents import StoredBook, etag
from ...observability.metrics import BOOK_CACHE_HITS, BOOK_CACHE_MISSES
from ...observability.tick_batches import TICK
from .book_batches import BookBatches
from .shared_reads import ANY_TIME, SharedReads

log = logging.getLogger(__name__)
Loader = Callable[[], Awaitable["RenderedBook"]]


GZIP_MIN_BYTES = 500  # smaller bodies gain too little from compression to pay for it
GZIP_LEVEL = 6
# The share of the TTL by which an entry's lifetime is cut short at random (see lifetime()).
TTL_JITTER = 0.2


class RenderedBook:
    """A response body as every client gets it, its ETag, and its gzip form (made the first
    time a client asks for it, then kept with the entry: a hit never compresses)."""

    __slots__ = ("_gzipped", "body", "etag", "expires")

    def __init__(self, body: bytes, etag: str, expires: float = 0.0) -> None:
        self.body = body
        self.etag = etag
        self.expires = expires
        self._gzipped: bytes | None = None

    @property
    def compressible(self) -> bool:
        return len(self.body) >= GZIP_MIN_BYTES

    def gzipped(self) -> bytes:
        if self._gzipped is None:
            self._gzipped = gzip.compress(self.body, GZIP_LEVEL, mtime=0)
        return self._gzipped


def render(book: StoredBook) -> RenderedBook:
    """The JSON a client gets for `book` (decided by the Book model) and its ETag."""
    return RenderedBook(Book.model_validate(book).model_dump_json().encode(), etag(book))


async def read_rendered_book(batches: BookBatches, book_id: ObjectId) -> RenderedBook:
    """One book read from MongoDB (with the turn's other misses) and rendered (NotFoundError
    if there is none): the load behind a miss, at the edge and in the route alike."""
    return render(await batches.find(book_id))


class BookCache:
    def __init__(self, max_entries: int, ttl_seconds: float) -> None:
        self.max_entries = max_entries
        self.ttl_seconds = ttl_seconds  # a bound on staleness, should an announcement be lost
        self.entries: OrderedDict[str, RenderedBook] = OrderedDict()
        self.pages: OrderedDict[str, RenderedBook] = OrderedDict()
        # The same pages by the query string as sent, for the edge (web/middleware), which
        # answers them before any validation: only a query string that validated is here.
        self.pages_by_query_string: OrderedDict[bytes, RenderedBook] = OrderedDict()
        self.loading: SharedReads[RenderedBook] = SharedReads()
        self.trusted = False  # only while the pub/sub subscription is live
        # Bumped by every forget: a read that started before one may not fill the cache,
        # or a book read just before a change could be stored after the change's news.
        self.generation = 0
        self.hits = 0
        self.misses = 0

    def lifetime(self) -> float:
        """A new entry's lifetime: the TTL less up to a fifth, at random. Entries read in
        one burst (a warm-up, a popular page) expiring together sent all their misses to
        MongoDB at once: 2,000 books under 10,000 connections gave reads that missed the
        3-second timeout (503s) in the benchmark's scale stage."""
        return self.ttl_seconds * random.uniform(1 - TTL_JITTER, 1.0)

    def _get(self, store: OrderedDict[str, RenderedBook], key: str) -> RenderedBook | None:
        entry = self._peek(store, key)
        if entry is None:
            self.misses += 1
            TICK.count(BOOK_CACHE_MISSES)
        return entry

    def _peek(self, store: OrderedDict[Any, RenderedBook], key: Any) -> RenderedBook | None:
        """The live entry of `key`, counted as a hit; None (and nothing counted) if none."""
        entry = store.get(key) if self.trusted else None
        if entry is None or entry.expires < time.monotonic():
            return None
        store.move_to_end(key)
        self.hits += 1
        TICK.count(BOOK_CACHE_HITS)
        return entry

    def cached_book(self, book_id: str) -> RenderedBook | None:
        """A hit for the edge, or None: the request goes on to the route (which counts the miss)."""
        return self._peek(self.entries, book_id)

    def cached_page(self, query_string: bytes) -> RenderedBook | None:
        return self._peek(self.pages_by_query_string, query_string)

    def _put(
        self, store: OrderedDict[Any, RenderedBook], key: Any, entry: RenderedBook, read_at: int
    ) -> bool:
        if not self.trusted or self.max_entries <= 0 or read_at != self.generation:
            return False
        if not entry.expires:  # new: its lifetime starts now (a second key keeps it)
            entry.expires = time.monotonic() + self.lifetime()
        store[key] = entry
        store.move_to_end(key)
        while len(store) > self.max_entries:
            store.popitem(last=False)
        return True

    async def _load(
        self, store: OrderedDict[str, RenderedBook], key: str, load: Loader
    ) -> RenderedBook:
        """The cached rendering of `key`, else `load()`'s, stored for next time. Concurrent
        misses of one key share one load: a burst of requests for a page nobody has read
        yet asks MongoDB once, not once per request."""
        cached = self._get(store, key)
        if cached is not None:
            return cached
        # Shared even while the cache is bypassed (Redis down): concurrent identical misses
        # still ask MongoDB once, so an outage of Redis does not multiply database reads.

        async def load_and_keep() -> RenderedBook:
            # Only the read that went to MongoDB stores its result, and only if no change
            # was announced since it began: a book read just before a change is never kept.
            generation = self.generation
            rendered = await load()
            self._put(store, key, rendered, generation)
            return rendered

        return await self.loading.read(f"{id(store)}:{key}", ANY_TIME, load_and_keep)

    async def book(self, book_id: str, load: Loader) -> RenderedBook:
        """A single book's JSON and ETag."""
        return await self._load(self.entries, book_id, load)

    async def page(self, query: str, load: Loader, query_string: bytes) -> RenderedBook:
        """A list page's JSON (and an empty ETag), by its validated query; remembered by its
        query string too, for the edge."""
        generation = self.generation
        entry = await self._load(self.pages, query, load)
        if self.pages.get(query) is entry:
            self._put(self.pages_by_query_string, query_string, entry, generation)
        return entry

    def forget(self, book_id: str) -> None:
        self.forget_announced(book_id)

    def forget_announced(self, announcement: str) -> None:
        """Forget the books of an announcement (comma-separated ids; `*` names no book, for
        new books) and every list page."""
        self.generation += 1
        for book_id in announcement.split(","):
            self.entries.pop(book_id, None)
        self.pages.clear()
        self.pages_by_query_string.clear()

    def forget_all(self) -> None:
        self.generation += 1
        self.entries.clear()
        self.pages.clear()
        self.pages_by_query_string.clear()

    def on_subscribed(self) -> None:
        self.forget_all()  # announcements may have been missed while unsubscribed
        self.trusted = True

    def on_unsubscribed(self) -> None:
        self.trusted = False
        self.forget_all()
