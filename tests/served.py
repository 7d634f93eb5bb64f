"""The app as production runs it, for tests that need real processes: `python -m
bookapi.serve` (with a Celery worker when asked), and one small HTTP client to call it."""

from __future__ import annotations

import asyncio
import json
import subprocess
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

from bookapi.domain.books.demo import demo_file
from bookapi.domain.books.files import CSV
from devstack import free_port
from devstack.launch import READY_PATH, api_argv, launch, wait_until_answering
from tests.helpers import PASSWORD, start_worker, stop_worker


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any  # decoded JSON, text, or None when empty
    headers: Message


def call(
    base: str,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 15,
) -> Answer:
    """One request; an error status is an answer like any other, not an exception."""
    request = urllib.request.Request(
        f"{base}{path}", data=body, method=method, headers=dict(headers or {})
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return decoded(response.status, response.read(), response.headers)
    except urllib.error.HTTPError as error:
        with error:
            return decoded(error.code, error.read(), error.headers)


def sign_up(base: str, email: str, password: str = PASSWORD) -> dict[str, Any]:
    """Register `email` (with PASSWORD unless told) and log in: the token answer."""
    account = json.dumps({"email": email, "password": password}).encode()
    as_json = {"Content-Type": "application/json"}
    registered = call(base, "POST", "/api/v1/auth/register", account, as_json)
    assert registered.status == 201, registered
    tokens = call(base, "POST", "/api/v1/auth/login", account, as_json)
    assert tokens.status == 200, tokens
    answer: dict[str, Any] = tokens.body
    return answer


def import_demo_books(base: str, token: str, rows: int, **headers: str) -> dict[str, Any]:
    """Submit an import of `rows` demo books as CSV; the job (202 asserted)."""
    submitted = call(
        base,
        "POST",
        "/api/v1/imports",
        demo_file(rows, CSV),
        {"Content-Type": "text/csv", "Authorization": f"Bearer {token}", **headers},
    )
    assert submitted.status == 202, submitted
    job: dict[str, Any] = submitted.body
    return job


def decoded(status: int, raw: bytes, headers: Message) -> Answer:
    if not raw:
        return Answer(status, None, headers)
    if headers.get_content_type().endswith("json"):
        return Answer(status, json.loads(raw), headers)
    return Answer(status, raw.decode(errors="replace"), headers)


def start_api(
    env: dict[str, str], log_path: Path, port: int, *options: str
) -> subprocess.Popen[bytes]:
    """`python -m bookapi.serve --port PORT OPTIONS...`, its output appended to `log_path`."""
    return launch(api_argv(port, *options), env, log_path)


async def until_ready(base: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    """Wait until the API at `base` says it is ready; fail at once, with its log, if the
    process ends first."""

    await asyncio.to_thread(wait_until_answering, f"{base}{READY_PATH}", [process], log_path)


def stop_api(process: subprocess.Popen[bytes]) -> int:
    """SIGTERM, then SIGKILL if it has not exited within 30 s; the exit code."""
    if process.poll() is None:
        process.terminate()
        try:
            return process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait()


@asynccontextmanager
async def served_api(
    env: dict[str, str], logs: Path, *options: str, worker: str | None = None
) -> AsyncIterator[str]:
    """The API served on a free port (and a Celery worker named `worker`, if given), ready;
    yields its base URL and stops both after. Logs go to `logs`/api.log and worker.log."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    api_log = logs / "api.log"
    api = start_api(env, api_log, port, *options)
    celery = None
    try:
        if worker is not None:
            celery = start_worker(env, logs / "worker.log", worker)
        await until_ready(base, api, api_log)
        yield base
    finally:
        stop_api(api)
        if celery is not None:
            stop_worker(celery)


@asynccontextmanager
async def served_apis(env: dict[str, str], logs: Path, count: int) -> AsyncIterator[list[str]]:
    """`count` API processes on one database and Redis, each ready; their base URLs."""
    ports = [free_port() for _ in range(count)]
    logs_of = [logs / f"api{n}.log" for n in range(count)]
    processes = [start_api(env, log, port) for log, port in zip(logs_of, ports, strict=True)]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for url, process, log in zip(urls, processes, logs_of, strict=True):
            await until_ready(url, process, log)
        yield urls
    finally:
        for process in processes:
            stop_api(process)
