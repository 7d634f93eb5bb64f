"""Token endings that MongoDB holds and Redis may have missed, applied to Redis again.

An account change that ends earlier tokens (a password change or reset, a demotion, a
disablement) writes the new token generation to MongoDB, then to Redis, where every API
process checks tokens (security/account_changes.py). If Redis fails in between, the change
stands, and until Redis has the generation an earlier access token would pass once Redis
answers again. So each API process re-applies the generations started within an access
token's lifetime (older access tokens have expired; a refresh checks MongoDB itself):
when its pub/sub subscription comes back, since Redis may just have returned, and every
REPAIR_EVERY_SECONDS besides, for a failure that left the subscription up. Raising a
generation never lowers one, and one already there is neither written nor announced again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta

from pymongo.errors import PyMongoError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from settings import Config

from ...domain.accounts.user_repository import generations_started_since
from ...domain.timestamps import utc_now
from ...storage.mongo import Database
from ...storage.redis_names import RedisNames
from ..security.generation_store import raise_generation
from .connections import Connections

REPAIR_EVERY_SECONDS = 30.0
STOP_SECONDS = 3.0
# Clocks of API hosts differ a little: a change a host dated early is still in the window.
CLOCK_MARGIN = timedelta(seconds=60)
log = logging.getLogger(__name__)


async def repair_endings(
    db: Database, redis: Redis, names: RedisNames, config: Config
) -> list[str]:
    """Apply to Redis every token generation started within an access token's lifetime;
    the users whose generation Redis lacked."""
    since = utc_now() - config.access_token_lifetime - CLOCK_MARGIN
    repaired = []
    for user_id, generation in await generations_started_since(db, since):
        if await raise_generation(redis, names, config, user_id, generation):
            repaired.append(user_id)
    return repaired


class EndingRepair:
    """Runs `repair_endings` in the background: every REPAIR_EVERY_SECONDS, and at once when
    told the subscription is back."""

    def __init__(
        self,
        connections: Callable[[], Connections],
        names: RedisNames,
        config: Config,
    ) -> None:
        self.connections = connections
        self.names = names
        self.config = config
        self.due = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.stopping = False

    def start(self) -> None:
        self.task = asyncio.create_task(self.run())

    def on_resubscribed(self) -> None:
        self.due.set()

    async def run(self) -> None:
        while not self.stopping:
            try:
                await asyncio.wait_for(self.due.wait(), REPAIR_EVERY_SECONDS)
            except TimeoutError:
                pass
            self.due.clear()
            await self.repair_once()

    async def repair_once(self) -> None:
        connections = self.connections()
        try:
            repaired = await repair_endings(
                connections.db, connections.redis, self.names, self.config
            )
        except (PyMongoError, RedisError) as error:  # down: the next round tries again
            log.warning("could not check Redis for missed token endings: %s", error)
            return
        if repaired:
            log.warning(
                "Redis lacked the token endings of %d accounts (a change Redis missed): "
                "applied now, users %s",
                len(repaired),
                ", ".join(repaired),
            )

    async def stop(self) -> None:
        # Cancel, and also ask the loop to end: redis-py can swallow a cancellation that
        # lands inside its own timeouts (as services/pubsub.py found), and a shutdown
        # waits for nothing longer than STOP_SECONDS here.
        self.stopping = True
        self.due.set()
        if self.task is not None:
            self.task.cancel()
            await asyncio.wait([self.task], timeout=STOP_SECONDS)
            self.task = None
