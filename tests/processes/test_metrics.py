"""`/metrics`: off without a token, refused without the right one, and the numbers move
after real traffic, added up across two server processes and a Celery worker."""

from __future__ import annotations

import json
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from quart import Quart
from quart.typing import TestClientProtocol as Client

from bookapi.web.app import create_app
from settings import TestingConfig
from tests.helpers import (
    DUNE,
    bearer,
    make_settings,
    wait_until,
    worker_environment,
)
from tests.served import call, import_demo_books, served_api, sign_up

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
    async with served_api(env, tmp_path, "--workers", "2", worker="metrics") as base:
        access = sign_up(base, "metrics@example.com")["access_token"]
        as_json = {"Content-Type": "application/json"}
        book = call(
            base, "POST", "/api/v1/books", json.dumps(DUNE).encode(), {**as_json, **bearer(access)}
        ).body
        for _ in range(6):
            read = call(base, "GET", f"/api/v1/books/{book['id']}")
            assert read.body["title"] == DUNE["title"]
        assert call(base, "GET", "/api/v1/books/0123456789abcdef01234567").status == 404
        job = import_demo_books(base, access, 20)

        async def ended() -> bool:
            found = call(base, "GET", f"/api/v1/jobs/{job['id']}", headers=bearer(access))
            return bool(found.body["state"] == "succeeded")

        await wait_until(ended, 60, "the import to succeed", every=0.2)
        found = samples(call(base, "GET", "/metrics", headers=bearer(TOKEN)).body)

    # Stopped cleanly, every process dropped its live gauges; the counters stay.
    assert not list(metrics_dir.glob("gauge_live*.db")), sorted(metrics_dir.iterdir())
    assert list(metrics_dir.glob("counter_*.db"))
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
