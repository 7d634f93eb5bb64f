"""The worker's synchronous MongoDB, GridFS and Redis, one set per process, with typed
collections. Celery task bodies are synchronous, and a prefork worker forks after import,
so the connections are made lazily in the process that uses them."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import cast

from bson import ObjectId
from gridfs import GridFSBucket
from pymongo.collection import Collection
from redis import Redis
from redis.exceptions import RedisError

from settings import Config

from ..domain.books.documents import BOOK_INDEXES, StoredBook
from ..domain.books.documents import COLLECTION as BOOKS
from ..domain.jobs.records import COLLECTION as JOBS
from ..domain.jobs.records import StoredJob
from ..storage.mongo import create_sync_client, missing_indexes, sync_database
from ..storage.redis_names import RedisNames
from ..storage.redis_store import create_sync_redis
from ..storage.server_quirks import ServerQuirks

ANNOUNCE_CHUNK = 500  # book ids per announcement
log = logging.getLogger(__name__)


class WorkerStore:
    """Everything a job reads and writes, for one process."""

    def __init__(self, settings: Config) -> None:
        self.settings = settings
        self.db = sync_database(create_sync_client(settings), settings)
        # Only the domain code writes these collections, always as these types.
        self.books = cast("Collection[StoredBook]", self.db[BOOKS])
        self.jobs = cast("Collection[StoredJob]", self.db[JOBS])
        self.files = GridFSBucket(self.db)
        self.redis: Redis = create_sync_redis(settings)
        self.names = RedisNames(settings.REDIS_PREFIX)
        self._book_indexes_ready = False

    def ensure_book_indexes(self) -> None:
        """Make sure of the book indexes once per process: an import relies on the unique
        ISBN index to find duplicates, and the API that builds them may not have run yet."""
        if self._book_indexes_ready:
            return
        missing = missing_indexes(self.books.list_indexes(), BOOK_INDEXES)
        if missing:
            self.books.create_indexes(missing)
        self._book_indexes_ready = True

    def announce_book_changes(self, book_ids: list[str]) -> None:
        """Tell the API processes' book caches to forget these books (best effort: their
        entries expire anyway, and a cache without Redis is not trusted)."""
        channel = self.names.book_changes_channel
        for start in range(0, len(book_ids), ANNOUNCE_CHUNK):
            try:
                self.redis.publish(channel, ",".join(book_ids[start : start + ANNOUNCE_CHUNK]))
            except RedisError as error:
                log.warning("could not announce %d changed books: %s", len(book_ids), error)
                return

    @contextmanager
    def taking(self, job_id: ObjectId) -> Iterator[None]:
        """Around a conditional update that takes a job (to start, requeue or fail it).

        MongoDB applies findAndModify atomically, so the update's filter alone decides who
        takes the job. FerretDB v1 does not under concurrency (racing takes both "won" in
        tests), so there the takers of one job queue behind a Redis lock; its timeout frees
        it from a taker that died holding it."""
        if self.quirks.atomic_find_and_modify:
            yield
            return
        with self.redis.lock(self.names.job_take_lock(job_id), timeout=30, blocking_timeout=30):
            yield

    @cached_property
    def quirks(self) -> ServerQuirks:
        """Asked of the server on first use (it may be down when the worker starts)."""
        return ServerQuirks.from_build_info(self.db.command("buildInfo"))


_by_process: dict[int, WorkerStore] = {}


def worker_store(settings: Config) -> WorkerStore:
    """The store of this process, made on first use."""
    pid = os.getpid()
    if pid not in _by_process:
        _by_process[pid] = WorkerStore(settings)
    return _by_process[pid]
