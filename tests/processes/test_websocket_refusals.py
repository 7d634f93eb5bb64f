"""A websocket handshake refused for a bad token or someone else's job, on each server the
project runs (Granian in production, hypercorn in development, uvicorn in the benchmark):
the client learns it (a 401 / 404 refusal, or a close with 1008, as the contract allows),
and the server logs no error for it."""

from __future__ import annotations

from pathlib import Path

import pytest
import websockets

from settings import TestingConfig
from tests.helpers import worker_environment
from tests.served import import_demo_books, served_api, sign_up


async def outcome(url: str, token: str) -> str:
    """How the server answered: `refused <status>`, `closed <code>`, or `open`."""
    try:
        async with websockets.connect(
            url, additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=5
        ) as socket:
            try:
                await socket.recv()
                return "open"
            except websockets.ConnectionClosed as closed:
                return f"closed {closed.rcvd.code if closed.rcvd else None}"
    except websockets.InvalidStatus as refused:
        return f"refused {refused.response.status_code}"


@pytest.mark.parametrize("server", ["granian", "hypercorn", "uvicorn"])
async def test_refused_handshakes_are_told_and_logged_as_nothing_worse(
    server: str, settings: TestingConfig, tmp_path: Path
) -> None:
    env = worker_environment(settings)
    async with served_api(env, tmp_path, "--server", server) as base:
        owner = sign_up(base, "owner@example.com")["access_token"]
        stranger = sign_up(base, "stranger@example.com")["access_token"]
        job = import_demo_books(base, owner, 3)
        url = f"{base.replace('http', 'ws')}/api/v1/jobs/{job['id']}/events"
        answers = {
            "bad token": await outcome(url, "nonsense"),
            "someone else's job": await outcome(url, stranger),
            "own job": await outcome(url, owner),
        }
    log = (tmp_path / "api.log").read_text(errors="replace")
    assert answers["bad token"] in ("refused 401", "closed 1008"), answers
    assert answers["someone else's job"] in ("refused 404", "closed 1008"), answers
    assert answers["own job"] == "open", answers
    assert "Traceback" not in log and "Unsupported ASGI" not in log, log[-3000:]
