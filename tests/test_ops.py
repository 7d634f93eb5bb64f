"""Health, readiness, the OpenAPI document and the docs page."""

from __future__ import annotations

from quart.typing import TestClientProtocol as Client


async def test_healthz(client: Client) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert await response.get_json() == {"status": "ok"}


async def test_readyz_when_both_answer(client: Client) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert (await response.get_json())["checks"] == {"mongodb": "ok", "redis": "ok"}


async def test_openapi_describes_the_books_contract(client: Client) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    spec = await response.get_json()
    books, book = spec["paths"]["/api/v1/books"], spec["paths"]["/api/v1/books/{book_id}"]
    assert {"get", "post"} <= books.keys()
    assert {"get", "put", "patch", "delete"} <= book.keys()
    parameters = {parameter["name"] for parameter in books["get"]["parameters"]}
    assert parameters >= {
        "q",
        "author",
        "tag",
        "language",
        "year_min",
        "year_max",
        "sort",
        "limit",
        "cursor",
    }
    assert "201" in books["post"]["responses"]
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


async def test_docs_page(client: Client) -> None:
    response = await client.get("/docs")
    assert response.status_code == 200
    assert "text/html" in response.content_type
    assert "/openapi.json" in await response.get_data(as_text=True)
