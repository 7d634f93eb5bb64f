"""The worker's synchronous MongoDB, GridFS and Redis, one set per process, with typed
collections. Celery task bodies are synchronous, and a prefork worker forks after import,
so the connections are made lazily in the process that uses them."""

from __future__ import annotations

import os
from typing import cast

from gridfs import GridFSBucket
from pymongo.collection import Collection
from redis import Redis

from settings import Config

from ..books.documents import COLLECTION as BOOKS
from ..books.documents import StoredBook
from ..jobs.records import COLLECTION as JOBS
from ..jobs.records import StoredJob
from ..mongo import create_sync_client, sync_database
from ..redis_store import create_sync_redis


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


_by_process: dict[int, WorkerStore] = {}


def worker_store(settings: Config) -> WorkerStore:
    """The store of this process, made on first use."""
    pid = os.getpid()
    if pid not in _by_process:
        _by_process[pid] = WorkerStore(settings)
    return _by_process[pid]
