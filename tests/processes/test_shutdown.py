"""SIGTERM to a served API under load: requests in flight complete, websocket listeners get
1001 (going away), nothing answers 5xx, and the process exits cleanly. For each server
`python -m bookapi.serve` offers, as real processes."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import websockets

from bookapi.domain.books.demo import demo_file
from bookapi.domain.books.files import CSV
from devstack import free_port
from settings import TestingConfig
from tests.helpers import MintToken, worker_environment
from tests.served import import_demo_books, start_api, until_ready

LISTENERS = 20
GOING_AWAY = 1001


def hammer(base: str, statuses: list[int], stop: threading.Event) -> None:
    """GET the book list until the server stops taking connections; record every status."""
    while not stop.is_set():
        try:
            with urllib.request.urlopen(f"{base}/api/v1/books?limit=5", timeout=10) as response:
                statuses.append(response.status)
        except urllib.error.HTTPError as error:
            statuses.append(error.code)
        except OSError:
            return  # refused or reset before a request was read: the server is gone


async def slow_upload(
    port: int, token: str, started: asyncio.Event, finish: asyncio.Event
) -> bytes:
    """An import whose body arrives in two halves, the second after SIGTERM was sent."""
    body = demo_file(200, CSV)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        f"POST /api/v1/imports HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: text/csv\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    writer.write(head + body[: len(body) // 2])
    await writer.drain()
    started.set()
    await finish.wait()
    writer.write(body[len(body) // 2 :])
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), 30)
    writer.close()
    return status_line


@pytest.mark.parametrize("server", ["granian", "uvicorn", "hypercorn"])
async def test_sigterm_under_load_completes_requests_and_closes_websockets_with_1001(
    server: str, settings: TestingConfig, mint_token: MintToken, tmp_path: Path
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    env = worker_environment(settings)
    process = start_api(env, log, port, "--workers", "2", "--server", server)
    stop_hammering = threading.Event()
    try:
        await until_ready(base, process, log)
        token = await mint_token("f" * 24)
        # No worker runs: the job stays queued and its listeners wait for events.
        job_id = (await asyncio.to_thread(import_demo_books, base, token, 5))["id"]
        auth = {"Authorization": f"Bearer {token}"}
        sockets = [
            await websockets.connect(
                f"ws://127.0.0.1:{port}/api/v1/jobs/{job_id}/events", additional_headers=auth
            )
            for _ in range(LISTENERS)
        ]
        for socket in sockets:
            assert '"snapshot"' in str(await socket.recv())
        statuses: list[int] = []
        hammers = [
            threading.Thread(target=hammer, args=(base, statuses, stop_hammering)) for _ in range(4)
        ]
        for thread in hammers:
            thread.start()
        started, finish = asyncio.Event(), asyncio.Event()
        upload = asyncio.create_task(slow_upload(port, token, started, finish))
        await started.wait()
        await asyncio.sleep(0.5)  # under load, with an upload half sent

        process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        close_codes = []
        for socket in sockets:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(socket.recv(), 10)
            close_codes.append(closed.value.rcvd.code if closed.value.rcvd else None)
        closed_after = time.monotonic() - signalled
        finish.set()
        status_line = await upload
        exit_code = await asyncio.to_thread(process.wait, 30)
        stop_hammering.set()
        for thread in hammers:
            thread.join(15)
    finally:
        stop_hammering.set()
        if process.poll() is None:
            process.kill()
            process.wait()
    output = log.read_text(errors="replace")
    assert close_codes == [GOING_AWAY] * LISTENERS, output[-3000:]
    assert closed_after < 5
    assert status_line.startswith(b"HTTP/1.1 202"), (status_line, output[-3000:])
    assert statuses and all(status < 500 for status in statuses), sorted(set(statuses))
    assert exit_code == 0, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
