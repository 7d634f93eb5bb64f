"""Every example in the OpenAPI document validates against its own schema, and the live app
accepts every example request (in the order a client would send them)."""

from __future__ import annotations

import json
from typing import Any

import jsonschema_rs
from quart import Quart
from quart.typing import TestClientProtocol as Client

from bookapi.domain.accounts import user_repository as users_repo
from bookapi.domain.accounts.reset_tokens import PendingReset, token_digest
from bookapi.web.openapi.examples import REQUESTS
from bookapi.web.services.app_services import services_of

# The order a client sends them: an account (an admin, for the users route), its token, a
# book to change, jobs, a reset request, then the password: a change ends the token, and
# the example reset token is put in Redis as the worker would before it is redeemed.
ORDER = [
    ("post", "/api/v1/auth/register"),
    ("post", "/api/v1/auth/login"),
    ("patch", "/api/v1/users/{user_id}"),
    ("post", "/api/v1/books"),
    ("put", "/api/v1/books/{book_id}"),
    ("patch", "/api/v1/books/{book_id}"),
    ("post", "/api/v1/exports"),
    ("post", "/api/v1/imports"),
    ("post", "/api/v1/auth/password-reset"),
    ("post", "/api/v1/auth/logout"),
    ("post", "/api/v1/auth/password"),
    ("post", "/api/v1/auth/password-reset/confirm"),
]


def examples(document: dict[str, Any]) -> list[tuple[str, Any, dict[str, Any]]]:
    """(where, example, schema) for every example of every body in `document`."""
    found = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            bodies = [("request", operation.get("requestBody", {}))]
            bodies += list(operation["responses"].items())
            for where, body in bodies:
                for media_type, media in body.get("content", {}).items():
                    if "example" in media:
                        label = f"{method} {path} {where} {media_type}"
                        found.append((label, media["example"], media["schema"]))
    return found


async def test_every_example_validates_against_its_schema(client: Client) -> None:
    document = await (await client.get("/openapi.json")).get_json()
    found = examples(document)
    assert len(found) >= 40
    for label, example, schema in found:
        validator = jsonschema_rs.validator_for({**schema, "components": document["components"]})
        errors = [error.message for error in validator.iter_errors(example)]
        assert errors == [], (label, errors)
    operations = [op for ops in document["paths"].values() for op in ops.values()]
    with_bodies = [op for op in operations if "requestBody" in op]
    assert all(
        "example" in media for op in with_bodies for media in op["requestBody"]["content"].values()
    )


async def before(app: Quart, method: str, path: str, user_id: str) -> None:
    """What the example of (method, path) needs that no example request makes."""
    services = services_of(app)
    db, redis = services.connections.db, services.connections.redis
    if path.endswith("/login"):
        assert await users_repo.set_role(db, REQUESTS[(method, path)]["email"], "admin")
    if path.endswith("/confirm"):
        user = await users_repo.find_user(db, user_id)
        assert user is not None
        pending = PendingReset(user_id, users_repo.token_generation(user))
        key = services.redis_names.password_reset(token_digest(REQUESTS[(method, path)]["token"]))
        await redis.set(key, pending.dump(), ex=60)


async def test_the_app_accepts_every_example_request(app: Quart, client: Client) -> None:
    assert sorted(ORDER) == sorted(REQUESTS), "every example request is tried"
    headers: dict[str, str] = {}
    book_id = user_id = ""
    for method, path in ORDER:
        example = REQUESTS[(method, path)]
        await before(app, method, path, user_id)
        if path.endswith("/auth/password"):
            headers = await log_in(client)
        url = path.replace("{book_id}", book_id).replace("{user_id}", user_id)
        if isinstance(example, str):
            data, kind = example.encode(), "text/csv"
        else:
            data, kind = json.dumps(example).encode(), "application/json"
        # The protocol Quart types its test client with lists every keyword as required.
        opener: Any = client.open
        answer = await opener(
            url, method=method.upper(), data=data, headers={**headers, "Content-Type": kind}
        )
        assert 200 <= answer.status_code < 300, (method, path, await answer.get_data())
        if path.endswith("/register"):
            user_id = (await answer.get_json())["id"]
        if path.endswith("/login"):
            headers = {"Authorization": f"Bearer {(await answer.get_json())['access_token']}"}
        if method == "post" and path == "/api/v1/books":
            book_id = (await answer.get_json())["id"]


async def log_in(client: Client) -> dict[str, str]:
    answer = await client.post("/api/v1/auth/login", json=REQUESTS[("post", "/api/v1/auth/login")])
    assert answer.status_code == 200
    return {"Authorization": f"Bearer {(await answer.get_json())['access_token']}"}
