"""One Redis pub/sub subscription per API process, shared by everything that listens.

Workers publish job events and API processes publish book changes; each API process holds
one connection subscribed to both channels and hands each message to the handler of its
channel. It reconnects after any Redis error (logged, never silent), and tells its
`on_connected` / `on_disconnected` callbacks, so a cache can stop trusting itself while
it may be missing messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from redis.asyncio.sentinel import Sentinel
from redis.exceptions import RedisError

from settings import Config

from ...storage.redis_store import create_async_redis

RECONNECT_SECONDS = 1.0
STOP_SECONDS = 3.0
log = logging.getLogger(__name__)
Handler = Callable[[str], None]


class PubSubHub:
    def __init__(self, settings: Config, sentinel: Sentinel | None) -> None:
        # With sentinels, each reconnection asks them for the primary: a failover is followed.
        self.settings = settings
        self.sentinel = sentinel
        self.handlers: dict[str, Handler] = {}
        self.on_connected: list[Callable[[], None]] = []
        self.on_disconnected: list[Callable[[], None]] = []
        self.connected = False
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def handle(self, channel: str, handler: Handler) -> None:
        """Call `handler` with the data of every message on `channel` (register before start)."""
        self.handlers[channel] = handler

    def _set_connected(self, connected: bool) -> None:
        if connected != self.connected:
            self.connected = connected
            for callback in self.on_connected if connected else self.on_disconnected:
                callback()

    def _deliver(self, message: dict[str, object]) -> None:
        channel, data = message.get("channel"), message.get("data")
        if message.get("type") == "subscribe" and len(self.handlers) == message.get("data"):
            self._set_connected(True)  # the server confirmed every channel: nothing is missed
        elif message.get("type") == "message" and isinstance(channel, str):
            handler = self.handlers.get(channel)
            if handler is not None and isinstance(data, str):
                handler(data)

    async def _listen_once(self) -> None:
        redis = create_async_redis(self.settings, self.sentinel, timeout_seconds=None)
        try:
            async with redis.pubsub() as pubsub:
                await pubsub.subscribe(*self.handlers)
                while not self._stopping:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None:
                        self._deliver(message)
        finally:
            self._set_connected(False)
            await redis.aclose()

    async def run(self) -> None:
        """Stay subscribed, reconnecting after a Redis outage or any other failure."""
        while not self._stopping:
            try:
                await self._listen_once()
            except (RedisError, OSError) as error:
                log.warning("pub/sub: Redis unavailable, reconnecting: %s", error)
            except Exception:
                log.exception("pub/sub: unexpected failure, reconnecting")
            if not self._stopping:
                await asyncio.sleep(RECONNECT_SECONDS)

    def start(self) -> None:
        self._task = asyncio.create_task(self.run())

    async def stop(self) -> None:
        # Cancel, and also ask the loop to end (it checks every second): redis-py can
        # swallow a cancellation that lands inside its own timeouts.
        self._stopping = True
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(self._task, STOP_SECONDS)
