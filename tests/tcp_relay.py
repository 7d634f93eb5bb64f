"""A TCP relay in the test's own event loop: a real server that can come up later than the
app (or go away) while the app keeps the same address for it."""

from __future__ import annotations

import asyncio
import contextlib

from devstack import free_port


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.close()


class TcpRelay:
    """Relays connections made to 127.0.0.1:`port` to `target_host`:`target_port` while
    started; refused (nothing listening) before and after. Stopping closes every relayed
    connection, as a server that goes down does, and it can be started again."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        target_reader, target_writer = await asyncio.open_connection(*self.target)
        self._writers.update((writer, target_writer))
        for pipe in (_pipe(reader, target_writer), _pipe(target_reader, writer)):
            task = asyncio.create_task(pipe)
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for task in list(self._pipes):
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)
        for writer in self._writers:
            writer.close()
        self._writers.clear()
        if server is not None:
            await server.wait_closed()  # on 3.12 and later, until every connection closed
