"""An open job websocket closes (1008) as soon as the token it was opened with may no longer
be used: a logout of that token, or a password change or disablement of its account. The
ending travels through real Redis pub/sub, as it would to every other API process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any, cast

import pytest
from quart import Quart
from quart.testing.connections import WebsocketDisconnectError
from quart.typing import TestClientProtocol as Client

from bookapi.domain.books.files import CSV
from bookapi.domain.jobs import job_repository
from bookapi.domain.jobs.records import new_export_job
from bookapi.web.services.app_services import services_of
from tests.helpers import API, AUTH, PASSWORD, bearer, login, register, trusted_cache

CLOSE_WITHIN_SECONDS = 5
Socket = AbstractAsyncContextManager[Any]  # what the test client's websocket is used as


async def signed_in(client: Client, email: str) -> tuple[str, str]:
    """A new token of `email` (registered if new) and the account's id."""
    await register(client, email)
    pair: dict[str, Any] = await (await login(client, email)).get_json()
    me = await (await client.get(f"{AUTH}/me", headers=bearer(pair["access_token"]))).get_json()
    return pair["access_token"], me["id"]


async def queued_job_url(app: Quart, owner_id: str) -> str:
    """The events of an export nobody runs: its socket waits for as long as it is open."""
    job = new_export_job(owner_id, CSV, {})
    await job_repository.insert_job(services_of(app).connections.db, job)
    await trusted_cache(app)  # the process's pub/sub subscription is live
    return f"{API}/jobs/{job['_id']}/events"


@asynccontextmanager
async def listening(client: Client, *opened_with: tuple[str, str]) -> AsyncIterator[list[Any]]:
    """A socket per (url, token), each past its snapshot."""
    async with AsyncExitStack() as stack:
        sockets = [
            await stack.enter_async_context(
                cast(Socket, client.websocket(url, headers=bearer(token)))
            )
            for url, token in opened_with
        ]
        for socket in sockets:
            assert '"snapshot"' in str(await socket.receive())
        yield sockets


async def closed_code(socket: Any) -> int:
    with pytest.raises(WebsocketDisconnectError) as closed:
        await asyncio.wait_for(socket.receive(), CLOSE_WITHIN_SECONDS)
    code: int = closed.value.args[0]
    return code


async def still_open(socket: Any) -> bool:
    try:
        await asyncio.wait_for(socket.receive(), 0.5)
    except TimeoutError:
        return True
    return False


async def test_a_logout_closes_the_sockets_of_that_token_only(app: Quart, client: Client) -> None:
    laptop, user_id = await signed_in(client, "ada@example.com")
    phone, _ = await signed_in(client, "ada@example.com")
    url = await queued_job_url(app, user_id)
    async with listening(client, (url, laptop), (url, phone)) as (on_laptop, on_phone):
        assert (await client.post(f"{AUTH}/logout", headers=bearer(laptop))).status_code == 204
        assert await closed_code(on_laptop) == 1008
        assert await still_open(on_phone), "another token of the account was not ended"


async def test_a_password_change_closes_every_socket_of_the_account(
    app: Quart, client: Client
) -> None:
    laptop, user_id = await signed_in(client, "ada@example.com")
    other, bobs_id = await signed_in(client, "bob@example.com")
    url = await queued_job_url(app, user_id)
    bobs_url = await queued_job_url(app, bobs_id)
    async with listening(client, (url, laptop), (bobs_url, other)) as (adas, bobs):
        change = await client.post(
            f"{AUTH}/password",
            json={"current_password": PASSWORD, "new_password": "a much longer new password"},
            headers=bearer(laptop),
        )
        assert change.status_code == 204
        assert await closed_code(adas) == 1008
        assert await still_open(bobs), "another account's socket was not ended"


async def test_an_ending_heard_while_the_socket_opened_still_closes_it(
    app: Quart, client: Client
) -> None:
    token, user_id = await signed_in(client, "ada@example.com")
    url = await queued_job_url(app, user_id)
    sockets = services_of(app).open_sockets
    sockets.on_announcement(f'{{"user": "{user_id}", "generation": 99}}')  # heard just before
    async with client.websocket(url, headers=bearer(token)) as socket:
        assert await closed_code(socket) == 1008
    sockets.on_announcement("not an ending")  # ignored, and logged
    assert not sockets.by_user, "a closed socket is forgotten"


async def test_an_ending_missed_while_unsubscribed_is_found_when_the_subscription_returns(
    app: Quart, client: Client
) -> None:
    token, user_id = await signed_in(client, "ada@example.com")
    url = await queued_job_url(app, user_id)
    services = services_of(app)
    async with listening(client, (url, token)) as (socket,):
        # Revoked in Redis while this process heard nothing (its subscription was down).
        claims = next(iter(services.open_sockets.by_user[user_id])).claims
        assert claims is not None
        await services.connections.redis.set(services.redis_names.revoked_token(claims["jti"]), "1")
        assert await still_open(socket)
        services.open_sockets.on_resubscribed()
        assert await closed_code(socket) == 1008
