"""The per-process book cache: hits skip MongoDB, every process forgets a changed book, and
without Redis the cache is emptied and bypassed, never trusted."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId
from quart import Quart
from quart.typing import TestClientProtocol as Client

from bookapi.domain.errors import NotFoundError
from bookapi.web.app import create_app
from bookapi.web.services.book_cache import BookCache, RenderedBook
from devstack import free_port, start_redis
from settings import TestingConfig
from tests.helpers import (
    DUNE,
    bearer,
    direct_database,
    mint_access_token,
    trusted_cache,
    wait_until,
    worker_environment,
)
from tests.served import served_apis

BOOKS = "/api/v1/books"


def http(method: str, url: str, body: dict[str, Any] | None = None, token: str = "") -> Any:
    request = urllib.request.Request(url, method=method)
    if body is not None:
        request.data = json.dumps(body).encode()
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def change_behind_the_api(settings: TestingConfig, book_id: str, title: str) -> None:
    with direct_database(settings) as db:
        db["books"].update_one({"_id": ObjectId(book_id)}, {"$set": {"title": title}})


async def read_until_hit(client: Client, url: str, cache: BookCache) -> Any:
    """GET `url` until an answer comes from the cache (a read that races this process's own
    announcement of an earlier write is not stored); that response."""
    response = None

    async def hit() -> bool:
        nonlocal response
        hits = cache.hits
        response = await client.get(url)
        return cache.hits > hits

    await wait_until(hit, 10, f"{url} to be answered from the cache")
    return response


async def test_a_hit_skips_mongodb_and_the_writer_sees_its_write_at_once(
    app: Quart, client: Client, settings: TestingConfig, auth_header: dict[str, str]
) -> None:
    cache = await trusted_cache(app)
    book = await (await client.post(BOOKS, json=DUNE, headers=auth_header)).get_json()
    url = f"{BOOKS}/{book['id']}"
    first = await read_until_hit(client, url, cache)
    change_behind_the_api(settings, book["id"], "Changed behind the API")
    cached = await client.get(url)
    assert (await cached.get_json())["title"] == "Dune", "the second read came from the cache"
    assert cached.headers["ETag"] == first.headers["ETag"]
    assert (
        await client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    ).status_code == 304
    assert cache.hits >= 2
    patched = await client.patch(url, json={"pages": 412}, headers=auth_header)
    assert patched.status_code == 200
    fresh = await (await client.get(url)).get_json()
    assert fresh["pages"] == 412 and fresh["title"] == "Changed behind the API"
    assert (await client.delete(url, headers=auth_header)).status_code == 204
    assert (await client.get(url)).status_code == 404


async def test_list_pages_are_cached_until_any_book_changes(
    app: Quart, client: Client, settings: TestingConfig, auth_header: dict[str, str]
) -> None:
    cache = await trusted_cache(app)
    book = await (await client.post(BOOKS, json=DUNE, headers=auth_header)).get_json()
    page = await (await read_until_hit(client, f"{BOOKS}?sort=title", cache)).get_json()
    change_behind_the_api(settings, book["id"], "Behind")
    cached = await (await client.get(f"{BOOKS}?sort=title")).get_json()
    assert cached == page, "the second read of the page came from the cache"
    other = await (await client.get(f"{BOOKS}?sort=-title")).get_json()
    assert other["items"][0]["title"] == "Behind", "another query is another page"
    second = {**DUNE, "isbn": "9780143039433", "title": "Another"}
    assert (await client.post(BOOKS, json=second, headers=auth_header)).status_code == 201
    fresh = await (await client.get(f"{BOOKS}?sort=title")).get_json()
    assert [item["title"] for item in fresh["items"]] == ["Another", "Behind"]


@pytest.fixture
async def two_api_processes(settings: TestingConfig, tmp_path: Path) -> AsyncIterator[list[str]]:
    async with served_apis(worker_environment(settings), tmp_path, 2) as urls:
        yield urls


async def test_a_change_through_one_process_reaches_the_others_cache(
    two_api_processes: list[str], app: Quart, settings: TestingConfig
) -> None:
    writer, reader = two_api_processes
    token = await mint_access_token(app)

    book = http("POST", f"{writer}{BOOKS}", DUNE, token)
    url = f"{reader}{BOOKS}/{book['id']}"

    async def reader_caches() -> bool:
        # Once the reader's subscription is up, a read stays cached despite a change behind
        # the API's back: proof that the reader answers from its cache.
        http("GET", url)
        change_behind_the_api(settings, book["id"], "Behind")
        cached = bool(http("GET", url)["title"] == "Dune")
        change_behind_the_api(settings, book["id"], "Dune")
        return cached

    await wait_until(reader_caches, 20, "the reader to cache the book", every=0.2)
    http("PATCH", f"{writer}{BOOKS}/{book['id']}", {"title": "Dune Messiah"}, token)

    async def reader_sees_the_change() -> bool:
        return bool(http("GET", url)["title"] == "Dune Messiah")

    await wait_until(reader_sees_the_change, 5, "the reader to forget the changed book")


async def test_without_redis_the_cache_is_emptied_and_bypassed(
    settings: TestingConfig, tmp_path: Path
) -> None:
    redis = start_redis(free_port(), tmp_path / "redis")
    settings.REDIS_URL = redis.url
    app = create_app(settings)
    try:
        async with app.test_app() as test_app:
            client = test_app.test_client()
            cache = await trusted_cache(app)
            token = await mint_access_token(app)
            book = await (await client.post(BOOKS, json=DUNE, headers=bearer(token))).get_json()
            url = f"{BOOKS}/{book['id']}"
            await read_until_hit(client, url, cache)

            redis.stop()

            async def distrusted() -> bool:
                return not cache.trusted

            await wait_until(distrusted, 10, "the cache to notice Redis is gone")
            assert cache.entries == {}
            change_behind_the_api(settings, book["id"], "Read from MongoDB")
            for _ in range(2):  # read twice: nothing is cached meanwhile
                response = await client.get(url)
                assert (await response.get_json())["title"] == "Read from MongoDB"
            assert cache.entries == {}

            redis = start_redis(redis.port, tmp_path / "redis")
            await trusted_cache(app)
            change_behind_the_api(settings, book["id"], "After Redis came back")
            assert (await (await client.get(url)).get_json())["title"] == "After Redis came back"
    finally:
        redis.stop()


async def test_concurrent_misses_of_one_key_share_one_load() -> None:
    cache = BookCache(max_entries=10, ttl_seconds=60)
    cache.on_subscribed()
    calls = 0

    async def load() -> RenderedBook:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return RenderedBook(b"{}", '"etag"')

    def shown(rendered: RenderedBook) -> tuple[bytes, str]:
        return rendered.body, rendered.etag

    results = await asyncio.gather(*(cache.book("k", load) for _ in range(50)))
    assert calls == 1 and {shown(result) for result in results} == {(b"{}", '"etag"')}
    assert shown(await cache.book("k", load)) == (b"{}", '"etag"') and calls == 1

    async def missing() -> RenderedBook:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        raise NotFoundError("book")

    calls = 0
    outcomes = await asyncio.gather(
        *(cache.book("gone", missing) for _ in range(20)), return_exceptions=True
    )
    assert calls == 1 and all(isinstance(outcome, NotFoundError) for outcome in outcomes)

    cache.on_unsubscribed()  # untrusted: nothing is kept, but concurrent misses still share
    calls = 0
    await asyncio.gather(*(cache.book("k", load) for _ in range(5)))
    assert calls == 1 and cache.entries == {}
    await cache.book("k", load)
    assert calls == 2, "a later read loads again: nothing was kept"
