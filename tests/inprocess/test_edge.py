"""The edge (web/middleware): a cache hit answered before Quart is the route's answer, byte
for byte and header for header; gzip only for clients that ask; every request, hit or not,
gets its request id, log line, metrics and common headers."""

from __future__ import annotations

import gzip
import logging
from typing import Any

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client

from bookapi.observability.tick_batches import TICK
from bookapi.web.services.app_services import services_of
from bookapi.web.services.book_cache import BookCache
from tests.helpers import DUNE, trusted_cache, wait_until

BOOKS = "/api/v1/books"
# Differ from one answer to the next by design.
PER_RESPONSE = {"x-request-id", "date"}


def comparable(response: Any) -> tuple[int, dict[str, str]]:
    headers = {k.lower(): v for k, v in response.headers.items() if k.lower() not in PER_RESPONSE}
    return response.status_code, headers


async def create(
    client: Client, auth_header: dict[str, str], cache: BookCache | None = None, **fields: Any
) -> dict[str, Any]:
    """Create a book; with `cache`, return once the cache has also heard the create's own
    announcement through Redis (heard later, it would forget what a test just read)."""
    generation = cache.generation if cache else 0
    created = await client.post(BOOKS, json={**DUNE, **fields}, headers=auth_header)
    assert created.status_code == 201
    book: dict[str, Any] = await created.get_json()
    if cache is not None:  # forgotten once here at once, once more when the news arrives

        async def heard() -> bool:
            return cache.generation >= generation + 2

        await wait_until(heard, 10, "the cache to hear the create's announcement")
    return book


async def route_then_edge(client: Client, cache: BookCache, url: str, **headers: str) -> Any:
    """The answer of the route (a miss), then of the edge (a hit), which must be the same."""
    hits = cache.hits
    from_route = await client.get(url, headers=headers)
    assert cache.hits == hits, "the first read is a miss"
    from_edge = await client.get(url, headers=headers)
    assert cache.hits == hits + 1, "the second is answered from the cache"
    assert comparable(from_edge) == comparable(from_route)
    assert await from_edge.get_data() == await from_route.get_data()
    return from_edge


async def test_a_hit_is_the_routes_answer(
    app: Quart, client: Client, auth_header: dict[str, str]
) -> None:
    cache = await trusted_cache(app)
    book = await create(client, auth_header, cache, description="A long tale. " * 60)
    hit = await route_then_edge(client, cache, f"{BOOKS}/{book['id']}")
    assert (await hit.get_json())["title"] == "Dune"
    assert hit.headers["X-Content-Type-Options"] == "nosniff"
    assert hit.headers["Vary"] == "Accept-Encoding" and "Content-Encoding" not in hit.headers
    await route_then_edge(client, cache, f"{BOOKS}?tag=fiction&limit=5")


async def test_a_revalidation_is_a_304_like_the_routes(
    app: Quart, client: Client, auth_header: dict[str, str]
) -> None:
    cache = await trusted_cache(app)
    book = await create(client, auth_header, cache)
    url = f"{BOOKS}/{book['id']}"
    tag = (await client.get(url)).headers["ETag"]
    services_of(app).book_cache.forget_all()  # the next read is the route's again
    for if_none_match in (tag, f"W/{tag}", f'"other", {tag}', "*"):
        hits = cache.hits
        from_route = await client.get(url, headers={"If-None-Match": if_none_match})
        from_edge = await client.get(url, headers={"If-None-Match": if_none_match})
        assert from_route.status_code == from_edge.status_code == 304, if_none_match
        assert comparable(from_edge) == comparable(from_route)
        assert cache.hits >= hits + 1
        services_of(app).book_cache.forget_all()
    stale = await client.get(url, headers={"If-None-Match": '"not-it"'})
    assert stale.status_code == 200


@pytest.mark.parametrize("accept", ["gzip", "gzip, deflate, br", "br;q=1.0, gzip;q=0.8"])
async def test_gzip_for_clients_that_ask_from_the_route_and_the_edge(
    app: Quart, client: Client, auth_header: dict[str, str], accept: str
) -> None:
    cache = await trusted_cache(app)
    book = await create(client, auth_header, cache, description="A long tale. " * 60)
    url = f"{BOOKS}/{book['id']}"
    plain = await (await client.get(url)).get_data()
    cache.forget_all()  # the next read is the route's again
    hit = await route_then_edge(client, cache, url, **{"Accept-Encoding": accept})
    assert hit.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(await hit.get_data()) == plain
    assert int(hit.headers["Content-Length"]) == len(await hit.get_data())


@pytest.mark.parametrize("accept", ["", "identity", "gzip;q=0", "br"])
async def test_nothing_compressed_for_clients_that_do_not_ask(
    client: Client, auth_header: dict[str, str], accept: str
) -> None:
    book = await create(client, auth_header, description="A long tale. " * 60)
    for _ in range(2):
        answer = await client.get(f"{BOOKS}/{book['id']}", headers={"Accept-Encoding": accept})
        assert "Content-Encoding" not in answer.headers
    document = await client.get("/openapi.json", headers={"Accept-Encoding": accept})
    assert "Content-Encoding" not in document.headers


async def test_other_large_answers_are_compressed_whole(client: Client) -> None:
    plain = await client.get("/openapi.json")
    packed = await client.get("/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(await packed.get_data(as_text=False)) == await plain.get_data()
    small = await client.get("/healthz", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in small.headers


async def test_every_answer_is_logged_with_its_route_and_caller(
    app: Quart, client: Client, auth_header: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    cache = await trusted_cache(app)
    book = await create(client, auth_header, cache)
    with caplog.at_level(logging.INFO, logger="bookapi.requests"):
        caplog.clear()
        url = f"{BOOKS}/{book['id']}"
        await route_then_edge(client, cache, url, **{"X-Request-ID": "edge-1"})
        await client.get("/nowhere")
        TICK.flush()  # lines are written at the end of the loop's turn: end it now
    lines = [record.http for record in caplog.records if hasattr(record, "http")]
    assert [(line["route"], line["status"]) for line in lines] == [
        (f"{BOOKS}/<book_id>", 200),
        (f"{BOOKS}/<book_id>", 200),
        ("(no route)", 404),
    ]
    assert {line["request_id"] for line in lines[:2]} == {"edge-1"}
