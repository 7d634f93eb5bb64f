"""A minimal keep-alive HTTP/1.1 client on asyncio streams, for load from one process.

The soak test holds hundreds of connections open from a single Python process; a client
library per connection (or a thread each) would cost more CPU than the server it loads.
Only what the API answers is handled: Content-Length bodies, and chunked ones.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any


class StaleConnectionError(ConnectionError):
    """The connection was closed before any byte of the answer arrived."""


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._streams is None:
            self._streams = await asyncio.open_connection(self.host, self.port)
        return self._streams

    async def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> Answer:
        reused = self._streams is not None
        try:
            return await self._exchange(method, path, body, headers)
        except StaleConnectionError:
            # A kept-alive connection the server closed while it sat idle (servers may, any
            # time), before a byte of the answer: send the request again on a new one. Not
            # only idempotent ones: a soak's POST sent twice would show as a 409, an error.
            if not reused:
                raise
            return await self._exchange(method, path, body, headers)

    async def _exchange(
        self, method: str, path: str, body: bytes, headers: dict[str, str] | None
    ) -> Answer:
        reader, writer = await self._open()
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        lines.append(f"Content-Length: {len(body)}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        await writer.drain()
        try:
            return await self._read(reader)
        except BaseException:
            await self.close()  # a half-read answer leaves the connection unusable
            raise

    async def _read(self, reader: asyncio.StreamReader) -> Answer:
        status_line = await reader.readline()
        if not status_line:
            raise StaleConnectionError("the server closed the connection before answering")
        status = int(status_line.split()[1])
        headers: dict[str, str] = {}
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding") == "chunked":
            body = b""
            while size := int((await reader.readline()).strip(), 16):
                body += await reader.readexactly(size)
                await reader.readline()
            await reader.readline()
        else:
            body = await reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("connection") == "close":
            await self.close()
        return Answer(status, headers, body)
