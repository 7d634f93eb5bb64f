"""Going away: on SIGTERM, every open websocket is closed with 1001 before the server stops.

No ASGI server tells an app that it is about to stop while connections are still open:
Granian drops websockets without a close frame, uvicorn closes them with 1012, hypercorn
waits out its graceful timeout. So the app puts its own SIGTERM handler in front of the
server's (Granian and uvicorn install Python-level ones; asyncio's, as in hypercorn, run
on their own): it tells each socket to close with 1001, waits for them (at most
CLOSE_WAIT_SECONDS), then hands the signal on. HTTP requests in flight are the server's
to drain, which all three do.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from quart import Quart, current_app

GOING_AWAY = 1001
CLOSE_WAIT_SECONDS = 3.0
log = logging.getLogger(__name__)


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


def shutdown_state() -> ShutdownState:
    state: ShutdownState = current_app.extensions["shutdown_state"]
    return state


def init_app(app: Quart) -> None:
    state = ShutdownState()
    app.extensions["shutdown_state"] = state
    installed: dict[str, Any] = {}

    @app.before_serving
    async def put_handler_in_front_of_the_servers() -> None:
        previous = signal.getsignal(signal.SIGTERM)
        if threading.current_thread() is not threading.main_thread() or not callable(previous):
            # No server handler to go in front of (a test client), or not allowed here.
            return
        loop = asyncio.get_running_loop()

        async def close_then_pass_on(signum: int, frame: FrameType | None) -> None:
            await state.close_sockets()
            previous(signum, frame)

        def on_sigterm(signum: int, frame: FrameType | None) -> None:
            signal.signal(signal.SIGTERM, previous)  # a second SIGTERM goes straight through
            loop.call_soon_threadsafe(lambda: loop.create_task(close_then_pass_on(signum, frame)))

        signal.signal(signal.SIGTERM, on_sigterm)
        installed["previous"] = previous

    @app.after_serving
    async def restore_the_servers_handler() -> None:
        if "previous" in installed and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, installed.pop("previous"))
