"""Going away: on SIGTERM, every open websocket is closed with 1001 before the server stops.

No ASGI server tells an app that it is about to stop while connections are still open:
Granian drops websockets without a close frame, uvicorn closes them with 1012, hypercorn
waits out its graceful timeout. So the app goes in front of the server's SIGTERM handler:
it tells each socket to close with 1001, waits for them (at most CLOSE_WAIT_SECONDS),
then hands the signal on. Two kinds of handler to go in front of:

- A Python-level one (uvicorn): replaced with ours, which calls it afterwards.
- One the event loop dispatches (Granian, hypercorn: `loop.add_signal_handler`). uvloop
  and asyncio run those from their wakeup pipe whatever Python handler is installed, so
  replacing the Python handler would only race the server. Ours takes the loop's SIGTERM
  slot instead, and hands on by raising SIGINT, which both servers handle as the same
  graceful stop; we only do so when the loop dispatches SIGINT too.

HTTP requests in flight are the server's to drain, which all three do.

A SIGTERM can also reach a Granian worker before any of this: Granian forks its workers
from a process whose Python SIGTERM handler sets that parent's own stop flag, and the
worker keeps that handler while it imports the app (most of a second). A SIGTERM then set
a flag nobody read, and the worker served on until Granian killed it 20 s later (a stop
right after a start, a deploy that replaces a just-started process). `hold_early_sigterm`
runs in each such worker right after the fork: it keeps the signal, and `install` hands it
on once the server's handlers and ours are in place.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

GOING_AWAY = 1001
CLOSE_WAIT_SECONDS = 3.0
log = logging.getLogger(__name__)
# SIGTERMs that arrived before the server had its handlers (see the module's docstring).
# A list: appending is safe in a signal handler, where taking a lock is not.
early_sigterms: list[int] = []


def _hold_sigterm(signum: int, _frame: FrameType | None) -> None:
    early_sigterms.append(signum)


def hold_early_sigterm() -> None:
    """In a server worker just forked: keep a SIGTERM until `SigtermRelay.install` (the
    server replaces this handler with its own before the app starts)."""
    early_sigterms.clear()
    signal.signal(signal.SIGTERM, _hold_sigterm)


class ShutdownState:
    """Whether this process is going away, and how many websockets are still open."""

    def __init__(self) -> None:
        self.going_away = asyncio.Event()
        self.open_sockets = 0
        self.all_closed = asyncio.Event()
        self.all_closed.set()

    @contextmanager
    def open_socket(self) -> Iterator[asyncio.Event]:
        self.open_sockets += 1
        self.all_closed.clear()
        try:
            yield self.going_away
        finally:
            self.open_sockets -= 1
            if self.open_sockets == 0:
                self.all_closed.set()

    async def close_sockets(self) -> None:
        self.going_away.set()
        try:
            await asyncio.wait_for(self.all_closed.wait(), CLOSE_WAIT_SECONDS)
        except TimeoutError:
            log.warning("%d websockets still open after %ss", self.open_sockets, CLOSE_WAIT_SECONDS)


def dispatched_by_loop(handler: object, loop: asyncio.AbstractEventLoop) -> bool:
    """Whether `handler` is the stub a loop installs for a signal it dispatches itself:
    uvloop's is a method of the loop, asyncio's a no-op function of its own module."""
    return getattr(handler, "__self__", None) is loop or (
        getattr(handler, "__module__", None) == "asyncio.unix_events"
    )


class SigtermRelay:
    """Goes in front of the server's SIGTERM handler while the app serves: closes the
    websockets with 1001 first, then hands the signal on to the server."""

    def __init__(self, state: ShutdownState) -> None:
        self.state = state
        self.previous: Any = None  # the server's Python-level handler we replaced
        self.closing: set[asyncio.Task[None]] = set()  # tasks the loop holds only weakly

    def close_then(self, pass_on: Callable[[], None]) -> None:
        task = asyncio.get_running_loop().create_task(self.state.close_sockets())
        self.closing.add(task)

        def closed(done: asyncio.Task[None]) -> None:
            self.closing.discard(done)
            pass_on()

        task.add_done_callback(closed)

    def on_loop_sigterm(self) -> None:
        if self.state.going_away.is_set():  # a second SIGTERM goes straight through
            signal.raise_signal(signal.SIGINT)
        else:
            self.close_then(lambda: signal.raise_signal(signal.SIGINT))

    def on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        previous = self.previous
        signal.signal(signal.SIGTERM, previous)  # a second SIGTERM goes straight through
        self.loop.call_soon_threadsafe(self.close_then, lambda: previous(signum, frame))

    async def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers can only be set here
        self.loop = asyncio.get_running_loop()
        previous = signal.getsignal(signal.SIGTERM)
        sigint = signal.getsignal(signal.SIGINT)
        if dispatched_by_loop(previous, self.loop) and dispatched_by_loop(sigint, self.loop):
            self.loop.add_signal_handler(signal.SIGTERM, self.on_loop_sigterm)
        elif callable(previous):
            self.previous = previous
            signal.signal(signal.SIGTERM, self.on_sigterm)
        # else no server handler to go in front of (a test client)
        if early_sigterms:
            early_sigterms.clear()
            signal.raise_signal(signal.SIGTERM)  # now to us, then on to the server

    async def uninstall(self) -> None:
        if self.state.open_sockets:  # the server stopped some other way (SIGINT, say)
            await self.state.close_sockets()
        if self.previous is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self.previous)
            self.previous = None
