"""Hypercorn with several worker processes that each handle their own SIGTERM.

`hypercorn.run` gives its workers no signal handler (it stops them through a shared
event), so the app could not close its websockets with 1001 before the graceful drain
ended in cancellation (1011). Here the parent binds the socket, forks the workers, and
forwards SIGTERM and SIGINT to them; each worker runs `hypercorn.asyncio.serve` with
hypercorn's own signal handling, in front of which the app puts its going-away handler.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
from types import FrameType

GRACEFUL_TIMEOUT_SECONDS = 20


def serve_one(app_path: str, fd: int) -> None:
    import importlib

    import uvloop
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    module_name, _, attribute = app_path.partition(":")
    app = getattr(importlib.import_module(module_name), attribute)  # built in this process
    config = Config()
    config.bind = [f"fd://{fd}"]
    config.accesslog = None
    config.graceful_timeout = GRACEFUL_TIMEOUT_SECONDS
    uvloop.run(serve(app, config, mode="asgi"))


def run(app_path: str, host: str, port: int, workers: int) -> int:
    """Serve until SIGTERM or SIGINT; the exit code is the first failing worker's, else 0."""
    listener = socket.create_server((host, port), backlog=2048)
    listener.set_inheritable(True)
    fork = multiprocessing.get_context("fork")
    processes = [
        fork.Process(target=serve_one, args=(app_path, listener.fileno()))
        for _ in range(max(1, workers))
    ]
    for process in processes:
        process.start()

    def forward(signum: int, _frame: FrameType | None) -> None:
        for process in processes:
            if process.pid is not None and process.exitcode is None:
                os.kill(process.pid, signum)

    # Installed after the forks: a worker keeps the default handlers until hypercorn's own.
    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for process in processes:
        process.join()
    listener.close()
    return next((process.exitcode for process in processes if process.exitcode), 0)
