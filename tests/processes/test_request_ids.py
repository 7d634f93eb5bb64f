"""X-Request-ID from the HTTP request to the worker's log lines, one log line per request,
and no secret in any log: against real API and worker processes logging JSON lines."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from quart.typing import TestClientProtocol as Client

from bookapi.domain.books.demo import demo_file
from bookapi.domain.books.files import CSV
from settings import TestingConfig
from tests.helpers import PASSWORD, bearer, direct_database, wait_until, worker_environment
from tests.served import call, served_api, sign_up

TRACE = "trace-me-42"


async def test_the_request_id_is_taken_or_made_and_always_returned(client: Client) -> None:
    given = await client.get("/healthz", headers={"X-Request-ID": "abc-123_x.y"})
    assert given.headers["X-Request-ID"] == "abc-123_x.y"
    made = await client.get("/healthz")
    assert len(made.headers["X-Request-ID"]) == 32
    for unacceptable in ("has space", "x" * 129, "caf\u00e9"):
        answer = await client.get("/healthz", headers={"X-Request-ID": unacceptable})
        assert answer.headers["X-Request-ID"] not in (unacceptable, ""), unacceptable
    problem = await client.get("/api/v1/books/nope", headers={"X-Request-ID": "on-errors-too"})
    assert problem.status_code == 404 and problem.headers["X-Request-ID"] == "on-errors-too"


# What Celery prints itself, outside logging, as it stops (to the terminal it may have).
CELERY_SHUTDOWN_NOTICE = re.compile(r"worker: (Warm|Cold) shutdown \(MainProcess\)")


def json_lines(path: Path, besides: re.Pattern[str] | None = None) -> list[dict[str, Any]]:
    """Every line of a log written with LOG_FORMAT=json; fails on any that is not JSON,
    apart from blank lines and ones matching `besides`."""
    lines = []
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        if not line.strip() or (besides and besides.fullmatch(line)):
            continue
        try:
            lines.append(json.loads(line))
        except ValueError:
            raise AssertionError(f"{path.name} line {number} is not JSON: {line!r}") from None
    return lines


async def test_a_request_id_reaches_the_job_and_every_worker_line_and_no_secret_is_logged(
    settings: TestingConfig, tmp_path: Path
) -> None:
    env = worker_environment(settings, LOG_FORMAT="json")
    api_log, worker_log = tmp_path / "api.log", tmp_path / "worker.log"
    async with served_api(env, tmp_path, worker="logs") as base:
        tokens = sign_up(base, "logs@example.com")
        access, refresh = tokens["access_token"], tokens["refresh_token"]
        submitted = call(
            base,
            "POST",
            "/api/v1/imports",
            demo_file(20, CSV),
            {"Content-Type": "text/csv", **bearer(access), "X-Request-ID": TRACE},
        )
        assert submitted.status == 202 and submitted.headers["X-Request-ID"] == TRACE
        job = submitted.body

        async def ended() -> bool:
            found = call(base, "GET", f"/api/v1/jobs/{job['id']}", headers=bearer(access))
            return bool(found.body["state"] == "succeeded")

        await wait_until(ended, 60, "the import to succeed", every=0.2)
        renewed = call(base, "POST", "/api/v1/auth/refresh", headers=bearer(refresh)).body
        logged_out = call(
            base,
            "POST",
            "/api/v1/auth/logout",
            json.dumps({"refresh_token": renewed["refresh_token"]}).encode(),
            {"Content-Type": "application/json", **bearer(renewed["access_token"])},
        )
        assert logged_out.status < 300, logged_out

    with direct_database(settings) as db:
        record = db["jobs"].find_one({})
    assert record is not None and record["request_id"] == TRACE

    requests = [line["http"] for line in json_lines(api_log) if "http" in line]
    submit = [line for line in requests if line["route"] == "/api/v1/imports"]
    assert submit and submit[0]["request_id"] == TRACE and submit[0]["status"] == 202
    assert submit[0]["caller"] == record["created_by"] and submit[0]["duration_ms"] > 0
    assert {"method", "route", "status", "duration_ms", "caller", "request_id"} <= set(submit[0])

    of_the_job = [
        line
        for line in json_lines(worker_log, besides=CELERY_SHUTDOWN_NOTICE)
        if line.get("job_id") == job["id"]
    ]
    messages = " | ".join(line["message"] for line in of_the_job)
    assert "started" in messages and "succeeded" in messages, messages
    assert all(line.get("request_id") == TRACE for line in of_the_job), of_the_job

    everything = api_log.read_text(errors="replace") + worker_log.read_text(errors="replace")
    secrets = {
        "password": PASSWORD,
        "access token": access,
        "refresh token": refresh,
        "renewed access token": renewed["access_token"],
        "renewed refresh token": renewed["refresh_token"],
    }
    for name, secret in secrets.items():
        assert secret not in everything, f"the {name} was logged"
    for marker in ("Bearer ", "authorization", "Authorization", "argon2"):
        assert marker not in everything, f"{marker!r} was logged"
