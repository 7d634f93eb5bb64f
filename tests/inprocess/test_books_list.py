"""Listing books: filters, order, literal search and keyset paging under concurrent inserts."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from quart.typing import TestClientProtocol as Client

from bookapi.domain.books.isbn import isbn13_check_digit
from bookapi.domain.timestamps import from_rfc3339
from tests.helpers import BOTH_DRIVERS

SORTS = ["title", "-title", "published_year", "-published_year", "created_at", "-created_at"]
_serial = itertools.count(100_000_000)


def new_isbn() -> str:
    body = f"978{next(_serial):09d}"
    return body + isbn13_check_digit(body)


pytestmark = BOTH_DRIVERS


async def add(client: Client, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {"isbn": new_isbn(), "title": "Untitled", "authors": ["Anon"], **fields}
    response = await client.post("/api/v1/books", json=body, headers=headers)
    assert response.status_code == 201, await response.get_data()
    book: dict[str, Any] = await response.get_json()
    return book


async def titles(client: Client, query: str) -> list[str]:
    response = await client.get(f"/api/v1/books?{query}")
    assert response.status_code == 200, await response.get_data()
    return [book["title"] for book in (await response.get_json())["items"]]


async def walk(client: Client, query: str, on_page: Any = None) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    url = f"/api/v1/books?{query}"
    while True:
        page = await (await client.get(url)).get_json()
        seen.extend(page["items"])
        if on_page is not None:
            await on_page()
        if page["next_cursor"] is None:
            return seen
        url = f"/api/v1/books?{query}&cursor={page['next_cursor']}"


async def test_filters(client: Client, auth_header: dict[str, str]) -> None:
    await add(
        client,
        auth_header,
        title="Dune",
        authors=["Frank Herbert"],
        published_year=1965,
        tags=["sf"],
        language="en",
    )
    await add(
        client,
        auth_header,
        title="Emma",
        authors=["Jane Austen"],
        published_year=1815,
        tags=["classic"],
        language="en",
    )
    await add(
        client,
        auth_header,
        title="Solaris",
        authors=["Stanisław Lem"],
        published_year=1961,
        tags=["sf"],
        language="pl",
    )
    assert sorted(await titles(client, "tag=sf")) == ["Dune", "Solaris"]
    assert await titles(client, "author=jane%20austen") == ["Emma"]
    assert await titles(client, "language=pl") == ["Solaris"]
    assert sorted(await titles(client, "year_min=1900")) == ["Dune", "Solaris"]
    assert await titles(client, "year_min=1962&year_max=1970") == ["Dune"]
    assert await titles(client, "q=LEM") == ["Solaris"]
    assert await titles(client, "q=un") == ["Dune"]
    assert await titles(client, "tag=sf&language=en") == ["Dune"]


async def test_search_is_literal_not_regex(client: Client, auth_header: dict[str, str]) -> None:
    await add(client, auth_header, title="C++ Primer (5th ed.)")
    await add(client, auth_header, title="Cxx Primer")
    assert await titles(client, "q=%2B%2B") == ["C++ Primer (5th ed.)"]
    assert await titles(client, "q=C.%2B") == []
    assert await titles(client, "q=(5th") == ["C++ Primer (5th ed.)"]
    assert await titles(client, "q=.*") == []


@pytest.mark.parametrize("sort", SORTS)
async def test_sort_orders(client: Client, auth_header: dict[str, str], sort: str) -> None:
    for title, year in (("b", 2000), ("A", None), ("c", 1990), ("a2", 2000)):
        await add(client, auth_header, title=title, published_year=year)
    items = await walk(client, f"sort={sort}&limit=3")
    field = sort.lstrip("-")

    def key(book: dict[str, Any]) -> Any:
        value = book[field]
        if field == "title":
            return value.casefold()
        if field == "created_at":
            # As instants: a whole second prints without a fraction ("...:44Z"), which as a
            # string sorts after "...:44.009Z".
            return from_rfc3339(value)
        return (value is not None, value or 0)  # nulls first, as MongoDB sorts them

    keys = [key(book) for book in items]
    assert keys == sorted(keys, reverse=sort.startswith("-"))
    assert len(items) == 4


@pytest.mark.parametrize("sort", SORTS)
async def test_paging_walks_every_book_once_under_inserts(
    client: Client, auth_header: dict[str, str], sort: str
) -> None:
    existing = set()
    for n in range(240):
        # Few distinct titles and years, so many ties exercise the id tie-break.
        book = await add(
            client,
            auth_header,
            title=f"Title {n % 7}",
            published_year=None if n % 5 == 0 else 1900 + n % 11,
        )
        existing.add(book["id"])
    inserted = itertools.count()

    async def insert_more() -> None:
        n = next(inserted)
        await add(client, auth_header, title=f"Title {n % 7}", published_year=1900 + n % 13)

    items = await walk(client, f"sort={sort}&limit=17", on_page=insert_more)
    ids = [book["id"] for book in items]
    assert len(ids) == len(set(ids)), "a book was returned twice"
    assert existing <= set(ids), "a book that existed all along was skipped"


async def test_limit_default_and_bounds(client: Client, auth_header: dict[str, str]) -> None:
    for _ in range(22):
        await add(client, auth_header)
    page = await (await client.get("/api/v1/books")).get_json()
    assert len(page["items"]) == 20 and page["next_cursor"]
    assert len((await (await client.get("/api/v1/books?limit=100")).get_json())["items"]) == 22
    for bad in ("0", "101", "-1", "abc", "1.5"):
        response = await client.get(f"/api/v1/books?limit={bad}")
        assert response.status_code == 400, bad
        problem = await response.get_json()
        assert problem["errors"][0]["loc"] == ["query", "limit"]


@pytest.mark.parametrize(
    "query",
    [
        "unknown=1",
        "sort=pages",
        "author[$ne]=x",
        "q=",
        "q=" + "x" * 201,
        "year_min=1990&year_max=1980",
        "year_min=abc",
        "tag=a&tag=b",
        "cursor=%%%",
        "cursor=bm90LWpzb24",
    ],
)
async def test_bad_query_parameters_are_400(client: Client, query: str) -> None:
    response = await client.get(f"/api/v1/books?{query}")
    assert response.status_code == 400, query
    assert response.mimetype == "application/problem+json"


async def test_cursor_from_another_query_is_400(
    client: Client, auth_header: dict[str, str]
) -> None:
    for _ in range(3):
        await add(client, auth_header)
    page = await (await client.get("/api/v1/books?limit=1")).get_json()
    response = await client.get(f"/api/v1/books?limit=1&sort=title&cursor={page['next_cursor']}")
    assert response.status_code == 400
    same_query = await client.get(f"/api/v1/books?limit=2&cursor={page['next_cursor']}")
    assert same_query.status_code == 200
