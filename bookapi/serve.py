"""The production entry point: `python -m bookapi.serve --host 0.0.0.0 --port 5000 --workers 2`.

It checks the settings before any server starts, so a bad configuration ends the process
with a message and exit code 2 instead of failing inside every worker. Granian serves by
default: in the shipped benchmark it matched uvicorn's throughput with a far shorter tail
(p99) and beat hypercorn; `--server` picks uvicorn or hypercorn instead, for comparison.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import socket
import sys
import tempfile
from collections.abc import MutableMapping
from types import FrameType

from settings import ConfigError, load_settings

from .observability.logs import configure_logging, server_logging_config

APP = "bookapi.asgi:app"
GRACEFUL_TIMEOUT_SECONDS = 20
SERVERS = ("granian", "uvicorn", "hypercorn")
# Memory handed back after a burst. Granian allocates with its own jemalloc, which by
# default keeps freed pages for ten seconds of its own activity, and its forked workers run
# no background purge: after a wave of 10,000 websocket listeners had closed, the API still
# held 1,854 of the 1,955 MB they had taken a minute before. Python's own allocator
# (pymalloc) frees a 1 MiB arena only once every object in it is gone: after the same wave
# each worker kept 173 arenas holding 44 MB of live objects. So Granian's pages go back as
# soon as they are free, and Python allocates with the C allocator, whose free pages
# `web/services/heap_trim.py` hands back. An operator's own settings (the same variables) win.
JEMALLOC_SETTING = "_RJEM_MALLOC_CONF"
JEMALLOC_RETURNS_MEMORY = "dirty_decay_ms:1000,muzzy_decay_ms:0"
PYTHON_ALLOCATOR_SETTING = "PYTHONMALLOC"
PYTHON_ALLOCATOR = "malloc"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bookapi.serve", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    parser.add_argument("--server", choices=SERVERS, default="granian")
    return parser.parse_args(argv)


def serve(server: str, host: str, port: int, workers: int) -> None:
    if server == "uvicorn":
        import uvicorn

        uvicorn.run(
            APP,
            host=host,
            port=port,
            workers=workers,
            loop="uvloop",
            http="httptools",
            ws="websockets-sansio",
            lifespan="on",
            access_log=False,
            log_level="warning",
            log_config=server_logging_config(),
            timeout_graceful_shutdown=GRACEFUL_TIMEOUT_SECONDS,
        )
    elif server == "hypercorn":
        exit_code = run_hypercorn(APP, host, port, workers)
        if exit_code:
            sys.exit(exit_code)
    else:
        from granian.constants import Interfaces, Loops
        from granian.server import Server

        from .web.services.going_away import hold_early_sigterm

        # Granian forks its workers after installing its own SIGTERM handler here, which
        # would swallow a SIGTERM a worker gets while still importing the app.
        os.register_at_fork(after_in_child=hold_early_sigterm)
        Server(
            APP,
            address=host,
            port=port,
            interface=Interfaces.ASGI,
            workers=workers,
            loop=Loops.uvloop,
            log_access=False,
            log_dictconfig=server_logging_config(),
            workers_kill_timeout=GRACEFUL_TIMEOUT_SECONDS,
        ).serve()


def return_freed_memory(environ: MutableMapping[str, str]) -> bool:
    """The allocators' settings in `environ` (Granian's jemalloc reads its own when Granian
    loads, and its forked workers keep it); True if Python must start again to use its
    allocator, which it chooses once, at start."""
    environ.setdefault(JEMALLOC_SETTING, JEMALLOC_RETURNS_MEMORY)
    if PYTHON_ALLOCATOR_SETTING in environ:
        return False
    environ[PYTHON_ALLOCATOR_SETTING] = PYTHON_ALLOCATOR
    return True


def hypercorn_worker(app_path: str, fd: int) -> None:
    import importlib

    import uvloop
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    module_name, _, attribute = app_path.partition(":")
    app = getattr(importlib.import_module(module_name), attribute)  # built in this process
    config = Config()
    config.bind = [f"fd://{fd}"]
    config.accesslog = None
    config.logconfig_dict = server_logging_config()
    config.graceful_timeout = GRACEFUL_TIMEOUT_SECONDS
    uvloop.run(serve(app, config, mode="asgi"))


def run_hypercorn(app_path: str, host: str, port: int, workers: int) -> int:
    """Hypercorn with several worker processes that each handle their own SIGTERM.

    `hypercorn.run` gives its workers no signal handler (it stops them through a shared
    event), so the app could not close its websockets with 1001 before the graceful drain
    ended in cancellation (1011). Here the parent binds the socket, forks the workers, and
    forwards SIGTERM and SIGINT to them; each runs `hypercorn.asyncio.serve` with
    hypercorn's own signal handling, in front of which the app puts its going-away
    handler. The exit code is the first failing worker's, else 0."""
    listener = socket.create_server((host, port), backlog=2048)
    listener.set_inheritable(True)
    fork = multiprocessing.get_context("fork")
    processes = [
        fork.Process(target=hypercorn_worker, args=(app_path, listener.fileno()))
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


def main(argv: list[str] | None = None) -> int:
    if argv is None and return_freed_memory(os.environ):
        # The same command again, with the allocators set (the process keeps its PID).
        os.execv(sys.executable, sys.orig_argv)
    args = parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"bookapi: configuration error: {error}", file=sys.stderr)
        return 2
    # This process's own lines (the server's start and stop) in the app's format too.
    configure_logging(settings)
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # The server's worker processes (forked or spawned after this) write their metrics
        # here and /metrics adds them up; a fresh folder, so no dead process's counts linger.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="bookapi-metrics-")
    serve(args.server, args.host, args.port, args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
