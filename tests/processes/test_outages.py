"""A dependency outage gives a quick 503 and loses nothing; the app recovers on its own."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bookapi.web.app import create_app
from devstack import free_port, start_mongo
from settings import TestingConfig
from tests.helpers import BOTH_DRIVERS, DUNE, mint_access_token


async def get_until(client: object, url: str, status: int, within: float) -> int:
    """Poll `url` until it answers `status` or `within` seconds pass; return the last status."""
    deadline = time.monotonic() + within
    while True:
        response = await client.get(url)  # type: ignore[attr-defined]
        if response.status_code == status or time.monotonic() > deadline:
            code: int = response.status_code
            return code
        await asyncio.sleep(0.2)


@BOTH_DRIVERS
async def test_mongodb_down_is_503_fast_then_recovers(
    tmp_path: Path, redis_url: str, mongo_driver: str
) -> None:
    port = free_port()
    server = start_mongo(port, tmp_path / "mongo")
    settings = TestingConfig(
        {}, MONGO_URI=server.url, REDIS_URL=redis_url, MONGO_DRIVER=mongo_driver
    )
    app = create_app(settings)
    try:
        async with app.test_app() as test_app:
            client = test_app.test_client()
            auth = {"Authorization": f"Bearer {await mint_access_token(app)}"}
            created = await client.post("/api/v1/books", json=DUNE, headers=auth)
            assert created.status_code == 201

            server.stop()
            started = time.monotonic()
            response = await client.get("/api/v1/books")
            elapsed = time.monotonic() - started
            assert response.status_code == 503
            assert response.mimetype == "application/problem+json"
            assert int(response.headers["Retry-After"]) > 0
            assert elapsed < 3.5, f"503 took {elapsed:.1f}s"
            write = await client.post("/api/v1/books", json={**DUNE, "title": "x"}, headers=auth)
            assert write.status_code == 503
            ready = await client.get("/readyz")
            assert ready.status_code == 503
            assert (await ready.get_json())["checks"]["mongodb"] == "unavailable"

            server = start_mongo(port, tmp_path / "mongo")
            assert await get_until(client, "/api/v1/books", 200, within=15) == 200
            items = (await (await client.get("/api/v1/books")).get_json())["items"]
            assert [book["title"] for book in items] == ["Dune"], "data lost across the outage"
            assert await get_until(client, "/readyz", 200, within=5) == 200
    finally:
        server.stop()
        server.remove_data()


async def test_redis_down_is_503_for_writes_while_reads_work(
    mongo_uri: str, database_name: str
) -> None:
    closed_port = free_port()
    settings = TestingConfig(
        {},
        MONGO_URI=mongo_uri,
        MONGO_DB=database_name,
        REDIS_URL=f"redis://127.0.0.1:{closed_port}/0",
    )
    app = create_app(settings)
    async with app.test_app() as test_app:
        client = test_app.test_client()
        token = await mint_access_token(app)
        write = await client.post(
            "/api/v1/books", json=DUNE, headers={"Authorization": f"Bearer {token}"}
        )
        assert write.status_code == 503
        assert "Retry-After" in write.headers
        me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 503
        login = await client.post(
            "/api/v1/auth/login", json={"email": "a@example.com", "password": "whatever1"}
        )
        assert login.status_code == 503
        assert (await client.get("/api/v1/books")).status_code == 200
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        checks = (await ready.get_json())["checks"]
        assert checks == {"mongodb": "ok", "redis": "unavailable", "indexes": "ok"}
