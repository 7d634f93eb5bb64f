"""Live job events: the websocket listeners of each job in this process.

Workers publish every job's events on one channel; the process's pub/sub hub hands each
event to the listeners of that job. A listener's queue is bounded and, when
full, drops its oldest progress event: a slow websocket falls behind on progress (which
the next event supersedes anyway) but never stalls the others or grows without bound.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

LISTENER_QUEUE_SIZE = 32
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobEvent:
    """One event of a job: its fields, and the JSON text a websocket sends (made once per
    event, however many listeners it goes to)."""

    fields: dict[str, Any]
    text: str


# What wakes a socket's loop besides the job's events (never sent to the client).
TOKEN_ENDED = JobEvent({"type": "token-ended"}, "")
RECHECK = JobEvent({"type": "recheck-token"}, "")


class Listener:
    """The events of one job for one websocket."""

    def __init__(self, maxsize: int = LISTENER_QUEUE_SIZE) -> None:
        self.queue: asyncio.Queue[JobEvent] = asyncio.Queue(maxsize)
        # The token the socket was opened with (services/open_sockets.py), whether it has
        # been ended, and whether it must be checked again (endings may have been missed).
        self.claims: dict[str, Any] | None = None
        self.token_ended = False
        self.recheck_token = False

    def end_token(self) -> None:
        """The socket's token may no longer be used: wake the socket's loop to close it."""
        self.token_ended = True
        while not self.queue.empty():
            self.queue.get_nowait()  # nothing more is sent
        self.queue.put_nowait(TOKEN_ENDED)

    def check_token_again(self) -> None:
        """Endings may have been missed: check the token at once (the loop wakes for it)."""
        self.recheck_token = True
        self.offer(RECHECK)

    def offer(self, event: JobEvent) -> None:
        if self.token_ended:
            return
        if self.queue.full():
            self.queue.get_nowait()  # the oldest: progress that later events supersede
        self.queue.put_nowait(event)

    async def next(self, timeout: float) -> JobEvent | None:
        """The next event, or None if none came within `timeout` seconds."""
        if not self.queue.empty():
            return self.queue.get_nowait()
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for wraps the wait in a task of
        # its own, a task per event per listener, which showed in the fan-out profile.
        try:
            async with asyncio.timeout(timeout):
                return await self.queue.get()
        except TimeoutError:
            return None


class JobEventHub:
    """The listeners of each job in this process, fed from the shared pub/sub hub."""

    def __init__(self) -> None:
        self.listeners: dict[str, set[Listener]] = defaultdict(set)

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

    @contextmanager
    def listening(self, job_id: str) -> Iterator[Listener]:
        """A listener to the events of `job_id` for as long as the block runs."""
        listener = self.subscribe(job_id)
        try:
            yield listener
        finally:
            self.unsubscribe(job_id, listener)

    def dispatch(self, raw: str | bytes) -> None:
        """Hand one published event to the listeners of its job."""
        try:
            fields = json.loads(raw)
            job_id = fields.pop("job_id")
        except (ValueError, KeyError, AttributeError, TypeError):
            log.warning("ignoring a malformed job event: %r", raw)
            return
        listeners = list(self.listeners.get(job_id, ()))
        if listeners:
            event = JobEvent(fields, json.dumps(fields))
            for listener in listeners:
                listener.offer(event)
