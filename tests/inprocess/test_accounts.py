"""Account self-service and administration against real MongoDB-protocol and Redis servers:
password change, reset (the worker's mail code sending through a real local SMTP server),
and the admin's users routes, with the token rules of each."""

from __future__ import annotations

import re
from typing import Any

from quart import Quart
from quart.typing import TestClientProtocol as Client

from bookapi.domain.accounts import user_repository as users_repo
from bookapi.web.services.app_services import services_of
from bookapi.worker.password_reset import mail_reset_link
from bookapi.worker.store import WorkerStore
from devstack.mailbox import Mailbox
from tests.helpers import API, AUTH, PASSWORD, bearer, login, register

NEW_PASSWORD = "a much longer new password"
USERS = f"{API}/users"


async def signed_in(client: Client, email: str, password: str = PASSWORD) -> dict[str, Any]:
    """Register `email` (if new) and log in: the user and the token pair."""
    registered = await register(client, email, password)
    answer = await login(client, email, password)
    assert answer.status_code == 200, await answer.get_data()
    pair: dict[str, Any] = await answer.get_json()
    me = await client.get(f"{AUTH}/me", headers=bearer(pair["access_token"]))
    user = await me.get_json()
    if registered.status_code == 201:
        assert user["id"] == (await registered.get_json())["id"]
    return {**pair, "user": user}


async def admin_signed_in(app: Quart, client: Client, email: str) -> dict[str, Any]:
    await register(client, email)
    assert await users_repo.set_role(services_of(app).connections.db, email, "admin")
    return await signed_in(client, email)


async def refreshed(client: Client, refresh_token: str) -> Any:
    return await client.post(f"{AUTH}/refresh", headers=bearer(refresh_token))


async def change_password(client: Client, access: str, current: str, new: str) -> Any:
    return await client.post(
        f"{AUTH}/password",
        json={"current_password": current, "new_password": new},
        headers=bearer(access),
    )


# Changing the password


async def test_a_password_change_ends_every_earlier_token(client: Client) -> None:
    laptop = await signed_in(client, "ada@example.com")
    phone = await signed_in(client, "ada@example.com")
    answer = await change_password(client, laptop["access_token"], PASSWORD, NEW_PASSWORD)
    assert answer.status_code == 204
    for device in (laptop, phone):
        me = await client.get(f"{AUTH}/me", headers=bearer(device["access_token"]))
        assert me.status_code == 401
        assert "sign in again" in (await me.get_json())["detail"]
        assert (await refreshed(client, device["refresh_token"])).status_code == 401
    assert (await login(client, "ada@example.com")).status_code == 401
    fresh = await signed_in(client, "ada@example.com", NEW_PASSWORD)
    assert (
        await client.get(f"{AUTH}/me", headers=bearer(fresh["access_token"]))
    ).status_code == 200
    assert (await refreshed(client, fresh["refresh_token"])).status_code == 200


async def test_a_wrong_current_password_is_403_and_counts_as_a_failed_login(
    client: Client,
) -> None:
    ada = await signed_in(client, "ada@example.com")
    statuses = [
        (await change_password(client, ada["access_token"], "wrong password", NEW_PASSWORD))
        for _ in range(6)
    ]
    assert [s.status_code for s in statuses] == [403] * 5 + [429]
    assert "Retry-After" in statuses[-1].headers
    # The failures count against logins of the account too, and the password is unchanged.
    assert (await login(client, "ada@example.com")).status_code == 429
    me = await client.get(f"{AUTH}/me", headers=bearer(ada["access_token"]))
    assert me.status_code == 200


async def test_a_new_password_must_pass_the_registration_rules(client: Client) -> None:
    ada = await signed_in(client, "ada@example.com")
    answer = await change_password(client, ada["access_token"], PASSWORD, "short")
    assert answer.status_code == 400
    assert (await answer.get_json())["errors"][0]["loc"] == ["body", "new_password"]
    assert (await login(client, "ada@example.com")).status_code == 200


# Resetting it by email


def link_token(mail: Any) -> str:
    found = re.search(r"/#reset=([\w-]+)", mail.get_content())
    assert found, mail.get_content()
    return found.group(1)


async def confirm(client: Client, token: str, password: str = NEW_PASSWORD) -> Any:
    return await client.post(
        f"{AUTH}/password-reset/confirm", json={"token": token, "new_password": password}
    )


async def test_a_reset_link_works_once_and_ends_earlier_tokens(
    client: Client, store: WorkerStore, mailbox: Mailbox
) -> None:
    ada = await signed_in(client, "ada@example.com")
    assert mail_reset_link(store, "ADA@example.com")  # the address in any case
    mail = mailbox.wait_for_mail("ada@example.com")
    assert mail["Subject"] == "Reset your bookapi password"
    assert mail.get_content().count(store.settings.PUBLIC_URL) == 1
    token = link_token(mail)
    assert (await confirm(client, token)).status_code == 204
    again = await confirm(client, token, "yet another new password")
    assert again.status_code == 400
    assert (await again.get_json())["type"].endswith("invalid-reset-token")
    assert (await client.get(f"{AUTH}/me", headers=bearer(ada["access_token"]))).status_code == 401
    assert (await refreshed(client, ada["refresh_token"])).status_code == 401
    assert (await login(client, "ada@example.com", NEW_PASSWORD)).status_code == 200


async def test_a_password_change_voids_a_pending_reset_link(
    client: Client, store: WorkerStore, mailbox: Mailbox
) -> None:
    ada = await signed_in(client, "ada@example.com")
    mail_reset_link(store, "ada@example.com")
    token = link_token(mailbox.wait_for_mail("ada@example.com"))
    assert (
        await change_password(client, ada["access_token"], PASSWORD, NEW_PASSWORD)
    ).status_code == 204
    assert (await confirm(client, token, "an attacker's password")).status_code == 400
    assert (await login(client, "ada@example.com", NEW_PASSWORD)).status_code == 200


async def test_no_mail_goes_to_an_unknown_or_disabled_account(
    app: Quart, client: Client, store: WorkerStore, mailbox: Mailbox
) -> None:
    assert not mail_reset_link(store, "nobody@example.com")
    await register(client, "eve@example.com")
    db = services_of(app).connections.db
    user = await db[users_repo.COLLECTION].find_one({"email": "eve@example.com"})
    await users_repo.change_account(db, user["_id"], {"disabled": True}, end_tokens=True)
    assert not mail_reset_link(store, "eve@example.com")
    assert mailbox.messages_to("nobody@example.com") == mailbox.messages_to("eve@example.com") == []


async def test_a_reset_request_is_202_for_any_address_and_rate_limited(client: Client) -> None:
    await register(client, "ada@example.com")
    for email in ("ada@example.com", "nobody@example.com"):
        answers = [
            await client.post(f"{AUTH}/password-reset", json={"email": email}) for _ in range(4)
        ]
        assert [a.status_code for a in answers] == [202, 202, 202, 429], email
        assert await answers[0].get_data() == b""


async def test_unknown_or_malformed_reset_tokens_are_400(client: Client) -> None:
    assert (await confirm(client, "x" * 43)).status_code == 400
    malformed = await confirm(client, "not a token!")
    assert malformed.status_code == 400
    assert (await malformed.get_json())["errors"][0]["loc"] == ["body", "token"]


# Administration


async def test_users_routes_are_for_admins_only(client: Client) -> None:
    ada = await signed_in(client, "ada@example.com")
    headers = bearer(ada["access_token"])
    for method, url in (
        ("GET", USERS),
        ("GET", f"{USERS}/{ada['user']['id']}"),
        ("PATCH", f"{USERS}/{ada['user']['id']}"),
    ):
        answer = await client.open(url, method=method, json={"role": "admin"}, headers=headers)
        assert answer.status_code == 403, (method, url)
    assert (await client.get(USERS)).status_code == 401


async def test_an_admin_lists_users_by_email_prefix_in_pages(app: Quart, client: Client) -> None:
    admin = await admin_signed_in(app, client, "root@example.com")
    for n in range(5):
        await register(client, f"Reader{n}@example.com")
    await register(client, "writer@example.com")
    headers = bearer(admin["access_token"])
    seen: list[str] = []
    cursor = None
    while True:
        query = {"q": "READER", "limit": "2", **({"cursor": cursor} if cursor else {})}
        page = await (await client.get(USERS, query_string=query, headers=headers)).get_json()
        seen += [user["email"] for user in page["items"]]
        assert all("password_hash" not in user for user in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"Reader{n}@example.com" for n in range(5)]
    everyone = await (await client.get(USERS, headers=headers)).get_json()
    assert len(everyone["items"]) == 7
    bad = await client.get(USERS, query_string={"q": "a", "cursor": cursor or "x"}, headers=headers)
    assert bad.status_code == 400


async def test_disabling_ends_tokens_and_refuses_login_like_a_wrong_password(
    app: Quart, client: Client
) -> None:
    admin = await admin_signed_in(app, client, "root@example.com")
    eve = await signed_in(client, "eve@example.com")
    url, headers = f"{USERS}/{eve['user']['id']}", bearer(admin["access_token"])
    changed = await client.patch(url, json={"disabled": True}, headers=headers)
    assert changed.status_code == 200
    assert (await changed.get_json())["disabled"] is True
    assert (await client.get(f"{AUTH}/me", headers=bearer(eve["access_token"]))).status_code == 401
    assert (await refreshed(client, eve["refresh_token"])).status_code == 401
    refused = await login(client, "eve@example.com")
    wrong = await login(client, "nobody@example.com")
    assert refused.status_code == wrong.status_code == 401
    assert await refused.get_json() == await wrong.get_json()
    enabled = await client.patch(url, json={"disabled": False}, headers=headers)
    assert (await enabled.get_json())["disabled"] is False
    assert (await login(client, "eve@example.com")).status_code == 200


async def test_promotion_comes_with_the_next_token_and_demotion_ends_tokens(
    app: Quart, client: Client
) -> None:
    admin = await admin_signed_in(app, client, "root@example.com")
    bob = await signed_in(client, "bob@example.com")
    url, headers = f"{USERS}/{bob['user']['id']}", bearer(admin["access_token"])
    promoted = await client.patch(url, json={"role": "admin"}, headers=headers)
    assert (await promoted.get_json())["role"] == "admin"
    pair = await (await refreshed(client, bob["refresh_token"])).get_json()
    as_admin = await client.get(USERS, headers=bearer(pair["access_token"]))
    assert as_admin.status_code == 200
    demoted = await client.patch(url, json={"role": "user"}, headers=headers)
    assert (await demoted.get_json())["role"] == "user"
    assert (await client.get(USERS, headers=bearer(pair["access_token"]))).status_code == 401
    assert (await refreshed(client, pair["refresh_token"])).status_code == 401


async def test_an_admin_cannot_demote_or_disable_themself(app: Quart, client: Client) -> None:
    admin = await admin_signed_in(app, client, "root@example.com")
    url, headers = f"{USERS}/{admin['user']['id']}", bearer(admin["access_token"])
    for change in ({"role": "user"}, {"disabled": True}):
        answer = await client.patch(url, json=change, headers=headers)
        assert answer.status_code == 409, change
        assert (await answer.get_json())["type"].endswith("own-account")
    me = await (await client.get(f"{AUTH}/me", headers=headers)).get_json()
    assert me["role"] == "admin" and me["disabled"] is False


async def test_bad_user_changes_are_refused_and_change_nothing(app: Quart, client: Client) -> None:
    admin = await admin_signed_in(app, client, "root@example.com")
    bob = await signed_in(client, "bob@example.com")
    headers = bearer(admin["access_token"])
    url = f"{USERS}/{bob['user']['id']}"
    for body in ({"role": "root"}, {"disabled": "yes"}, {"email": "x@example.com"}, [1]):
        assert (await client.patch(url, json=body, headers=headers)).status_code == 400, body
    for missing in ("f" * 24, "not-an-id"):
        answer = await client.patch(f"{USERS}/{missing}", json={"role": "admin"}, headers=headers)
        assert answer.status_code == 404
        assert (await client.get(f"{USERS}/{missing}", headers=headers)).status_code == 404
    after = await (await client.get(url, headers=headers)).get_json()
    assert after == {**bob["user"]}
