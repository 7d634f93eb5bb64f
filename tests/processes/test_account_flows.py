"""Accounts across real processes: a reset asked of one API process is mailed by a Celery
worker through a real SMTP server, redeemed at another API process, and ends the account's
earlier tokens in every process at once; so does disabling the account, which also closes
the account's websocket open at the other process."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from devstack.mailbox import Mailbox
from settings import TestingConfig
from tests.helpers import direct_database, start_worker, stop_worker, worker_environment
from tests.served import Answer, call, served_apis, sign_up

AS_JSON = {"Content-Type": "application/json"}
NEW_PASSWORD = "a much longer new password"


def post(base: str, path: str, body: object | None, token: str = "") -> Answer:
    headers = {**AS_JSON, **({"Authorization": f"Bearer {token}"} if token else {})}
    data = None if body is None else json.dumps(body).encode()
    return call(base, "POST", path, data, headers)


def me(base: str, token: str) -> int:
    return call(base, "GET", "/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status


async def test_a_reset_mailed_by_the_worker_ends_tokens_in_every_process(
    settings: TestingConfig, mailbox: Mailbox, tmp_path: Path
) -> None:
    env = worker_environment(
        settings, SMTP_HOST="127.0.0.1", SMTP_PORT=str(mailbox.port), PUBLIC_URL="http://books"
    )
    worker = start_worker(env, tmp_path / "worker.log", "mail")
    try:
        async with served_apis(env, tmp_path, 2) as (first, second):
            tokens = sign_up(first, "ada@example.com")
            assert me(second, tokens["access_token"]) == 200
            asked = post(first, "/api/v1/auth/password-reset", {"email": "Ada@Example.com"})
            assert asked.status == 202
            mail = mailbox.wait_for_mail("ada@example.com", timeout=60)
            link = re.search(r"http://books/#reset=([\w-]+)", mail.get_content())
            assert link, mail.get_content()
            body = {"token": link.group(1), "new_password": NEW_PASSWORD}
            assert post(second, "/api/v1/auth/password-reset/confirm", body).status == 204
            assert me(first, tokens["access_token"]) == me(second, tokens["access_token"]) == 401
            refresh = post(first, "/api/v1/auth/refresh", None, tokens["refresh_token"])
            assert refresh.status == 401
            login = {"email": "ada@example.com", "password": NEW_PASSWORD}
            assert post(second, "/api/v1/auth/login", login).status == 200
            # No mail for an address without an account, yet the same answer.
            unknown = post(first, "/api/v1/auth/password-reset", {"email": "x@example.com"})
            assert unknown.status == 202
    finally:
        stop_worker(worker)
    assert mailbox.messages_to("x@example.com") == []
    assert b"mail_password_reset" in (tmp_path / "worker.log").read_bytes()


async def test_disabling_in_one_process_ends_the_tokens_the_other_accepted(
    settings: TestingConfig, tmp_path: Path
) -> None:
    async with served_apis(worker_environment(settings), tmp_path, 2) as (first, second):
        admin = sign_up(first, "root@example.com")
        eve = sign_up(first, "eve@example.com")
        with direct_database(settings) as db:
            db["users"].update_one({"email": "root@example.com"}, {"$set": {"role": "admin"}})
            found = db["users"].find_one({"email": "eve@example.com"})
            assert found is not None
            eve_id = str(found["_id"])
        admin = post(first, "/api/v1/auth/refresh", None, admin["refresh_token"]).body
        assert admin["access_token"], "a token that says admin"
        assert me(second, eve["access_token"]) == 200
        export = post(first, "/api/v1/exports", {"format": "csv"}, eve["access_token"]).body
        socket = await websockets.connect(
            f"ws://{second.removeprefix('http://')}/api/v1/jobs/{export['id']}/events",
            additional_headers={"Authorization": f"Bearer {eve['access_token']}"},
        )
        changed = call(
            first,
            "PATCH",
            f"/api/v1/users/{eve_id}",
            json.dumps({"disabled": True}).encode(),
            {**AS_JSON, "Authorization": f"Bearer {admin['access_token']}"},
        )
        assert changed.status == 200, changed
        assert me(second, eve["access_token"]) == 401
        # The socket the other process had accepted closes too, at once (no worker runs the
        # export, so nothing else would end it).
        assert await asyncio.wait_for(socket.recv(), 5)
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(socket.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
