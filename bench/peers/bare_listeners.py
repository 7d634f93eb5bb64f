"""The floor for websocket listeners: what the server itself costs per open listener.

Each listener is accepted, sent a snapshot, and then waits, with a receive pending as any
real listener needs one (to answer the client's pings and to notice it hang up), until the
benchmark creates the file `BENCH_FINISH_FILE`; then it is sent a progress and a finished
message and closed. No framework, no auth, no Redis: the server's share alone.
`granian --interface asgi --workers 2 bench.peers.bare_listeners:app`."""

from __future__ import annotations

import asyncio
import os
from contextlib import suppress
from pathlib import Path
from typing import Any

POLL_SECONDS = 0.05
CLOSE_WAIT_SECONDS = 5.0
SNAPSHOT = '{"type": "snapshot"}'
ENDING = ('{"type": "progress"}', '{"type": "finished"}')


class Finish:
    """Set once the benchmark creates its file: one poller per process, in its loop."""

    event: asyncio.Event | None = None
    poller: asyncio.Task[None] | None = None

    @classmethod
    def told(cls) -> asyncio.Event:
        if cls.event is None:
            cls.event = asyncio.Event()
            cls.poller = asyncio.get_running_loop().create_task(cls.poll(cls.event))
        return cls.event

    @staticmethod
    async def poll(event: asyncio.Event) -> None:
        signal = Path(os.environ["BENCH_FINISH_FILE"])
        while not signal.exists():
            await asyncio.sleep(POLL_SECONDS)
        event.set()


async def listener(receive: Any, send: Any) -> None:
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.send", "text": SNAPSHOT})
    pending = asyncio.ensure_future(receive())
    finish = asyncio.ensure_future(Finish.told().wait())
    await asyncio.wait({pending, finish}, return_when=asyncio.FIRST_COMPLETED)
    if finish.done():
        for text in ENDING:
            await send({"type": "websocket.send", "text": text})
        await send({"type": "websocket.close", "code": 1000})
        # The pending receive ends with the client's close, as a framework's would: a
        # receive cancelled instead left Granian holding the connection's memory.
        await asyncio.wait({pending}, timeout=CLOSE_WAIT_SECONDS)
    for task in (pending, finish):
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (message := await receive())["type"] != "lifespan.shutdown":
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
    elif scope["type"] == "websocket":
        await listener(receive, send)
    else:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ready"})
