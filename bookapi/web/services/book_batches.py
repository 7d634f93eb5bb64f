"""Misses of different single books, asked for together, are read in one query.

Under load a book the cache does not hold cost each request a `find_one`, and the driver's
own work per round trip (its reply read through two tasks and an `asyncio.wait`, its send
through `wait_for`) was most of a miss's CPU: 457 µs of client CPU for each of 50
concurrent `find_one`s here, 44 µs each for the same 50 books in one `find` with `$in` on
`_id` (the primary key's index, on any MongoDB). So misses wait to be read together: at
most `max_in_flight` queries are out at once, and the misses that arrive meanwhile go in
the next one (as a database groups commits): batches grow with the load and the wait is
one query's time. A lone request waits for nothing but the end of its event-loop turn.
Misses of the same book are already shared upstream (the cache's SharedReads).

`max_batch` 1 reads each book with its own `find_one`, unbounded. AUTO (the default) asks
the server once: MongoDB gets batches of BATCH_ON_MONGODB, FerretDB v1 (which pushes down
an `_id` equality but scans the whole collection for `$in`) one query per book.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from itertools import islice

from bson import ObjectId

from ...domain.books import book_repository as books_repo
from ...domain.books.documents import StoredBook
from ...domain.errors import NotFoundError
from ...storage.mongo import Database
from ...storage.server_quirks import ServerQuirks
from .shared_reads import ANY_TIME, SharedReads

AUTO = 0
BATCH_ON_MONGODB = 100
MAX_IN_FLIGHT = 2
Waiting = dict[ObjectId, list["asyncio.Future[StoredBook]"]]


class BookBatches:
    def __init__(
        self,
        database: Callable[[], Database],
        max_batch: int,
        max_in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        self.database = database  # the process's database, once its connections are open
        self.max_batch = max_batch
        self.max_in_flight = max_in_flight
        self.waiting: Waiting = {}
        self.reads: set[asyncio.Task[None]] = set()  # in flight (the loop holds them weakly)
        self.send_scheduled = False
        self.deciding: SharedReads[int] = SharedReads()

    async def find(self, book_id: ObjectId) -> StoredBook:
        """The book with this id (NotFoundError if there is none), read with the others
        asked for meanwhile."""
        if self.max_batch == AUTO:
            # A burst of first misses asks the server once (ANY_TIME: any answer will do).
            self.max_batch = await self.deciding.read("batch", ANY_TIME, self.batch_for_server)
        if self.max_batch <= 1:
            return await books_repo.find_book(self.database(), book_id)
        future: asyncio.Future[StoredBook] = asyncio.get_running_loop().create_future()
        self.waiting.setdefault(book_id, []).append(future)
        self.schedule_send()
        return await future

    async def batch_for_server(self) -> int:
        """The batch size the server reads well (an outage is raised, as the read's would be,
        and the server is asked again next time)."""
        quirks = ServerQuirks.from_build_info(await self.database().command("buildInfo"))
        return BATCH_ON_MONGODB if quirks.indexed_id_lists else 1

    def schedule_send(self) -> None:
        """Send what waits once this turn has run (its requests have all asked by then),
        if a query may go out."""
        if self.waiting and not self.send_scheduled and len(self.reads) < self.max_in_flight:
            self.send_scheduled = True
            asyncio.get_running_loop().call_soon(self.send)

    def send(self) -> None:
        self.send_scheduled = False
        while self.waiting and len(self.reads) < self.max_in_flight:
            book_ids = list(islice(self.waiting, self.max_batch))
            batch = {book_id: self.waiting.pop(book_id) for book_id in book_ids}
            read = asyncio.ensure_future(self.read(batch))
            self.reads.add(read)
            read.add_done_callback(self.read_done)

    def read_done(self, read: asyncio.Task[None]) -> None:
        self.reads.discard(read)
        self.schedule_send()

    async def read(self, batch: Waiting) -> None:
        try:
            found = await books_repo.find_books(self.database(), list(batch))
        except Exception as error:  # an outage: each waiter gets it (a 503), as if its own
            for future in pending(batch):
                future.set_exception(error)
            return
        except BaseException:  # cancelled (the loop is stopping): so are its waiters
            for future in pending(batch):
                future.cancel()
            raise
        for book_id, futures in batch.items():
            book = found.get(book_id)
            for future in futures:
                if future.done():
                    continue  # its request went away (the client hung up)
                if book is None:
                    future.set_exception(NotFoundError("book"))
                else:
                    future.set_result(book)


def pending(batch: Waiting) -> list[asyncio.Future[StoredBook]]:
    return [future for futures in batch.values() for future in futures if not future.done()]
