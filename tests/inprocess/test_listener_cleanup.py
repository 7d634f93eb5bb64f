"""A listener that goes away before its job ends leaves nothing behind: no task still
waiting for the job's events or for the process to stop (each held its whole websocket,
so memory was never returned after a wave of listeners)."""

from __future__ import annotations

import asyncio
import gc

from quart import Quart
from quart.ctx import WebsocketContext
from quart.typing import TestClientProtocol as Client

from bookapi.domain.books.files import CSV
from bookapi.domain.jobs import job_repository
from bookapi.domain.jobs.records import new_export_job
from bookapi.web.services.app_services import services_of
from tests.helpers import OWNER_ID, MintToken

LISTENERS = 50


def websocket_contexts() -> int:
    gc.collect()
    return sum(isinstance(thing, WebsocketContext) for thing in gc.get_objects())


async def test_listeners_that_leave_early_leave_no_tasks_or_websockets(
    app: Quart, client: Client, mint_token: MintToken
) -> None:
    job = new_export_job(OWNER_ID, CSV, {})  # no worker runs it: it stays queued
    await job_repository.insert_job(services_of(app).connections.db, job)
    url = f"/api/v1/jobs/{job['_id']}/events"
    auth = {"Authorization": f"Bearer {await mint_token(OWNER_ID)}"}
    tasks_before, contexts_before = len(asyncio.all_tasks()), websocket_contexts()
    for _ in range(LISTENERS):
        async with client.websocket(url, headers=auth) as socket:
            assert '"snapshot"' in str(await socket.receive())
        # leaving the block hangs up while the server still waits for the job's events
    await asyncio.sleep(0.2)
    assert len(asyncio.all_tasks()) - tasks_before < 5
    assert websocket_contexts() - contexts_before < 5


async def test_listeners_that_open_pooled_connections_leave_no_websockets(
    app: Quart, client: Client, mint_token: MintToken
) -> None:
    # Listeners arriving together make the Redis and MongoDB pools open new connections
    # from inside their handlers; those connections must not keep the handlers' contexts
    # (each holding its websocket and bearer token) once the listeners are gone.
    job = new_export_job(OWNER_ID, CSV, {})
    await job_repository.insert_job(services_of(app).connections.db, job)
    url = f"/api/v1/jobs/{job['_id']}/events"
    auth = {"Authorization": f"Bearer {await mint_token(OWNER_ID)}"}
    contexts_before = websocket_contexts()

    async def listen() -> None:
        async with client.websocket(url, headers=auth) as socket:
            assert '"snapshot"' in str(await socket.receive())

    await asyncio.gather(*(listen() for _ in range(LISTENERS)))
    await asyncio.sleep(0.2)
    assert websocket_contexts() == contexts_before
