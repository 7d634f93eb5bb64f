"""Which Redis primary this API process uses, and when it last changed: asked of the
sentinels every few seconds (and by /readyz), so a failover shows in the log, the metrics
and the readiness answer. With one Redis (no sentinels) the primary is REDIS_URL's."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

from redis.asyncio.sentinel import Sentinel
from redis.exceptions import RedisError

from settings import Config

from ...domain.timestamps import utc_now
from ...observability.metrics import REDIS_FAILOVER_TIME, REDIS_PRIMARY
from ...storage.redis_store import primary_address

CHECK_SECONDS = 2.0
log = logging.getLogger(__name__)


class RedisPrimaryWatch:
    def __init__(self, settings: Config, sentinel: Sentinel | None) -> None:
        self.settings = settings
        self.sentinel = sentinel
        self.address: str | None = None
        self.failover_at: datetime | None = None
        self._task: asyncio.Task[None] | None = None

    async def check(self) -> str:
        """The primary now; a change from the last one seen is logged as a failover."""
        if self.sentinel is None and self.address is not None:
            return self.address  # one Redis: REDIS_URL's, which does not change
        address = await primary_address(self.settings, self.sentinel)
        if address != self.address:
            if self.address is not None:
                self.failover_at = utc_now()
                log.warning(
                    "Redis failover: the primary moved from %s to %s", self.address, address
                )
                REDIS_PRIMARY.labels(self.address).set(0)
                REDIS_FAILOVER_TIME.set(self.failover_at.timestamp())
            REDIS_PRIMARY.labels(address).set(1)
            self.address = address
        return address

    async def _watch(self) -> None:
        while True:
            with contextlib.suppress(RedisError, OSError):  # the sentinels are down: ask again
                await self.check()
            await asyncio.sleep(CHECK_SECONDS)

    def start(self) -> None:
        if self.sentinel is not None:
            self._task = asyncio.create_task(self._watch())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
