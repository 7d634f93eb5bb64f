"""Imports, exports and live progress: a real Celery worker, Redis and MongoDB-protocol server."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from quart import Quart
from quart.testing.connections import WebsocketDisconnectError, WebsocketResponseError
from quart.typing import TestClientProtocol as Client
from redis.asyncio import Redis

from bookapi.domain.books.book_schemas import BOOK_FIELDS
from bookapi.domain.books.demo import demo_file
from bookapi.domain.books.files import CSV as CSV_FILE
from bookapi.domain.books.files import JSON_LINES
from bookapi.storage.redis_names import RedisNames
from bookapi.web.app import create_app
from bookapi.web.services.app_services import services_of
from devstack import free_port
from settings import TestingConfig
from tests.helpers import (
    API,
    BOTH_DRIVERS,
    CSV,
    DUNE,
    NDJSON,
    MintToken,
    count_books,
    direct_database,
    make_settings,
    mint_access_token,
    run_import,
    start_worker,
    stop_worker,
    submit_import,
    wait_for_job,
    wait_until,
    with_bad_rows,
    worker_environment,
)


@pytest.fixture(scope="module")
def database_name() -> str:
    # One database (emptied by each test's teardown) and one worker for the whole module.
    return f"test_jobs_{int(time.time() * 1000) % 10**9}"


@pytest.fixture(scope="module")
def worker(
    mongo_uri: str, redis_url: str, database_name: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[subprocess.Popen[bytes]]:
    settings = make_settings(mongo_uri, redis_url, database_name)
    env = worker_environment(settings, IMPORT_BATCH_SIZE="100")
    process = start_worker(env, tmp_path_factory.mktemp("worker") / "worker.log", "jobs")
    yield process
    stop_worker(process)


@pytest.fixture
async def user(mint_token: MintToken) -> dict[str, str]:
    return {"Authorization": f"Bearer {await mint_token('1' * 24)}"}


async def test_import_counts_and_reports_bad_lines(
    worker: Any, client: Client, user: dict[str, str], settings: TestingConfig
) -> None:
    body, bad_lines = with_bad_rows(demo_file(3000, CSV_FILE), every=97)
    job = await run_import(client, user, body, CSV)
    assert job["state"] == "succeeded", job
    result = job["result"]
    assert result["inserted"] == 3000 - len(bad_lines)
    assert result["failed"] == len(bad_lines) and result["skipped"] == result["updated"] == 0
    assert [error["line"] for error in result["errors"]] == bad_lines
    assert "isbn" in result["errors"][0]["error"]
    assert job["progress"] == {"done": 3000, "total": 3000}
    assert count_books(settings) == 3000 - len(bad_lines)


async def test_ndjson_rows_are_validated_like_post(
    worker: Any, client: Client, user: dict[str, str]
) -> None:
    rows = [
        {"isbn": "0-441-01359-7", "title": "Dune", "authors": ["Frank Herbert"]},
        {"isbn": "0-441-01359-7", "title": "Dune", "authors": []},
        {"isbn": "9780143039433", "title": "x", "authors": ["a"], "role": "admin"},
        {"isbn": "9780143039433", "title": {"$gt": ""}, "authors": ["a"]},
        "not an object",
    ]
    body = "\n".join(json.dumps(row) for row in rows).encode() + b"\n{broken json\n"
    job = await run_import(client, user, body, NDJSON)
    result = job["result"]
    assert (result["inserted"], result["failed"]) == (1, 5)
    assert [error["line"] for error in result["errors"]] == [2, 3, 4, 5, 6]


async def test_on_conflict_skip_then_update(
    worker: Any, client: Client, user: dict[str, str]
) -> None:
    created = await client.post(
        f"{API}/books",
        json={"isbn": "9780441013593", "title": "Old title", "authors": ["F. H."]},
        headers=user,
    )
    book = await created.get_json()
    rows = [
        {"isbn": "0441013597", "title": "New title", "authors": ["Frank Herbert"]},
        {"isbn": "9780143039433", "title": "Other", "authors": ["A. N. Other"]},
    ]
    body = "".join(json.dumps(row) + "\n" for row in rows).encode()
    skipped = await run_import(client, user, body, NDJSON, "skip")
    assert {k: skipped["result"][k] for k in ("inserted", "updated", "skipped")} == {
        "inserted": 1,
        "updated": 0,
        "skipped": 1,
    }
    unchanged = await (await client.get(f"{API}/books/{book['id']}")).get_json()
    assert unchanged["title"] == "Old title"
    updated = await run_import(client, user, body, NDJSON, "update")
    assert {k: updated["result"][k] for k in ("inserted", "updated", "skipped")} == {
        "inserted": 0,
        "updated": 2,
        "skipped": 0,
    }
    changed = await (await client.get(f"{API}/books/{book['id']}")).get_json()
    assert changed["title"] == "New title" and changed["authors"] == ["Frank Herbert"]
    assert changed["created_by"] == book["created_by"]


async def test_running_the_same_import_twice_duplicates_nothing(
    worker: Any, client: Client, user: dict[str, str], settings: TestingConfig
) -> None:
    body = demo_file(500, JSON_LINES)
    first = await run_import(client, user, body, NDJSON)
    second = await run_import(client, user, body, NDJSON)
    assert first["result"]["inserted"] == 500
    assert (second["result"]["inserted"], second["result"]["skipped"]) == (0, 500)
    assert count_books(settings) == 500


def book_inputs(books: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(
        ({name: book.get(name) for name in BOOK_FIELDS} for book in books),
        key=lambda book: book["isbn"],
    )


async def all_books(client: Client) -> list[dict[str, Any]]:
    books: list[dict[str, Any]] = []
    url = f"{API}/books?limit=100"
    while url:
        page = await (await client.get(url)).get_json()
        books += page["items"]
        url = f"{API}/books?limit=100&cursor={page['next_cursor']}" if page["next_cursor"] else ""
    return books


@BOTH_DRIVERS  # uploads and downloads stream through each driver's async GridFS
@pytest.mark.parametrize("file_format", ["jsonl", "csv"])
async def test_export_then_import_into_an_empty_database_gives_the_same_books(
    worker: Any,
    client: Client,
    user: dict[str, str],
    settings: TestingConfig,
    file_format: str,
) -> None:
    await run_import(client, user, demo_file(300, JSON_LINES, seed=7), NDJSON)
    before = book_inputs(await all_books(client))
    response = await client.post(f"{API}/exports", json={"format": file_format}, headers=user)
    assert response.status_code == 202
    export = await wait_for_job(client, user, (await response.get_json())["id"])
    assert export["state"] == "succeeded" and export["result"]["count"] == 300
    download = await client.get(f"{API}/exports/{export['id']}/download", headers=user)
    assert download.status_code == 200
    content = await download.get_data(as_text=False)
    with direct_database(settings) as db:
        db["books"].delete_many({})
    assert count_books(settings) == 0
    content_type = CSV if file_format == "csv" else NDJSON
    again = await run_import(client, user, content, content_type)
    assert again["result"]["inserted"] == 300 and again["result"]["failed"] == 0
    assert book_inputs(await all_books(client)) == before


async def test_export_applies_filters(worker: Any, client: Client, user: dict[str, str]) -> None:
    await run_import(client, user, demo_file(200, JSON_LINES, seed=3), NDJSON)
    books = await all_books(client)
    french = [book for book in books if book["language"] == "fr"]
    response = await client.post(
        f"{API}/exports", json={"format": "jsonl", "language": "fr"}, headers=user
    )
    job = await response.get_json()
    job = await wait_for_job(client, user, job["id"])
    content = await (
        await client.get(f"{API}/exports/{job['id']}/download", headers=user)
    ).get_data(as_text=True)
    exported = [json.loads(line) for line in content.splitlines()]
    assert book_inputs(exported) == book_inputs(french)


async def test_exports_reject_bad_filters(client: Client, user: dict[str, str]) -> None:
    for body in (
        {"format": "xml"},
        {"format": "csv", "year_min": "1990"},
        {"format": "csv", "author": {"$ne": None}},
        {"format": "csv", "limit": 5},
    ):
        response = await client.post(f"{API}/exports", json=body, headers=user)
        assert response.status_code == 400, body


@BOTH_DRIVERS
async def test_import_rejects_wrong_type_empty_and_oversized_files(
    client: Client, user: dict[str, str], settings: TestingConfig, app: Quart
) -> None:
    wrong = await client.post(
        f"{API}/imports", data=b"{}", headers={**user, "Content-Type": "application/json"}
    )
    assert wrong.status_code == 415
    empty = await client.post(f"{API}/imports", data=b"", headers={**user, **CSV})
    assert empty.status_code == 400
    bad_option = await client.post(
        f"{API}/imports?on_conflict=merge", data=b"x", headers={**user, **CSV}
    )
    assert bad_option.status_code == 400
    services_of(app).settings.MAX_IMPORT_BYTES = 10_000
    too_big = await client.post(
        f"{API}/imports", data=demo_file(200, CSV_FILE), headers={**user, **CSV}
    )
    assert too_big.status_code == 413
    assert (await client.post(f"{API}/imports", data=b"x", headers=CSV)).status_code == 401
    with direct_database(settings) as db:
        assert db["jobs"].count_documents({}) == 0
        assert db["fs.files"].count_documents({}) == 0, "a refused upload left a file behind"


async def test_jobs_list_is_the_callers_newest_first(
    worker: Any, client: Client, user: dict[str, str], mint_token: MintToken
) -> None:
    ids = []
    for n in range(3):
        job = await submit_import(
            client, user, demo_file(5, JSON_LINES, first_serial=n * 10), NDJSON
        )
        ids.append(job["id"])
    other = {"Authorization": f"Bearer {await mint_token('2' * 24)}"}
    await submit_import(client, other, demo_file(5, JSON_LINES), NDJSON)
    page = await (await client.get(f"{API}/jobs?limit=2", headers=user)).get_json()
    rest = await (
        await client.get(f"{API}/jobs?limit=2&cursor={page['next_cursor']}", headers=user)
    ).get_json()
    assert [job["id"] for job in page["items"] + rest["items"]] == ids[::-1]
    assert rest["next_cursor"] is None
    for job_id in ids:
        await wait_for_job(client, user, job_id)


async def test_another_users_job_is_404_everywhere(
    worker: Any, client: Client, user: dict[str, str], mint_token: MintToken
) -> None:
    job = await run_import(client, user, demo_file(5, JSON_LINES), NDJSON)
    stranger = {"Authorization": f"Bearer {await mint_token('3' * 24)}"}
    assert (await client.get(f"{API}/jobs/{job['id']}", headers=stranger)).status_code == 404
    download = await client.get(f"{API}/exports/{job['id']}/download", headers=stranger)
    assert download.status_code == 404
    with pytest.raises(WebsocketResponseError) as refused:
        async with client.websocket(f"{API}/jobs/{job['id']}/events", headers=stranger) as ws:
            await ws.receive()
    assert refused.value.response.status_code == 404
    token = stranger["Authorization"].split()[1]
    async with client.websocket(f"{API}/jobs/{job['id']}/events") as ws:
        await ws.send_json({"type": "auth", "token": token})
        with pytest.raises(WebsocketDisconnectError) as closed:
            await ws.receive()
    assert closed.value.args[0] == 1008
    admin = {"Authorization": f"Bearer {await mint_token('4' * 24, role='admin')}"}
    assert (await client.get(f"{API}/jobs/{job['id']}", headers=admin)).status_code == 200


async def receive_until_closed(ws: Any) -> tuple[list[dict[str, Any]], int]:
    messages = []
    while True:
        try:
            messages.append(json.loads(await asyncio.wait_for(ws.receive(), 60)))
        except WebsocketDisconnectError as closed:
            return messages, closed.args[0]


async def test_websocket_streams_snapshot_progress_finished(
    worker: Any, client: Client, user: dict[str, str]
) -> None:
    job = await submit_import(client, user, demo_file(4000, CSV_FILE, seed=11), CSV)
    async with client.websocket(f"{API}/jobs/{job['id']}/events", headers=user) as ws:
        messages, code = await receive_until_closed(ws)
    assert code == 1000
    kinds = [message["type"] for message in messages]
    assert kinds[0] == "snapshot" and kinds[-1] == "finished", kinds
    assert "progress" in kinds[1:-1], kinds
    assert set(kinds[1:-1]) == {"progress"}
    done = [message["done"] for message in messages if message["type"] == "progress"]
    assert done == sorted(done)
    assert all(message["total"] == 4000 for message in messages if message["type"] == "progress")
    finished = messages[-1]["job"]
    assert finished["state"] == "succeeded" and finished["result"]["inserted"] == 4000


async def test_a_late_listener_gets_the_outcome_then_close(
    worker: Any, client: Client, user: dict[str, str]
) -> None:
    job = await run_import(client, user, demo_file(10, JSON_LINES), NDJSON)
    token = user["Authorization"].split()[1]
    async with client.websocket(f"{API}/jobs/{job['id']}/events") as ws:
        await ws.send_json({"type": "auth", "token": token})  # the browser way
        messages, code = await receive_until_closed(ws)
    assert code == 1000
    assert [message["type"] for message in messages] == ["snapshot"]
    assert messages[0]["job"]["state"] == "succeeded"


async def test_websocket_authentication_failures(
    worker: Any, app: Quart, client: Client, user: dict[str, str]
) -> None:
    job = await run_import(client, user, demo_file(3, JSON_LINES), NDJSON)
    url = f"{API}/jobs/{job['id']}/events"
    with pytest.raises(WebsocketResponseError) as refused:
        async with client.websocket(url, headers={"Authorization": "Bearer nonsense"}) as ws:
            await ws.receive()
    assert refused.value.response.status_code == 401
    for message in ({"type": "auth", "token": "nonsense"}, {"type": "hello"}, "not json"):
        async with client.websocket(url) as ws:
            await ws.send(json.dumps(message) if isinstance(message, dict) else message)
            _, code = await receive_until_closed(ws)
        assert code == 1008, message
    services_of(app).settings.WS_AUTH_TIMEOUT_SECONDS = 0.5
    async with client.websocket(url) as ws:  # says nothing at all
        _, code = await receive_until_closed(ws)
    assert code == 1008


async def test_many_listeners_share_one_redis_subscription(
    worker: Any, app: Quart, client: Client, user: dict[str, str], settings: TestingConfig
) -> None:
    job = await submit_import(client, user, demo_file(2000, JSON_LINES, seed=5), NDJSON)
    url = f"{API}/jobs/{job['id']}/events"

    async def listen() -> tuple[list[dict[str, Any]], int]:
        async with client.websocket(url, headers=user) as ws:
            return await receive_until_closed(ws)

    listeners = [asyncio.create_task(listen()) for _ in range(25)]
    hub = services_of(app).job_events

    async def all_listening() -> bool:
        return len(hub.listeners.get(job["id"], ())) == 25

    await wait_until(all_listening, 30, "25 websocket listeners")
    redis = Redis.from_url(settings.REDIS_URL)
    try:
        channel = RedisNames(settings.REDIS_PREFIX).job_events_channel
        subscriptions = dict(await redis.pubsub_numsub(channel))
        assert subscriptions[channel.encode()] == 1
    finally:
        await redis.aclose()
    for messages, code in await asyncio.gather(*listeners):
        assert code == 1000 and messages[-1]["type"] == "finished"


async def test_broker_down_at_submit_is_503_and_records_nothing(
    mongo_uri: str, redis_url: str, database_name: str, settings: TestingConfig, tmp_path: Path
) -> None:
    down = make_settings(
        mongo_uri,
        redis_url,
        database_name,
        CELERY_BROKER_URL=f"redis://127.0.0.1:{free_port()}/0",
    )
    app = create_app(down)
    async with app.test_app() as test_app:
        client = test_app.test_client()
        headers = {"Authorization": f"Bearer {await mint_access_token(app)}"}
        started = time.monotonic()
        response = await client.post(
            f"{API}/imports", data=demo_file(50, CSV_FILE), headers={**headers, **CSV}
        )
        assert response.status_code == 503
        assert time.monotonic() - started < 5
        assert "Retry-After" in response.headers
        export = await client.post(f"{API}/exports", json={"format": "csv"}, headers=headers)
        assert export.status_code == 503
        jobs = await (await client.get(f"{API}/jobs", headers=headers)).get_json()
        assert jobs["items"] == []
    with direct_database(down) as db:
        assert db["jobs"].count_documents({}) == 0
        assert db["fs.files"].count_documents({}) == 0


async def test_download_of_a_vanished_export_is_410(
    worker: Any, client: Client, user: dict[str, str], settings: TestingConfig
) -> None:
    response = await client.post(f"{API}/exports", json={"format": "csv"}, headers=user)
    job = await wait_for_job(client, user, (await response.get_json())["id"])
    assert job["state"] == "succeeded"
    with direct_database(settings) as db:
        db["fs.files"].delete_many({})
        db["fs.chunks"].delete_many({})
    gone = await client.get(f"{API}/exports/{job['id']}/download", headers=user)
    assert gone.status_code == 410
    assert gone.mimetype == "application/problem+json"


async def test_download_is_409_while_the_export_has_not_run(
    mongo_uri: str, redis_url: str, database_name: str
) -> None:
    # A queue no worker consumes: the export stays queued for as long as the test needs.
    idle = make_settings(mongo_uri, redis_url, database_name, CELERY_QUEUE=f"{database_name}:idle")
    app = create_app(idle)
    async with app.test_app() as test_app:
        client = test_app.test_client()
        headers = {"Authorization": f"Bearer {await mint_access_token(app)}"}
        response = await client.post(f"{API}/exports", json={"format": "csv"}, headers=headers)
        job = await response.get_json()
        download = await client.get(f"{API}/exports/{job['id']}/download", headers=headers)
        assert download.status_code == 409
        assert download.mimetype == "application/problem+json"
        assert (await download.get_json())["detail"] == "The export is queued, not ready."


async def test_an_update_import_cannot_change_another_users_book(
    worker: Any, client: Client, user: dict[str, str], mint_token: MintToken
) -> None:
    created = await client.post(f"{API}/books", json=DUNE, headers=user)
    book = await created.get_json()
    row = json.dumps({"isbn": "0441013597", "title": "Taken over", "authors": ["X"]}) + "\n"
    stranger = {"Authorization": f"Bearer {await mint_token('6' * 24)}"}
    refused = await run_import(client, stranger, row.encode(), NDJSON, "update")
    assert refused["state"] == "succeeded"
    assert (refused["result"]["updated"], refused["result"]["failed"]) == (0, 1)
    assert refused["result"]["errors"][0]["error"].startswith("not yours")
    unchanged = await (await client.get(f"{API}/books/{book['id']}")).get_json()
    assert unchanged["title"] == "Dune"
    admin = {"Authorization": f"Bearer {await mint_token('7' * 24, role='admin')}"}
    allowed = await run_import(client, admin, row.encode(), NDJSON, "update")
    assert allowed["result"]["updated"] == 1
    changed = await (await client.get(f"{API}/books/{book['id']}")).get_json()
    assert changed["title"] == "Taken over" and changed["created_by"] == book["created_by"]
