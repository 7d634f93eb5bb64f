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


def dispatched_by_loop(handler: object, loop: asyncio.AbstractEventLoop) -> bool:
    """Whether `handler` is the stub a loop installs for a signal it dispatches itself:
    uvloop's is a method of the loop, asyncio's a no-op function of its own module."""
    return getattr(handler, "__self__", None) is loop or (
        getattr(handler, "__module__", None) == "asyncio.unix_events"
    )


def init_app(app: Quart) -> None:
    state = ShutdownState()
    app.extensions["shutdown_state"] = state
    installed: dict[str, Any] = {}
    closing: set[asyncio.Task[None]] = set()  # a task the loop holds only weakly

    def close_then(pass_on: Callable[[], None]) -> None:
        task = asyncio.get_running_loop().create_task(state.close_sockets())
        closing.add(task)

        def closed(done: asyncio.Task[None]) -> None:
            closing.discard(done)
            pass_on()

        task.add_done_callback(closed)

    @app.before_serving
    async def put_handler_in_front_of_the_servers() -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers can only be set here
        loop = asyncio.get_running_loop()
        previous = signal.getsignal(signal.SIGTERM)
        if dispatched_by_loop(previous, loop) and dispatched_by_loop(
            signal.getsignal(signal.SIGINT), loop
        ):

            def on_loop_sigterm() -> None:
                if state.going_away.is_set():  # a second SIGTERM goes straight through
                    signal.raise_signal(signal.SIGINT)
                else:
                    close_then(lambda: signal.raise_signal(signal.SIGINT))

            loop.add_signal_handler(signal.SIGTERM, on_loop_sigterm)
        elif callable(previous):

            def on_sigterm(signum: int, frame: FrameType | None) -> None:
                signal.signal(signal.SIGTERM, previous)  # a second SIGTERM goes straight through
                loop.call_soon_threadsafe(close_then, lambda: previous(signum, frame))

            signal.signal(signal.SIGTERM, on_sigterm)
            installed["previous"] = previous
        # else no server handler to go in front of (a test client)

    @app.after_serving
    async def close_sockets_and_restore_the_servers_handler() -> None:
        if state.open_sockets:  # the server stopped some other way (SIGINT, say)
            await state.close_sockets()
        if "previous" in installed and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, installed.pop("previous"))
