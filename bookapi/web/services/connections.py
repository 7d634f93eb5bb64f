"""The API process's MongoDB, GridFS and Redis handles: opened at startup, closed at shutdown.

Indexes are built at startup; if MongoDB is down then, the app starts anyway and keeps
trying in the background, so it gets its indexes as soon as the database answers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis

from settings import Config

from ...storage.mongo import (
    MONGO_UNAVAILABLE,
    Database,
    close_async_client,
    create_async_client,
    create_gridfs_bucket,
    database_name,
)
from ...storage.redis_store import (
    close_async_sentinel,
    create_async_redis,
    create_async_sentinel,
)

# An idempotent write the process makes once MongoDB answers: an index build, the first admin.
StartupWrite = Callable[[Database], Awaitable[None]]
INDEX_RETRY_SECONDS = 5.0
log = logging.getLogger(__name__)


class Connections:
    """One process's clients, made in the event loop that serves (a driver's async client
    belongs to the loop that created it)."""

    def __init__(self, settings: Config) -> None:
        self.client: Any = create_async_client(settings)
        self.db: Database = self.client[database_name(settings)]
        self.gridfs: Any = create_gridfs_bucket(self.db, settings.MONGO_DRIVER)
        self.sentinel = create_async_sentinel(settings)  # None: REDIS_URL is the one Redis
        self.redis: Redis = create_async_redis(
            settings, self.sentinel, settings.REDIS_TIMEOUT_SECONDS, settings.REDIS_MAX_CONNECTIONS
        )
        # Whether the startup writes, the indexes first (the unique ISBN and email among
        # them), are done: without the indexes duplicates could slip in, so readiness waits.
        self.indexes_ready = False
        self._index_retry: asyncio.Task[None] | None = None

    async def run_startup_writes(self, writes: list[StartupWrite]) -> None:
        """Make `writes` in order now, or keep trying in the background if MongoDB is down."""
        try:
            await self._run(writes)
        except MONGO_UNAVAILABLE as error:
            log.warning("MongoDB unavailable at startup, will retry the indexes: %s", error)
            self._index_retry = asyncio.create_task(self._retry(writes))

    async def _run(self, writes: list[StartupWrite]) -> None:
        for write in writes:
            await write(self.db)
        self.indexes_ready = True

    async def _retry(self, writes: list[StartupWrite]) -> None:
        while not self.indexes_ready:
            await asyncio.sleep(INDEX_RETRY_SECONDS)
            try:
                await self._run(writes)
            except MONGO_UNAVAILABLE as error:
                log.warning("MongoDB unavailable, indexes not built yet: %s", error)

    async def close(self) -> None:
        if self._index_retry is not None:
            self._index_retry.cancel()
        await close_async_client(self.client)
        await self.redis.aclose()
        await close_async_sentinel(self.sentinel)
