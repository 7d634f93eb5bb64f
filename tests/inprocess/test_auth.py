"""Accounts and tokens against real MongoDB-protocol and Redis servers."""

from __future__ import annotations

import statistics
import time
import warnings
from datetime import timedelta
from typing import Any

import jwt
import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client

from bookapi.domain.accounts import user_repository as users_repo
from bookapi.web.app import create_app
from bookapi.web.security.signing_keys import key_id
from bookapi.web.services.app_services import get_db
from tests.helpers import AUTH, DUNE, PASSWORD, MintToken, bearer, login, register


async def tokens_for(client: Client, email: str) -> dict[str, Any]:
    await register(client, email)
    response = await login(client, email)
    assert response.status_code == 200, await response.get_data()
    pair: dict[str, Any] = await response.get_json()
    return pair


async def test_register_returns_the_user_without_secrets(client: Client) -> None:
    response = await register(client, "Ada@Example.com", display_name="Ada")
    assert response.status_code == 201
    user = await response.get_json()
    assert set(user) == {"id", "email", "display_name", "role", "disabled", "created_at"}
    assert user["role"] == "user" and user["display_name"] == "Ada"
    assert "argon2" not in (await response.get_data(as_text=True))


async def test_duplicate_email_is_409_case_insensitively(client: Client) -> None:
    assert (await register(client, "ada@example.com")).status_code == 201
    response = await register(client, "ADA@example.COM")
    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email", "password": PASSWORD}, "email"),
        ({"email": "a@example.com", "password": "short"}, "password"),
        ({"email": "a@example.com", "password": "x" * 129}, "password"),
        ({"email": "a@example.com", "password": PASSWORD, "role": "admin"}, "role"),
        ({"email": {"$gt": ""}, "password": PASSWORD}, "email"),
    ],
)
async def test_register_rejects_bad_input(client: Client, body: dict[str, Any], field: str) -> None:
    response = await client.post(f"{AUTH}/register", json=body)
    assert response.status_code == 400
    problem = await response.get_json()
    assert any(error["loc"][:2] == ["body", field] for error in problem["errors"])


async def test_the_stored_password_is_an_argon2id_hash(app: Quart, client: Client) -> None:
    await register(client, "ada@example.com")
    async with app.app_context():
        stored = await get_db()["users"].find_one({"email_key": "ada@example.com"})
    assert stored["password_hash"].startswith("$argon2id$")
    assert PASSWORD not in str(stored)


async def test_login_returns_a_token_pair_with_required_claims(client: Client) -> None:
    pair = await tokens_for(client, "ada@example.com")
    assert pair["token_type"] == "Bearer" and pair["expires_in"] == 15 * 60
    for token, kind in ((pair["access_token"], "access"), (pair["refresh_token"], "refresh")):
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
        assert header["alg"] == "HS256"
        assert {"exp", "iat", "jti", "type", "sub"} <= claims.keys()
        assert claims["type"] == kind
    refresh_claims = jwt.decode(pair["refresh_token"], options={"verify_signature": False})
    assert refresh_claims["exp"] - refresh_claims["iat"] == 14 * 24 * 3600


async def test_unknown_email_and_wrong_password_look_the_same(client: Client) -> None:
    await register(client, "ada@example.com")
    wrong = await login(client, "ada@example.com", "wrong password")
    unknown = await client.post(
        f"{AUTH}/login", json={"email": "nobody@example.com", "password": "wrong password"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert await wrong.get_json() == await unknown.get_json()


async def test_unknown_email_costs_a_hash_like_a_wrong_password(client: Client) -> None:
    await register(client, "ada@example.com")

    async def timed(email: str) -> float:
        started = time.perf_counter()
        await client.post(f"{AUTH}/login", json={"email": email, "password": "wrong password"})
        return time.perf_counter() - started

    # Interleaved, medians: a ratio, not an absolute time, on a shared machine.
    wrong, unknown = [], []
    for n in range(4):
        wrong.append(await timed("ada@example.com"))
        unknown.append(await timed(f"nobody{n}@example.com"))
    ratio = statistics.median(unknown) / statistics.median(wrong)
    assert 0.33 < ratio < 3, f"unknown/wrong login time ratio {ratio:.2f}"


async def test_login_is_rate_limited_after_five_failures(client: Client) -> None:
    await register(client, "ada@example.com")
    for _ in range(5):
        assert (await login(client, "ada@example.com", "wrong password")).status_code == 401
    limited = await login(client, "ada@example.com", "wrong password")
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0
    assert limited.mimetype == "application/problem+json"
    # The right password is refused too while the limit holds; another email is not limited.
    assert (await login(client, "ada@example.com")).status_code == 429
    assert (await login(client, "eve@example.com", "wrong password")).status_code == 401


async def test_a_successful_login_resets_the_failure_count(client: Client) -> None:
    await register(client, "ada@example.com")
    for _ in range(4):
        assert (await login(client, "ada@example.com", "wrong password")).status_code == 401
    assert (await login(client, "ada@example.com")).status_code == 200
    for _ in range(5):
        assert (await login(client, "ada@example.com", "wrong password")).status_code == 401


async def test_me_returns_the_caller(client: Client) -> None:
    pair = await tokens_for(client, "ada@example.com")
    response = await client.get(f"{AUTH}/me", headers=bearer(pair["access_token"]))
    assert response.status_code == 200
    me = await response.get_json()
    assert me["email"] == "ada@example.com" and "password_hash" not in me


async def test_refresh_rotates_and_the_old_refresh_token_dies(client: Client) -> None:
    pair = await tokens_for(client, "ada@example.com")
    response = await client.post(f"{AUTH}/refresh", headers=bearer(pair["refresh_token"]))
    assert response.status_code == 200
    new_pair = await response.get_json()
    assert new_pair["refresh_token"] != pair["refresh_token"]
    assert new_pair["access_token"] != pair["access_token"]
    reused = await client.post(f"{AUTH}/refresh", headers=bearer(pair["refresh_token"]))
    assert reused.status_code == 401
    again = await client.post(f"{AUTH}/refresh", headers=bearer(new_pair["refresh_token"]))
    assert again.status_code == 200


async def test_token_types_cannot_stand_in_for_each_other(client: Client) -> None:
    pair = await tokens_for(client, "ada@example.com")
    on_refresh = await client.post(f"{AUTH}/refresh", headers=bearer(pair["access_token"]))
    assert on_refresh.status_code == 401
    write = await client.post("/api/v1/books", json=DUNE, headers=bearer(pair["refresh_token"]))
    assert write.status_code == 401
    me = await client.get(f"{AUTH}/me", headers=bearer(pair["refresh_token"]))
    assert me.status_code == 401


async def test_logout_revokes_access_and_refresh_tokens(client: Client) -> None:
    pair = await tokens_for(client, "ada@example.com")
    response = await client.post(
        f"{AUTH}/logout",
        json={"refresh_token": pair["refresh_token"]},
        headers=bearer(pair["access_token"]),
    )
    assert response.status_code == 204
    assert (await client.get(f"{AUTH}/me", headers=bearer(pair["access_token"]))).status_code == 401
    write = await client.post("/api/v1/books", json=DUNE, headers=bearer(pair["access_token"]))
    assert write.status_code == 401
    refresh = await client.post(f"{AUTH}/refresh", headers=bearer(pair["refresh_token"]))
    assert refresh.status_code == 401


async def test_logout_without_a_body_revokes_the_access_token(client: Client) -> None:
    pair = await tokens_for(client, "ada@example.com")
    assert (
        await client.post(f"{AUTH}/logout", headers=bearer(pair["access_token"]))
    ).status_code == 204
    assert (await client.get(f"{AUTH}/me", headers=bearer(pair["access_token"]))).status_code == 401
    # The refresh token was not named, so it still works.
    refresh = await client.post(f"{AUTH}/refresh", headers=bearer(pair["refresh_token"]))
    assert refresh.status_code == 200


async def test_expired_token_is_401(client: Client, mint_token: MintToken) -> None:
    token = await mint_token(expires_delta=timedelta(seconds=-5))
    response = await client.post("/api/v1/books", json=DUNE, headers=bearer(token))
    assert response.status_code == 401


def forged(claims: dict[str, Any], key: str | None, algorithm: str, kid: str | None = None) -> str:
    with warnings.catch_warnings():
        # PyJWT warns that our key is short for HS512; forging with it is the point.
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        headers = {"kid": kid} if kid is not None else None
        return jwt.encode(claims, key, algorithm=algorithm, headers=headers)


async def test_forged_tokens_never_pass(app: Quart, client: Client) -> None:
    now = int(time.time())
    claims = {
        "iss": "bookapi",
        "aud": "bookapi",
        "sub": "a" * 24,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": "x",
        "type": "access",
        "user_claims": {"role": "admin"},
    }
    key = app.config["JWT_SECRET_KEY"]
    kid = key_id(key)

    def without(name: str) -> dict[str, Any]:
        return {claim: value for claim, value in claims.items() if claim != name}

    tokens = {
        "alg none": forged(claims, None, "none", kid),
        "wrong key": forged(claims, "another key that is long enough 0123456789", "HS256", kid),
        "HS512": forged(claims, key, "HS512", kid),
        "no kid": forged(claims, key, "HS256"),
        "unknown kid": forged(claims, key, "HS256", "0123456789abcdef"),
        "wrong issuer": forged({**claims, "iss": "elsewhere"}, key, "HS256", kid),
        "wrong audience": forged({**claims, "aud": "another-api"}, key, "HS256", kid),
        **{f"no {name}": forged(without(name), key, "HS256", kid) for name in claims},
    }
    # Every claim is required but two: without `user_claims` the caller is a plain user,
    # and `nbf` is only checked when present (ours always carry it).
    del tokens["no user_claims"], tokens["no nbf"]
    for name, token in tokens.items():
        response = await client.post("/api/v1/books", json=DUNE, headers=bearer(token))
        assert response.status_code == 401, name
    control = await client.post(
        "/api/v1/books", json=DUNE, headers=bearer(forged(claims, key, "HS256", kid))
    )
    assert control.status_code == 201, "the well-formed token should pass: the test is valid"


async def test_issued_tokens_carry_issuer_audience_and_key_id(app: Quart, client: Client) -> None:
    pair = await tokens_for(client, "claims@example.com")
    for token in (pair["access_token"], pair["refresh_token"]):
        assert jwt.get_unverified_header(token)["kid"] == key_id(app.config["JWT_SECRET_KEY"])
        claims = jwt.decode(token, options={"verify_signature": False})
        assert (claims["iss"], claims["aud"]) == ("bookapi", "bookapi")


async def make_admin(app: Quart, email: str) -> None:
    async with app.app_context():
        await users_repo.insert_user(get_db(), email, PASSWORD, None, role="admin")


async def test_owner_admin_other_matrix_on_every_book_write(app: Quart, client: Client) -> None:
    owner = bearer((await tokens_for(client, "owner@example.com"))["access_token"])
    other = bearer((await tokens_for(client, "other@example.com"))["access_token"])
    await make_admin(app, "admin@example.com")
    admin = bearer((await (await login(client, "admin@example.com")).get_json())["access_token"])

    for actor, allowed in ((other, False), (owner, True), (admin, True)):
        book = await (await client.post("/api/v1/books", json=DUNE, headers=owner)).get_json()
        url = f"/api/v1/books/{book['id']}"
        writes = [
            ("PUT", {**DUNE, "title": "Replaced"}, 200),
            ("PATCH", {"pages": 7}, 200),
            ("DELETE", None, 204),
        ]
        for method, body, success in writes:
            before = await (await client.get(url)).get_json()
            response = await client.open(url, method=method, json=body, headers=actor)
            if allowed:
                assert response.status_code == success, (method, await response.get_data())
            else:
                assert response.status_code == 403, method
                assert await (await client.get(url)).get_json() == before
        if not allowed:
            await client.delete(url, headers=owner)


async def test_created_by_is_the_token_user(client: Client) -> None:
    pair = await tokens_for(client, "ada@example.com")
    me = await (await client.get(f"{AUTH}/me", headers=bearer(pair["access_token"]))).get_json()
    book = await (
        await client.post("/api/v1/books", json=DUNE, headers=bearer(pair["access_token"]))
    ).get_json()
    assert book["created_by"] == me["id"]


async def test_the_login_limit_holds_across_api_processes(client: Client, settings: Any) -> None:
    """Two app instances (as two processes would) share one count through Redis."""
    await register(client, "ada@example.com")
    other_process = create_app(settings)
    async with other_process.test_app() as other:
        other_client = other.test_client()
        for attempt in range(5):
            target = client if attempt % 2 else other_client
            assert (await login(target, "ada@example.com", "wrong")).status_code == 401
        assert (await login(client, "ada@example.com", "wrong")).status_code == 429
        assert (await login(other_client, "ada@example.com", "wrong")).status_code == 429


@pytest.mark.parametrize(("hops", "separate"), [(0, False), (1, True)])
async def test_client_address_behind_a_trusted_proxy(
    settings: Any, hops: int, separate: bool
) -> None:
    """Behind a proxy, limits key on the X-Forwarded-For client, but only when trusted."""
    settings.TRUSTED_PROXY_HOPS = hops
    app = create_app(settings)
    async with app.test_app() as test_app:
        client = test_app.test_client()
        await register(client, "ada@example.com")

        async def attempt(address: str) -> int:
            response = await client.post(
                f"{AUTH}/login",
                json={"email": "ada@example.com", "password": "wrong"},
                headers={"X-Forwarded-For": address},
            )
            return response.status_code

        for _ in range(5):
            assert await attempt("203.0.113.1") == 401
        assert await attempt("203.0.113.1") == 429
        assert await attempt("203.0.113.2") == (401 if separate else 429)


async def test_token_responses_are_never_stored_and_nothing_is_sniffed(client: Client) -> None:
    pair_response = await register(client, "ada@example.com") and await login(
        client, "ada@example.com"
    )
    assert pair_response.headers["Cache-Control"] == "no-store"
    pair = await pair_response.get_json()
    refreshed = await client.post(f"{AUTH}/refresh", headers=bearer(pair["refresh_token"]))
    assert refreshed.headers["Cache-Control"] == "no-store"
    for response in (
        pair_response,
        refreshed,
        await client.get("/healthz"),
        await client.get("/api/v1/books"),
        await client.get("/api/v1/books/" + "0" * 24),
        await client.get("/no/such/route"),
    ):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
