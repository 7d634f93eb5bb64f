"""Helpers the test modules share: settings per test, tokens, HTTP shortcuts, direct database
access, and real worker and CLI processes. Fixtures live in conftest.py."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from pymongo.database import Database
from quart import Quart
from quart.typing import TestClientProtocol as Client

from bookapi.storage.mongo import create_sync_client, sync_database
from bookapi.web.security.tokens import sign_token
from bookapi.web.services.app_services import services_of
from bookapi.web.services.book_cache import BookCache
from devstack.launch import celery_argv, cli_argv, launch, wait_for_log_line, worker_arguments
from settings import PROJECT_DIR, Config, TestingConfig

API = "/api/v1"
AUTH = f"{API}/auth"
OWNER_ID = "a" * 24
PASSWORD = "correct horse battery"
DUNE = {"isbn": "0-441-01359-7", "title": "Dune", "authors": ["Frank Herbert"]}
CSV = {"Content-Type": "text/csv"}
NDJSON = {"Content-Type": "application/x-ndjson"}
BOTH_DRIVERS = pytest.mark.parametrize("mongo_driver", ["motor", "pymongo"])
MintToken = Callable[..., Awaitable[str]]

# Settings and the database


def make_settings(
    mongo_uri: str, redis_url: str, database_name: str, **overrides: Any
) -> TestingConfig:
    """Settings whose database, Redis keys and job queue belong to one test (or module)."""
    values: dict[str, Any] = {
        "MONGO_URI": mongo_uri,
        "MONGO_DB": database_name,
        "REDIS_URL": redis_url,
        "REDIS_PREFIX": f"{database_name}:",  # rate limits and revocations start fresh too
        "CELERY_QUEUE": f"{database_name}:jobs",
        "CELERY_MAINTENANCE_QUEUE": f"{database_name}:maintenance",
    }
    return TestingConfig({}, **{**values, **overrides})


@contextmanager
def direct_database(settings: Config) -> Iterator[Database[dict[str, Any]]]:
    """The test's database through synchronous PyMongo, to look behind the API."""
    client = create_sync_client(settings)
    try:
        # Any: tests read whatever is stored, including fields no type declares.
        yield cast("Database[dict[str, Any]]", sync_database(client, settings))
    finally:
        client.close()


def count_books(settings: Config) -> int:
    with direct_database(settings) as db:
        return db["books"].count_documents({})


# Tokens and HTTP


async def mint_access_token(
    app: Quart,
    user_id: str | None = None,
    role: str = "user",
    expires_delta: timedelta | None = None,
) -> str:
    """Sign an access token the way the app does, for a user id and role."""
    async with app.app_context():
        return sign_token(user_id or uuid.uuid4().hex[:24], role, "access", expires_delta)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def register(client: Client, email: str, password: str = PASSWORD, **extra: Any) -> Any:
    return await client.post(
        f"{AUTH}/register", json={"email": email, "password": password, **extra}
    )


async def login(client: Client, email: str, password: str = PASSWORD) -> Any:
    return await client.post(f"{AUTH}/login", json={"email": email, "password": password})


async def wait_until(
    condition: Callable[[], Awaitable[bool]], within: float, what: str, every: float = 0.05
) -> None:
    """Poll `condition` until it holds; fail naming `what` after `within` seconds."""
    deadline = time.monotonic() + within
    while not await condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(every)


# Jobs


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
    """The job once it has ended (succeeded or failed)."""
    job: dict[str, Any] = {}

    async def ended() -> bool:
        nonlocal job
        job = await (await client.get(f"{API}/jobs/{job_id}", headers=headers)).get_json()
        return job["state"] in ("succeeded", "failed")

    await wait_until(ended, 120, f"job {job_id} to end", every=0.2)
    return job


async def run_import(
    client: Client,
    headers: dict[str, str],
    body: bytes,
    content: dict[str, str],
    on_conflict: str = "skip",
) -> dict[str, Any]:
    job = await submit_import(client, headers, body, content, on_conflict)
    return await wait_for_job(client, headers, job["id"])


def with_bad_rows(body: bytes, every: int) -> tuple[bytes, list[int]]:
    """Break every `every`-th data row's ISBN check digit; return the file and their lines."""
    lines = body.decode().splitlines()
    bad_lines = []
    for index in range(1, len(lines)):
        if index % every == 0:
            lines[index] = lines[index].replace("979", "978", 1)  # same digits, wrong check
            bad_lines.append(index + 1)
    return ("\n".join(lines) + "\n").encode(), bad_lines


# Real processes: Celery workers and the CLI


# A job's heartbeat and the reaper, fast enough for a test to watch a dead run be reaped.
FAST_REAPER = {
    "JOB_HEARTBEAT_SECONDS": "0.5",
    "JOB_STALE_SECONDS": "3",
    "JOB_MAINTENANCE_SECONDS": "1",
}


def worker_environment(settings: Config, **extra: str) -> dict[str, str]:
    """The environment that makes a worker or CLI process read the test app's settings."""
    return {
        **os.environ,
        "BOOKAPI_ENV": "testing",
        "MONGO_URI": settings.MONGO_URI,
        "MONGO_DB": settings.MONGO_DB,
        "REDIS_URL": settings.REDIS_URL,
        "REDIS_PREFIX": settings.REDIS_PREFIX,
        "CELERY_QUEUE": settings.CELERY_QUEUE,
        "CELERY_MAINTENANCE_QUEUE": settings.CELERY_MAINTENANCE_QUEUE,
        **extra,
    }


def start_celery(
    env: dict[str, str], log_path: Path, arguments: list[str], ready_line: bytes
) -> subprocess.Popen[bytes]:
    """`celery -A worker --quiet ARGUMENTS...`, once `ready_line` is in its log."""
    process = launch(celery_argv(*arguments), env, log_path)
    wait_for_log_line(process, log_path, ready_line)
    return process


def start_worker(
    env: dict[str, str], log_path: Path, name: str, pool: str = "solo"
) -> subprocess.Popen[bytes]:
    """Start a Celery worker (by default the solo pool: one process to kill), ready."""
    return start_celery(env, log_path, worker_arguments(name, pool), b" ready.")


def start_beat(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """Start Celery beat, which sends the job maintenance task (the reaper)."""
    return start_celery(env, log_path, ["beat", "--loglevel=DEBUG"], b"beat: Starting")


def stop_worker(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run_cli(settings: Config, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """`python -m bookapi.cli ARGS...` as a real process on the test's database."""
    return subprocess.run(
        cli_argv(*args),
        input=stdin,
        capture_output=True,
        text=True,
        env=worker_environment(settings),
        cwd=PROJECT_DIR,
        timeout=120,
    )


async def trusted_cache(app: Quart) -> BookCache:
    """The app's book cache, once its pub/sub subscription is up (before that it is bypassed)."""
    cache = services_of(app).book_cache

    async def trusted() -> bool:
        return cache.trusted

    await wait_until(trusted, 10, "the cache's pub/sub subscription")
    return cache
