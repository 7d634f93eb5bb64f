"""Live job events: the websocket listeners of each job in this process.

Workers publish every job's events on one channel; the process's pub/sub hub hands each
event to the listeners of that job. What a listener has not sent yet is bounded, and a
progress event replaces an unsent one: a slow websocket sends the newest progress instead
of working through stale ones, and never stalls the others or grows without bound.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict, deque
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
    """The events of one job for one websocket, not yet sent.

    Progress is a level, not a log: a progress event that finds the last one still unsent
    takes its place, so a socket that has fallen behind (10,000 listeners on two processes
    cannot all keep up with an import's ten progress events a second) is at most one
    progress behind, and its `finished` waits behind no backlog. Once the socket has had a
    progress, `finished` (whose job carries the final progress) takes an unsent one's place
    too: when a job ends, each of its sockets sends one message, not two."""

    def __init__(self, maxsize: int = LISTENER_QUEUE_SIZE) -> None:
        self.maxsize = maxsize
        self.pending: deque[JobEvent] = deque()
        self.waiter: asyncio.Future[None] | None = None
        # The token the socket was opened with (services/open_sockets.py), whether it has
        # been ended, and whether it must be checked again (endings may have been missed).
        self.claims: dict[str, Any] | None = None
        self.token_ended = False
        self.recheck_token = False
        self.had_progress = False

    def end_token(self) -> None:
        """The socket's token may no longer be used: wake the socket's loop to close it."""
        self.token_ended = True
        self.pending.clear()  # nothing more is sent
        self._put(TOKEN_ENDED)

    def check_token_again(self) -> None:
        """Endings may have been missed: check the token at once (the loop wakes for it)."""
        self.recheck_token = True
        self.offer(RECHECK)

    def offer(self, event: JobEvent) -> None:
        """Queue `event` for the socket (unless its token has ended: it takes no more)."""
        if self.token_ended:
            return
        pending = self.pending
        if pending and is_progress(pending[-1]) and self.supersedes_progress(event):
            pending[-1] = event  # the newer level replaces the unsent one
            return
        if len(pending) >= self.maxsize:
            pending.popleft()  # the oldest (bounded whatever arrives)
        self._put(event)

    def supersedes_progress(self, event: JobEvent) -> bool:
        kind = event.fields.get("type")
        return kind == "progress" or (kind == "finished" and self.had_progress)

    def _put(self, event: JobEvent) -> None:
        self.pending.append(event)
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def next(self, timeout: float) -> JobEvent | None:
        """The next event, or None if none came within `timeout` seconds."""
        if not self.pending:
            self.waiter = asyncio.get_running_loop().create_future()
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for wraps the wait in a task
            # of its own, a task per event per listener, which showed in the fan-out profile.
            try:
                async with asyncio.timeout(timeout):
                    await self.waiter
            except TimeoutError:
                return None
            finally:
                self.waiter = None
        event = self.pending.popleft()
        if is_progress(event):
            self.had_progress = True
        return event


def is_progress(event: JobEvent) -> bool:
    return event.fields.get("type") == "progress"


def forget_listener(index: dict[str, set[Listener]], key: str, listener: Listener) -> None:
    """Drop `listener` from the set of `key` in `index`, and the key once its set is empty."""
    listeners = index.get(key)
    if listeners is not None:
        listeners.discard(listener)
        if not listeners:
            del index[key]


class JobEventHub:
    """The listeners of each job in this process, fed from the shared pub/sub hub."""

    def __init__(self) -> None:
        self.listeners: dict[str, set[Listener]] = defaultdict(set)

    def subscribe(self, job_id: str) -> Listener:
        listener = Listener()
        self.listeners[job_id].add(listener)
        return listener

    def unsubscribe(self, job_id: str, listener: Listener) -> None:
        forget_listener(self.listeners, job_id, listener)

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
