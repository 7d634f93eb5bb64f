"""Every example in the OpenAPI document validates against its own schema, and the live app
accepts every example request (in the order a client would send them)."""

from __future__ import annotations

import json
from typing import Any

import jsonschema_rs
from quart.typing import TestClientProtocol as Client

from bookapi.web.openapi.examples import REQUESTS

# The order a client sends them: an account, its token, a book to change, then jobs.
ORDER = [
    ("post", "/api/v1/auth/register"),
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/books"),
    ("put", "/api/v1/books/{book_id}"),
    ("patch", "/api/v1/books/{book_id}"),
    ("post", "/api/v1/exports"),
    ("post", "/api/v1/imports"),
    ("post", "/api/v1/auth/logout"),
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


async def test_the_app_accepts_every_example_request(client: Client) -> None:
    assert sorted(ORDER) == sorted(REQUESTS), "every example request is tried"
    headers: dict[str, str] = {}
    book_id = ""
    for method, path in ORDER:
        example = REQUESTS[(method, path)]
        url = path.replace("{book_id}", book_id)
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
        if path.endswith("/login"):
            headers = {"Authorization": f"Bearer {(await answer.get_json())['access_token']}"}
        if method == "post" and path == "/api/v1/books":
            book_id = (await answer.get_json())["id"]
