"""Websocket fan-out: N listeners on one job on one API process. Who saw snapshot, progress
and finished in that order, how far apart the `finished` events arrived, and refusals.

The listeners here are the `websockets` library in this process: the client for a machine
without Go. With Go the benchmark runs `bench/listener_client` instead (bench/waves.py), as
a Python event loop holding 10,000 sockets takes the server's cores from it."""

from __future__ import annotations

import asyncio
import gc
import json
import time
from dataclasses import dataclass, field

import websockets
from websockets.exceptions import InvalidStatus

HANDSHAKE_TIMEOUT = 60


@dataclass
class Listener:
    kinds: list[str] = field(default_factory=list)
    finished_at: float | None = None
    refused: int | None = None  # the handshake's status when it was refused
    error: str | None = None

    @property
    def complete(self) -> bool:
        """snapshot, then at least one progress, then finished, in that order."""
        kinds = self.kinds
        return (
            len(kinds) >= 3
            and kinds[0] == "snapshot"
            and kinds[-1] == "finished"
            and set(kinds[1:-1]) == {"progress"}
        )


@dataclass
class FanoutResult:
    listeners: int
    complete: int
    refused_503: int
    other_failures: int
    finished_spread_p99_ms: float


async def listen(url: str, token: str, listener: Listener, connected: asyncio.Event) -> None:
    try:
        async with websockets.connect(
            url,
            additional_headers={"Authorization": f"Bearer {token}"},
            open_timeout=HANDSHAKE_TIMEOUT,
            max_queue=None,
        ) as socket:
            async for raw in socket:
                arrived = time.perf_counter()  # before this client's own parsing work
                message = json.loads(raw)
                listener.kinds.append(message["type"])
                if message["type"] == "snapshot":
                    connected.set()
                if message["type"] == "finished":
                    listener.finished_at = arrived
    except InvalidStatus as refused:
        listener.refused = refused.response.status_code
    except (OSError, TimeoutError, websockets.WebSocketException) as error:
        listener.error = repr(error)
    finally:
        connected.set()


async def connect_all(
    url: str, token: str, count: int
) -> tuple[list[Listener], list[asyncio.Task[None]]]:
    """Open `count` listeners (in waves, as clients would arrive) and wait for their snapshots."""
    listeners = [Listener() for _ in range(count)]
    events = [asyncio.Event() for _ in range(count)]
    tasks = [
        asyncio.create_task(listen(url, token, listener, event))
        for listener, event in zip(listeners, events, strict=True)
    ]
    await asyncio.wait_for(asyncio.gather(*(event.wait() for event in events)), HANDSHAKE_TIMEOUT)
    return listeners, tasks


async def until_all_done(tasks: list[asyncio.Task[None]], timeout: float) -> None:
    """Wait for every listener, with this client's collector off meanwhile: a full collection
    over 10,000 sockets' objects stops this process for hundreds of milliseconds, which
    would be measured as the server's spread of `finished`."""
    gc.disable()
    try:
        await asyncio.wait_for(asyncio.gather(*tasks), timeout)
    finally:
        gc.enable()


def summarise(listeners: list[Listener]) -> FanoutResult:
    finished = sorted(one.finished_at for one in listeners if one.finished_at is not None)
    spread = [(moment - finished[0]) * 1000 for moment in finished] if finished else [0.0]
    p99 = spread[min(len(spread) - 1, int(len(spread) * 0.99))]
    return FanoutResult(
        listeners=len(listeners),
        complete=sum(one.complete for one in listeners),
        refused_503=sum(one.refused == 503 for one in listeners),
        other_failures=sum(
            (one.refused not in (None, 503)) or one.error is not None for one in listeners
        ),
        finished_spread_p99_ms=p99,
    )


class PythonWave:
    """Every listener of a wave in this process (the Go client's stand-in without Go)."""

    def __init__(self, url: str, token: str, count: int, timeout: float) -> None:
        self.url, self.token, self.count, self.timeout = url, token, count, timeout
        self.listeners: list[Listener] = []
        self.tasks: list[asyncio.Task[None]] = []

    async def open(self) -> None:
        self.listeners, self.tasks = await connect_all(self.url, self.token, self.count)

    async def ended(self) -> list[Listener]:
        await until_all_done(self.tasks, self.timeout)
        return self.listeners
