"""Development auto-reload (`./bootstrap.sh`): a source change stops the served API with
SIGTERM, so its job websockets close with 1001, and starts it again with the new code; a
server that exits by itself waits for the next change."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
import websockets

from devstack import free_port
from devstack.reload import ReloadingServer
from settings import TestingConfig
from tests.helpers import MintToken, worker_environment
from tests.served import import_demo_books, until_ready

GOING_AWAY = 1001


def touch(path: Path) -> None:
    """A change the watcher cannot miss, however coarse the file system's clock."""
    stamp = path.stat().st_mtime_ns + 2_000_000_000
    os.utime(path, ns=(stamp, stamp))


async def test_a_change_reloads_the_api_and_its_listeners_are_told_1001(
    settings: TestingConfig, mint_token: MintToken, tmp_path: Path
) -> None:
    watched = tmp_path / "watched.py"
    watched.write_text("VERSION = 1\n")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "api.log"
    argv = [sys.executable, "-m", "bookapi.serve", "--server", "hypercorn", "--port", str(port)]
    server = ReloadingServer(argv, worker_environment(settings), [watched], log)
    try:
        await until_ready(base, server.process, log)
        token = await mint_token("e" * 24)
        # No worker runs: the job stays queued and its listener waits for events.
        job = await asyncio.to_thread(import_demo_books, base, token, 5)
        async with websockets.connect(
            f"ws://127.0.0.1:{port}/api/v1/jobs/{job['id']}/events",
            additional_headers={"Authorization": f"Bearer {token}"},
        ) as socket:
            assert '"snapshot"' in str(await socket.recv())
            first = server.process.pid
            assert not await asyncio.to_thread(server.check), "nothing changed yet"

            touch(watched)
            assert await asyncio.to_thread(server.check)
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(socket.recv(), 10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == GOING_AWAY
        assert server.process.pid != first
        await until_ready(base, server.process, log)
    finally:
        exit_code = server.stop()
    assert exit_code == 0, log.read_text()[-3000:]
    assert "Traceback" not in log.read_text()


def test_a_server_that_exits_waits_for_the_next_change(tmp_path: Path) -> None:
    watched = tmp_path / "watched.py"
    watched.write_text("")
    marker = tmp_path / "starts"
    argv = [sys.executable, "-c", f"open({str(marker)!r}, 'a').write('x')"]
    server = ReloadingServer(argv, dict(os.environ), [watched])
    server.process.wait(30)
    assert not server.check() and not server.check(), "not started again without a change"
    assert marker.read_text() == "x"
    touch(watched)
    assert server.check()
    server.process.wait(30)
    assert marker.read_text() == "xx"
    assert server.stop() == 0
