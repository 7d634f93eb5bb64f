"""`/metrics`: off without a token, refused without the right one, and the numbers move
after real traffic, added up across two server processes and a Celery worker."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from quart import Quart
from quart.typing import TestClientProtocol as Client

from bookapi.app import create_app
from bookapi.books.demo import demo_file
from bookapi.books.files import CSV
from bookapi.devstack import free_port
from settings import PROJECT_DIR, TestingConfig
from tests.helpers import (
    DUNE,
    PASSWORD,
    bearer,
    make_settings,
    start_worker,
    stop_worker,
    wait_until,
    worker_environment,
)

TOKEN = "metrics-token-for-tests"
BOOK_ROUTE = "/api/v1/books/<book_id>"


async def test_metrics_are_off_without_a_token(client: Client) -> None:
    response = await client.get("/metrics")
    assert response.status_code == 404


async def test_metrics_need_the_token(settings: TestingConfig) -> None:
    app: Quart = create_app(
        make_settings(
            settings.MONGO_URI, settings.REDIS_URL, settings.MONGO_DB, METRICS_TOKEN=TOKEN
        )
    )
    async with app.test_app():
        client = app.test_client()
        assert (await client.get("/metrics")).status_code == 401
        assert (await client.get("/metrics", headers=bearer("wrong"))).status_code == 401
        scraped = await client.get("/metrics", headers=bearer(TOKEN))
        assert scraped.status_code == 200
        assert scraped.content_type.startswith("text/plain")
        assert "bookapi_job_queue_depth" in await scraped.get_data(as_text=True)


def call(
    base: str,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    request = urllib.request.Request(
        f"{base}{path}", data=body, method=method, headers=headers or {}
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            raw = response.read()
            is_json = response.headers.get_content_type().endswith("json")
            return json.loads(raw) if raw and is_json else raw.decode()
    except urllib.error.HTTPError as error:
        return error.code


def samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    return [
        (sample.name, sample.labels, sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


def total(found: list[tuple[str, dict[str, str], float]], name: str, **labels: str) -> float:
    return sum(
        value
        for sample, have, value in found
        if sample == name and all(have.get(key) == wanted for key, wanted in labels.items())
    )


async def test_the_numbers_move_and_add_up_across_processes(
    settings: TestingConfig, tmp_path: Path
) -> None:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = worker_environment(
        settings, METRICS_TOKEN=TOKEN, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir)
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with (tmp_path / "api.log").open("ab") as log:
        api = subprocess.Popen(
            [sys.executable, "-m", "bookapi.serve", "--port", str(port), "--workers", "2"],
            cwd=PROJECT_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    worker = start_worker(env, tmp_path / "worker.log", "metrics")
    try:

        async def answers() -> bool:
            try:
                with urllib.request.urlopen(f"{base}/readyz", timeout=2):
                    return True
            except OSError:
                return False

        await wait_until(answers, 60, "the API", every=0.2)
        account = json.dumps({"email": "metrics@example.com", "password": PASSWORD}).encode()
        as_json = {"Content-Type": "application/json"}
        call(base, "POST", "/api/v1/auth/register", account, as_json)
        access = call(base, "POST", "/api/v1/auth/login", account, as_json)["access_token"]
        book = call(
            base, "POST", "/api/v1/books", json.dumps(DUNE).encode(), {**as_json, **bearer(access)}
        )
        for _ in range(6):
            assert call(base, "GET", f"/api/v1/books/{book['id']}")["title"] == DUNE["title"]
        assert call(base, "GET", "/api/v1/books/0123456789abcdef01234567") == 404
        job = call(
            base,
            "POST",
            "/api/v1/imports",
            demo_file(20, CSV),
            {"Content-Type": "text/csv", **bearer(access)},
        )

        async def ended() -> bool:
            found = call(base, "GET", f"/api/v1/jobs/{job['id']}", headers=bearer(access))
            return bool(found["state"] == "succeeded")

        await wait_until(ended, 60, "the import to succeed", every=0.2)
        found = samples(call(base, "GET", "/metrics", headers=bearer(TOKEN)))
    finally:
        api.terminate()
        api.wait(30)
        stop_worker(worker)

    requests = "bookapi_http_requests_total"
    assert total(found, requests, method="GET", route=BOOK_ROUTE, status="200") >= 6
    assert total(found, requests, method="GET", route=BOOK_ROUTE, status="404") >= 1
    assert total(found, requests, method="POST", route="/api/v1/imports", status="202") == 1
    assert total(found, "bookapi_http_request_duration_seconds_count", route=BOOK_ROUTE) >= 7
    assert total(found, "bookapi_book_cache_total", result="hit") >= 1
    assert total(found, "bookapi_book_cache_total") >= 7
    assert total(found, "bookapi_jobs_submitted_total", kind="import") == 1
    # Counted by the Celery worker, a process of its own: the numbers add up.
    assert total(found, "bookapi_jobs_ended_total", kind="import", state="succeeded") == 1
    assert total(found, "bookapi_job_duration_seconds_count", kind="import") == 1
    assert total(found, "bookapi_import_rows_per_second_count") == 1
    assert any(name == "bookapi_job_queue_depth" for name, _, _ in found)
    assert any(name == "bookapi_http_requests_in_flight" for name, _, _ in found)
