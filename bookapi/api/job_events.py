"""Live job events: one Redis pub/sub subscription per API process, shared by all listeners.

Workers publish every job's events on one channel. Each API process subscribes once and
hands each event to the listeners of that job. A listener's queue is bounded and, when
full, drops its oldest progress event: a slow websocket falls behind on progress (which
the next event supersedes anyway) but never stalls the others or grows without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from typing import Any

from quart import Quart, current_app

from ..redis_store import REDIS_UNAVAILABLE, create_async_redis, events_channel

LISTENER_QUEUE_SIZE = 32
RECONNECT_SECONDS = 1.0
STOP_SECONDS = 3.0
log = logging.getLogger(__name__)


class Listener:
    """The events of one job for one websocket."""

    def __init__(self, maxsize: int = LISTENER_QUEUE_SIZE) -> None:
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize)

    def offer(self, event: dict[str, Any]) -> None:
        if self.queue.full():
            self.queue.get_nowait()  # the oldest: progress that later events supersede
        self.queue.put_nowait(event)

    async def next(self, timeout: float) -> dict[str, Any] | None:
        """The next event, or None if none came within `timeout` seconds."""
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None


class JobEventHub:
    def __init__(self, redis_url: str, channel: str) -> None:
        self.redis_url = redis_url
        self.channel = channel
        self.listeners: dict[str, set[Listener]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def subscribe(self, job_id: str) -> Listener:
        listener = Listener()
        self.listeners[job_id].add(listener)
        return listener

    def unsubscribe(self, job_id: str, listener: Listener) -> None:
        listeners = self.listeners.get(job_id)
        if listeners is not None:
            listeners.discard(listener)
            if not listeners:
                del self.listeners[job_id]

    def dispatch(self, raw: str | bytes) -> None:
        """Hand one published event to the listeners of its job."""
        try:
            event = json.loads(raw)
            job_id = event.pop("job_id")
        except (ValueError, KeyError, AttributeError, TypeError):
            log.warning("ignoring a malformed job event: %r", raw)
            return
        for listener in list(self.listeners.get(job_id, ())):
            listener.offer(event)

    async def _listen_once(self) -> None:
        # Its own connection, with no read timeout: a pub/sub connection mostly waits.
        redis = create_async_redis(self.redis_url, timeout_seconds=None)
        try:
            async with redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                await pubsub.subscribe(self.channel)
                while not self._stopping:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None and message["type"] == "message":
                        self.dispatch(message["data"])
        finally:
            await redis.aclose()

    async def run(self) -> None:
        """Stay subscribed, reconnecting after a Redis outage."""
        while not self._stopping:
            try:
                await self._listen_once()
            except REDIS_UNAVAILABLE as error:
                log.warning("job events: Redis unavailable, retrying: %s", error)
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


def get_hub() -> JobEventHub:
    hub: JobEventHub = current_app.extensions["job_events"]
    return hub


def init_app(app: Quart) -> None:
    @app.before_serving
    async def start_hub() -> None:
        hub = JobEventHub(app.config["REDIS_URL"], events_channel(app.config["REDIS_PREFIX"]))
        app.extensions["job_events"] = hub
        hub.start()

    @app.after_serving
    async def stop_hub() -> None:
        await app.extensions.pop("job_events").stop()
