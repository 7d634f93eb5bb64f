"""Every error is RFC 9457 problem details; bad input is a 4xx and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo.errors import OperationFailure
from quart import Quart
from quart.typing import TestClientProtocol as Client

from tests.helpers import DUNE

PROBLEM_KEYS = {"type", "title", "status"}


async def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = await response.get_json()
    assert PROBLEM_KEYS <= body.keys() and body["status"] == status
    text = (await response.get_data()).decode()
    assert "Traceback" not in text and "<html" not in text.lower()
    return body


async def book_count(client: Client) -> int:
    return len((await (await client.get("/api/v1/books?limit=100")).get_json())["items"])


async def test_unknown_route_is_problem_404(client: Client) -> None:
    await assert_problem(await client.get("/nope"), 404)


async def test_wrong_method_is_405_with_allow(client: Client) -> None:
    response = await client.open("/api/v1/books", method="PUT", json=DUNE)
    await assert_problem(response, 405)
    assert "GET" in response.headers["Allow"] and "POST" in response.headers["Allow"]


async def test_oversized_body_is_413(client: Client, auth_header: dict[str, str]) -> None:
    huge = {**DUNE, "description": "x" * (1024 * 1024 + 10)}
    response = await client.post("/api/v1/books", json=huge, headers=auth_header)
    await assert_problem(response, 413)
    assert await book_count(client) == 0


async def test_wrong_content_type_is_415(client: Client, auth_header: dict[str, str]) -> None:
    response = await client.post(
        "/api/v1/books",
        data="isbn=1",
        headers={**auth_header, "Content-Type": "application/x-www-form-urlencoded"},
    )
    await assert_problem(response, 415)


async def test_malformed_json_is_400(client: Client, auth_header: dict[str, str]) -> None:
    response = await client.post(
        "/api/v1/books",
        data='{"isbn": ',
        headers={**auth_header, "Content-Type": "application/json"},
    )
    await assert_problem(response, 400)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**DUNE, "title": {"$gt": ""}}, "title"),
        ({**DUNE, "isbn": {"$ne": None}}, "isbn"),
        ({**DUNE, "$where": "sleep(1000)"}, "$where"),
        ({**DUNE, "authors": [{"$gt": ""}]}, "authors"),
        ({**DUNE, "published_year": "1965"}, "published_year"),
        ({**DUNE, "published_year": True}, "published_year"),
        ({**DUNE, "pages": 0}, "pages"),
        ({**DUNE, "authors": []}, "authors"),
        ({**DUNE, "authors": [""]}, "authors"),
        ({**DUNE, "authors": ["a"] * 21}, "authors"),
        ({**DUNE, "tags": ["t"] * 21}, "tags"),
        ({**DUNE, "title": "x" * 501}, "title"),
        ({**DUNE, "language": "English"}, "language"),
        ({**DUNE, "unknown": 1}, "unknown"),
        ({"title": "Dune", "authors": ["F"]}, "isbn"),
    ],
)
async def test_invalid_book_is_400_and_stores_nothing(
    client: Client, auth_header: dict[str, str], body: dict[str, Any], field: str
) -> None:
    response = await client.post("/api/v1/books", json=body, headers=auth_header)
    problem = await assert_problem(response, 400)
    assert any(error["loc"][:2] == ["body", field] for error in problem["errors"]), problem
    assert await book_count(client) == 0


async def test_json_array_body_is_400(client: Client, auth_header: dict[str, str]) -> None:
    response = await client.post("/api/v1/books", json=[DUNE], headers=auth_header)
    await assert_problem(response, 400)


async def test_unhandled_error_is_problem_500_without_traceback(unstarted_app: Quart) -> None:
    @unstarted_app.get("/boom")
    async def boom() -> str:
        raise RuntimeError("secret internals")

    async with unstarted_app.test_app() as test_app:
        response = await test_app.test_client().get("/boom")
        body = await assert_problem(response, 500)
        assert "secret internals" not in str(body)


async def test_a_backend_timeout_ferretdb_calls_internal_is_a_503(unstarted_app: Quart) -> None:
    # What FerretDB v1 answered a findAndModify in the soak when PostgreSQL fell behind.
    said = "[update.go:114 common.UpdateDocument] timeout: read tcp 127.0.0.1:1: i/o timeout"

    @unstarted_app.get("/late")
    async def late() -> str:
        raise OperationFailure(said, code=1, details={"ok": 0.0, "errmsg": said, "code": 1})

    @unstarted_app.get("/refused")
    async def refused() -> str:
        raise OperationFailure("unknown operator: $foo", code=2)

    async with unstarted_app.test_app() as test_app:
        body = await assert_problem(await test_app.test_client().get("/late"), 503)
        assert body["type"].endswith("dependency-timeout")
        await assert_problem(await test_app.test_client().get("/refused"), 500)


@pytest.mark.parametrize(
    "body",
    [
        b"{\xff",  # not UTF-8
        b'{"email": "\xff\xfe", "password": "x"}',
        b'{"email": "a@example.com", "password": ',  # truncated
        b"[" * 5000 + b"]" * 5000,  # nested beyond reason
        b'{"email": NaN, "password": "x"}',
        b'{"email": "a@example.com", "password": Infinity}',
        b'{"email": 1e999, "password": "x"}',
    ],
)
async def test_a_body_that_is_not_json_is_a_400_problem_everywhere(
    client: Client, auth_header: dict[str, str], body: bytes
) -> None:
    json_type = {"Content-Type": "application/json"}
    login = await client.post("/api/v1/auth/login", data=body, headers=json_type)
    problem = await assert_problem(login, 400)
    assert problem["type"] in (
        "urn:bookapi:problem:invalid-json",
        "urn:bookapi:problem:validation-error",
    )
    create = await client.post("/api/v1/books", data=body, headers={**auth_header, **json_type})
    await assert_problem(create, 400)
    assert await book_count(client) == 0
