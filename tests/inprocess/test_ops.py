"""Health, readiness, the OpenAPI document and the docs page."""

from __future__ import annotations

import logging
import re

import pytest
from pymongo.uri_parser import parse_uri
from quart.typing import TestClientProtocol as Client

from bookapi.web.app import create_app
from bookapi.web.services import connections
from bookapi.web.services.app_services import services_of
from devstack import free_port
from settings import TestingConfig
from tests.helpers import PASSWORD, direct_database, wait_until
from tests.tcp_relay import TcpRelay


async def test_healthz(client: Client) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert await response.get_json() == {"status": "ok"}


async def test_readyz_when_both_answer(client: Client) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert (await response.get_json())["checks"] == {
        "mongodb": "ok",
        "redis": "ok",
        "indexes": "ok",
    }


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


async def test_docs_page_serves_swagger_ui_5_itself(client: Client) -> None:
    response = await client.get("/docs")
    assert response.status_code == 200
    assert "text/html" in response.content_type
    page = await response.get_data(as_text=True)
    assert "/openapi.json" in page
    # Nothing is fetched from another origin: every script and stylesheet is ours.
    assert "//" not in page.replace("http://www.w3.org", "")
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources and all(source.startswith("/docs/assets/") for source in sources)
    for source in sources:
        asset = await client.get(source)
        assert asset.status_code == 200, source
        assert len(await asset.get_data()) > 0
    bundle = await (await client.get("/docs/assets/swagger-ui-bundle.js")).get_data(as_text=True)
    # Swagger UI 5 is the first to render OpenAPI 3.1, which quart-schema writes.
    assert re.search(r'"5\.\d+\.\d+"', bundle)
    for name in ("swagger-editor-bundle.js", "..%2Fcore.py", "LICENSE"):
        missing = await client.get(f"/docs/assets/{name}")
        assert missing.status_code == 404, name
        assert missing.content_type == "application/problem+json"
    spec = await (await client.get("/openapi.json")).get_json()
    assert not any(path.startswith("/docs") for path in spec["paths"])


async def test_a_restart_on_existing_data_builds_only_missing_indexes(
    settings: TestingConfig,
) -> None:
    for _ in range(2):  # the second start finds every index there already
        app = create_app(settings)
        async with app.test_app():
            assert services_of(app).connections.indexes_ready, "the index build failed"
    with direct_database(settings) as db:
        names = {index["name"] for index in db["books"].list_indexes()}
        db["books"].drop_index("title")
    assert {"isbn_unique", "title", "tag"} <= names
    app = create_app(settings)
    async with app.test_app():
        assert services_of(app).connections.indexes_ready
    with direct_database(settings) as db:
        assert "title" in {index["name"] for index in db["books"].list_indexes()}


async def test_not_ready_until_the_indexes_are_confirmed(redis_url: str) -> None:
    # MongoDB down at startup: the indexes cannot be confirmed, so neither is readiness.
    settings = TestingConfig(
        {}, MONGO_URI=f"mongodb://127.0.0.1:{free_port()}/x", REDIS_URL=redis_url
    )
    app = create_app(settings)
    async with app.test_app() as test_app:
        response = await test_app.test_client().get("/readyz")
        assert response.status_code == 503
        assert (await response.get_json())["checks"]["indexes"] == "unavailable"


async def test_openapi_errors_are_problem_json_and_the_websocket_is_described(
    client: Client,
) -> None:
    spec = await (await client.get("/openapi.json")).get_json()
    create = spec["paths"]["/api/v1/books"]["post"]["responses"]
    assert set(create["409"]["content"]) == {"application/problem+json"}
    assert set(create["201"]["content"]) == {"application/json"}
    for operations in spec["paths"].values():
        for operation in operations.values():
            for status, response in operation["responses"].items():
                if int(status) >= 400 and "content" in response:
                    assert set(response["content"]) == {"application/problem+json"}, status
    events = spec["x-websockets"]["/api/v1/jobs/{job_id}/events"]
    assert {"1000", "1001", "1008"} <= events["close_codes"].keys()
    assert "Authorization" in events["authentication"]


async def test_json_answers_are_compact_orjson(client: Client) -> None:
    body = await (await client.get("/readyz")).get_data(as_text=False)
    assert isinstance(body, bytes)
    # orjson keeps the handler's key order and adds no spaces (the standard library's json,
    # quart-schema's default, would sort the keys).
    assert body.startswith(b'{"status":"ok","checks":{"mongodb":"ok","redis":"ok","indexes":"ok"}')
    assert b'"redis":{"primary":"127.0.0.1:' in body and b", " not in body


async def test_a_redis_that_forgets_on_restart_is_reported_at_startup(
    settings: TestingConfig, caplog: pytest.LogCaptureFixture
) -> None:
    # The session's Redis runs with no AOF and no snapshots, as a cache would.
    settings.REDIS_CHECK_PERSISTENCE = True
    app = create_app(settings)
    with caplog.at_level(logging.ERROR):
        async with app.test_app():
            pass
    errors = [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]
    assert any("every revoked token becomes valid again" in line for line in errors), errors


async def test_the_first_admin_is_made_when_mongodb_comes_up_after_the_api(
    settings: TestingConfig, mongo_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connections, "INDEX_RETRY_SECONDS", 0.2)
    address = parse_uri(mongo_uri)["nodelist"][0]
    mongodb_later = TcpRelay(*address)
    settings.MONGO_URI = f"mongodb://127.0.0.1:{mongodb_later.port}/"
    settings.MONGO_TIMEOUT_MS = 300  # the first try at startup fails fast
    settings.FIRST_ADMIN_EMAIL, settings.FIRST_ADMIN_PASSWORD = "root@example.com", PASSWORD
    app = create_app(settings)
    try:
        async with app.test_app() as test_app:
            assert not services_of(app).connections.indexes_ready
            await mongodb_later.start()

            async def ready() -> bool:
                return services_of(app).connections.indexes_ready

            await wait_until(ready, 30, "the startup writes' retry")
            client = test_app.test_client()
            login = await client.post(
                "/api/v1/auth/login", json={"email": "root@example.com", "password": PASSWORD}
            )
            assert login.status_code == 200
    finally:
        await mongodb_later.stop()
        settings.MONGO_URI = mongo_uri  # the fixture drops the test's database through it
    with direct_database(settings) as db:
        assert [user["role"] for user in db["users"].find()] == ["admin"]


async def test_the_first_admin_is_made_at_startup_once(settings: TestingConfig) -> None:
    settings.FIRST_ADMIN_EMAIL = "Root@Example.com"
    settings.FIRST_ADMIN_PASSWORD = "a first admin password"
    for password in ("a first admin password", "another password at the next start"):
        settings.FIRST_ADMIN_PASSWORD = password
        app = create_app(settings)
        async with app.test_app() as test_app:
            client = test_app.test_client()
            login = await client.post(
                "/api/v1/auth/login",
                json={"email": "root@example.com", "password": "a first admin password"},
            )
            assert login.status_code == 200, "the first start's password stays"
    with direct_database(settings) as db:
        admins = list(db["users"].find({"role": "admin"}))
    assert [admin["email_key"] for admin in admins] == ["root@example.com"]
