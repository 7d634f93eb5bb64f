"""Concurrent reads of one document share one trip to the database: a thousand websocket
listeners of one job arriving together read the job once per process, not a thousand times
(which queued them on the driver's pool past the operation timeout)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")
ANY_TIME = float("-inf")  # `since` for a read that may share any read of its key under way


class SharedReads(Generic[T]):
    def __init__(self) -> None:
        self._flights: dict[str, tuple[float, asyncio.Future[T]]] = {}

    async def read(self, key: str, since: float, load: Callable[[], Awaitable[T]]) -> T:
        """`load()`'s result for `key`, shared with a read of it already under way, but only
        one that began at `since` or later: what the caller gets is never older than that
        moment (a listener passes when it subscribed, so no event falls between)."""
        flight = self._flights.get(key)
        if flight is not None and flight[0] >= since:
            pending = flight[1]
            await asyncio.wait([pending])
            if not pending.cancelled():
                return pending.result()  # or raises what the read raised
        return await self._load(key, load)

    async def _load(self, key: str, load: Callable[[], Awaitable[T]]) -> T:
        flight = (time.monotonic(), asyncio.get_running_loop().create_future())
        future: asyncio.Future[T] = flight[1]
        self._flights[key] = flight
        try:
            result = await load()
        except Exception as error:
            future.set_exception(error)
            future.exception()  # retrieved here, so an unshared failure is not reported twice
            raise
        except BaseException:
            future.cancel()  # this reader was cancelled: whoever waits reads again
            raise
        else:
            future.set_result(result)
            return result
        finally:
            if self._flights.get(key) is flight:
                del self._flights[key]
