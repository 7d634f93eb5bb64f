"""The drivers' pools open connections that keep no request alive (storage/fresh_context):
asyncio would otherwise keep the context of the request that opened a pooled connection,
and everything in it, until the connection closes.

On uvloop, which bookapi serves on and the tests run on, a transport keeps the context it
was opened in. The standard loop also takes the caller's context each time reading resumes,
which PyMongo does from every operation: there a connection keeps its last operation's
context instead.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import weakref
from collections.abc import Awaitable, Callable

from bookapi.storage.mongo import close_async_client, create_async_client, database_name
from bookapi.storage.redis_store import create_async_redis
from settings import TestingConfig
from tests.helpers import BOTH_DRIVERS

TOGETHER = 8  # operations at once, so the pool opens new connections for them
request_value: contextvars.ContextVar[object] = contextvars.ContextVar("request_value")


class RequestState:
    """Stands for what a request keeps in its context (its websocket, headers, token)."""


async def state_left_by_a_request(
    work: Callable[[], Awaitable[object]], settle_seconds: float = 0.0
) -> object | None:
    """Runs `work` TOGETHER times at once as one request would, then says whether that
    request's context value is still alive once the request is over and `settle_seconds`
    have passed (a cancelled timer, such as an operation's timeout, holds the context of
    whoever set it until it would have fired: that passes, a pooled connection stays)."""

    async def request() -> weakref.ref[RequestState]:
        state = RequestState()
        request_value.set(state)
        await asyncio.gather(*(work() for _ in range(TOGETHER)))
        return weakref.ref(state)

    left = await asyncio.create_task(request())
    await asyncio.sleep(settle_seconds)  # also: the loop's handle that woke us holds the task
    gc.collect()
    return left()


async def test_redis_connections_keep_no_request_alive(settings: TestingConfig) -> None:
    redis = create_async_redis(settings, None)
    try:
        assert await state_left_by_a_request(lambda: redis.blpop(["nothing"], timeout=0.05)) is None
        assert len(redis.connection_pool._in_use_connections) == 0  # they were pooled
        assert len(redis.connection_pool._available_connections) >= 2
    finally:
        await redis.aclose()


@BOTH_DRIVERS
async def test_mongo_connections_keep_no_request_alive(settings: TestingConfig) -> None:
    settings.MONGO_TIMEOUT_MS = settings.MONGO_OPERATION_TIMEOUT_MS = 1000
    client = create_async_client(settings)
    db = client[database_name(settings)]
    try:
        await db.command("ping")  # the driver's own monitors start here, not in the request
        assert await state_left_by_a_request(lambda: db.command("ping"), 1.2) is None
    finally:
        await close_async_client(client)
