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

from bookapi import create_app
from bookapi.devstack import free_port
from bookapi.jobs.demo import CSV_COLUMNS, demo_file
from settings import TestingConfig
from tests.conftest import (
    BOTH_DRIVERS,
    MintToken,
    direct_database,
    make_settings,
    mint_access_token,
)
from tests.workers import start_worker, stop_worker, worker_environment

API = "/api/v1"
CSV = {"Content-Type": "text/csv"}
NDJSON = {"Content-Type": "application/x-ndjson"}


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


async def submit_import(
    client: Client,
    headers: dict[str, str],
    body: bytes,
    content: dict[str, str],
    on_conflict: str = "skip",
) -> dict[str, Any]:
    response = await client.post(
        f"{API}/imports?on_conflict={on_conflict}", data=body, headers={**headers, **content}
    )
    assert response.status_code == 202, await response.get_data()
    job: dict[str, Any] = await response.get_json()
    assert response.headers["Location"] == f"{API}/jobs/{job['id']}"
    assert job["state"] == "queued" and job["kind"] == "import"
    return job


async def wait_for_job(client: Client, headers: dict[str, str], job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while True:
        job: dict[str, Any] = await (
            await client.get(f"{API}/jobs/{job_id}", headers=headers)
        ).get_json()
        if job["state"] in ("succeeded", "failed"):
            return job
        assert time.monotonic() < deadline, f"job stuck: {job}"
        await asyncio.sleep(0.2)


async def run_import(
    client: Client,
    headers: dict[str, str],
    body: bytes,
    content: dict[str, str],
    on_conflict: str = "skip",
) -> dict[str, Any]:
    job = await submit_import(client, headers, body, content, on_conflict)
    return await wait_for_job(client, headers, job["id"])


def count_books(settings: TestingConfig) -> int:
    with direct_database(settings) as db:
        return db["books"].count_documents({})


def with_bad_rows(body: bytes, every: int) -> tuple[bytes, list[int]]:
    """Break every `every`-th data row's ISBN check digit; return the file and their lines."""
    lines = body.decode().splitlines()
    bad_lines = []
    for index in range(1, len(lines)):
        if index % every == 0:
            lines[index] = lines[index].replace("979", "978", 1)  # same digits, wrong check
            bad_lines.append(index + 1)
    return ("\n".join(lines) + "\n").encode(), bad_lines


async def test_import_counts_and_reports_bad_lines(
    worker: Any, client: Client, user: dict[str, str], settings: TestingConfig
) -> None:
    body, bad_lines = with_bad_rows(demo_file(3000, "csv"), every=97)
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
    body = demo_file(500, "ndjson")
    first = await run_import(client, user, body, NDJSON)
    second = await run_import(client, user, body, NDJSON)
    assert first["result"]["inserted"] == 500
    assert (second["result"]["inserted"], second["result"]["skipped"]) == (0, 500)
    assert count_books(settings) == 500


def book_inputs(books: list[dict[str, Any]]) -> list[dict[str, Any]]:
    fields = CSV_COLUMNS
    return sorted(
        ({name: book.get(name) for name in fields} for book in books), key=lambda book: book["isbn"]
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
    await run_import(client, user, demo_file(300, "ndjson", seed=7), NDJSON)
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


async def test_export_applies_filters_and_409_before_done(
    worker: Any, client: Client, user: dict[str, str]
) -> None:
    await run_import(client, user, demo_file(200, "ndjson", seed=3), NDJSON)
    books = await all_books(client)
    french = [book for book in books if book["language"] == "fr"]
    response = await client.post(
        f"{API}/exports", json={"format": "jsonl", "language": "fr"}, headers=user
    )
    job = await response.get_json()
    early = await client.get(f"{API}/exports/{job['id']}/download", headers=user)
    assert early.status_code in (200, 409)  # 409 unless the worker was already done
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
    app.config["MAX_IMPORT_BYTES"] = 10_000
    too_big = await client.post(
        f"{API}/imports", data=demo_file(200, "csv"), headers={**user, **CSV}
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
        job = await submit_import(client, user, demo_file(5, "ndjson", first_serial=n * 10), NDJSON)
        ids.append(job["id"])
    other = {"Authorization": f"Bearer {await mint_token('2' * 24)}"}
    await submit_import(client, other, demo_file(5, "ndjson"), NDJSON)
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
    job = await run_import(client, user, demo_file(5, "ndjson"), NDJSON)
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
    job = await submit_import(client, user, demo_file(4000, "csv", seed=11), CSV)
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
    job = await run_import(client, user, demo_file(10, "ndjson"), NDJSON)
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
    job = await run_import(client, user, demo_file(3, "ndjson"), NDJSON)
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
    app.config["WS_AUTH_TIMEOUT_SECONDS"] = 0.5
    async with client.websocket(url) as ws:  # says nothing at all
        _, code = await receive_until_closed(ws)
    assert code == 1008


async def test_many_listeners_share_one_redis_subscription(
    worker: Any, app: Quart, client: Client, user: dict[str, str], settings: TestingConfig
) -> None:
    from redis.asyncio import Redis

    from bookapi.jobs.progress import events_channel

    job = await submit_import(client, user, demo_file(2000, "ndjson", seed=5), NDJSON)
    url = f"{API}/jobs/{job['id']}/events"

    async def listen() -> tuple[list[dict[str, Any]], int]:
        async with client.websocket(url, headers=user) as ws:
            return await receive_until_closed(ws)

    listeners = [asyncio.create_task(listen()) for _ in range(25)]
    await asyncio.sleep(0.5)
    redis = Redis.from_url(settings.REDIS_URL)
    try:
        channel = events_channel(settings.REDIS_PREFIX)
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
            f"{API}/imports", data=demo_file(50, "csv"), headers={**headers, **CSV}
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
