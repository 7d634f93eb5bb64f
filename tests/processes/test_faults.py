"""Faults and hostile clients against real processes: limits that hold under a parallel
attacker, a Redis restart that costs nothing beyond its outage, a hung database detected in
time."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bookapi.web.app import create_app
from devstack import free_port, start_mongo, start_redis
from settings import TestingConfig
from tests.helpers import DUNE, PASSWORD, mint_access_token, worker_environment
from tests.served import call, served_apis, sign_up

JSON = {"Content-Type": "application/json"}


async def test_forty_parallel_wrong_passwords_over_two_processes_get_five_tries(
    settings: TestingConfig, tmp_path: Path
) -> None:
    async with served_apis(worker_environment(settings), tmp_path, 2) as urls:
        sign_up(urls[0], "ada@example.com")
        wrong = json.dumps({"email": "ada@example.com", "password": "not " + PASSWORD}).encode()

        def attempt(n: int) -> tuple[int, str | None]:
            answer = call(urls[n % 2], "POST", "/api/v1/auth/login", wrong, JSON)
            return answer.status, answer.headers.get("RateLimit-Remaining")

        with ThreadPoolExecutor(40) as pool:  # all forty at once, as an attacker would
            answers = list(pool.map(attempt, range(40)))
    statuses = sorted(status for status, _ in answers)
    assert statuses == [401] * 5 + [429] * 35, statuses
    remaining = sorted(int(left) for status, left in answers if status == 401 and left)
    assert remaining == [0, 1, 2, 3, 4], "the first try leaves four, the fifth none"


async def test_a_hung_database_is_a_503_within_the_operation_timeout(
    tmp_path: Path, redis_url: str
) -> None:
    server = start_mongo(free_port(), tmp_path / "mongo")
    settings = TestingConfig(
        {},
        MONGO_URI=server.url,
        REDIS_URL=redis_url,
        REDIS_PREFIX="hung:",
        MONGO_OPERATION_TIMEOUT_MS=1000,
        BOOK_CACHE_ENTRIES=0,  # every read asks the database
    )
    app = create_app(settings)
    try:
        async with app.test_app() as test_app:
            client = test_app.test_client()
            auth = {"Authorization": f"Bearer {await mint_access_token(app)}"}
            book = await (await client.post("/api/v1/books", json=DUNE, headers=auth)).get_json()
            os.kill(server.process.pid, signal.SIGSTOP)
            try:
                started = time.monotonic()
                hung = await client.get(f"/api/v1/books/{book['id']}")
                elapsed = time.monotonic() - started
            finally:
                os.kill(server.process.pid, signal.SIGCONT)
            assert hung.status_code == 503 and elapsed < 2.5, (hung.status_code, elapsed)
            problem = await hung.get_json()
            assert problem["type"] == "urn:bookapi:problem:dependency-timeout"
            assert "did not answer within 1000 ms" in problem["detail"]
            assert (await client.get(f"/api/v1/books/{book['id']}")).status_code == 200
    finally:
        server.stop()
        server.remove_data()


def dribble(base: str, path: str, sent: bytes, declared: int) -> tuple[int, float]:
    """POST a body of `declared` bytes of which only `sent` arrive; the status and when."""
    host, port = base.removeprefix("http://").split(":")
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {declared}\r\n\r\n"
        )
        connection.sendall(head.encode() + sent)
        answer = connection.recv(4096)
    status = int(answer.split(b" ", 2)[1]) if answer else 0
    return status, time.monotonic() - started


async def test_a_body_that_stops_arriving_is_a_408_and_slows_nobody_else(
    settings: TestingConfig, tmp_path: Path
) -> None:
    env = worker_environment(settings, BODY_IDLE_TIMEOUT_SECONDS="1")
    async with served_apis(env, tmp_path, 1) as (base,):
        with ThreadPoolExecutor(50) as pool:
            slow = [
                pool.submit(dribble, base, "/api/v1/auth/login", b'{"email"', 200)
                for _ in range(50)
            ]
            started = time.monotonic()
            health = call(base, "GET", "/healthz")
            assert health.status == 200 and time.monotonic() - started < 1, "others wait"
            answers = [future.result() for future in slow]
    assert {status for status, _ in answers} == {408}, answers
    assert max(seconds for _, seconds in answers) < 5, answers


async def test_a_redis_restart_costs_no_request_after_it(
    settings: TestingConfig, tmp_path: Path
) -> None:
    port = free_port()
    redis = start_redis(port, tmp_path / "redis", persistent=True)
    env = worker_environment(settings, REDIS_URL=redis.url)
    try:
        async with served_apis(env, tmp_path, 1) as (base,):
            token = sign_up(base, "ada@example.com")["access_token"]
            me = {"Authorization": f"Bearer {token}"}

            def burst() -> list[int]:
                with ThreadPoolExecutor(120) as pool:  # fills the API's Redis pool
                    return list(
                        pool.map(
                            lambda _: call(base, "GET", "/api/v1/auth/me", None, me).status,
                            range(120),
                        )
                    )

            assert set(burst()) == {200}
            redis.stop()
            redis = start_redis(port, tmp_path / "redis", persistent=True)
            deadline = time.monotonic() + 20
            while call(base, "GET", "/readyz").status != 200:
                assert time.monotonic() < deadline, "not ready again after the restart"
                time.sleep(0.2)
            after = burst()
            assert after.count(200) == 120, f"{after.count(503)} of 120 got 503 after the restart"
    finally:
        redis.stop()
