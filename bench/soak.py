"""Soak: mixed reads, writes, imports and websocket listeners against the production
command for a long while, counting errors and watching memory.

    ./bootstrap.sh soak [--minutes 10] [--connections 200]

The API runs as the Docker image runs it (`python -m bookapi.serve`, 2 workers) with a
Celery worker, on FerretDB (or MONGO_URI) and Redis. Each connection loops over: a book
by id (most), a filtered list page, and a write cycle (create, change, delete its own
book); every few seconds an import of a few hundred rows (a few files in turn, each
updating the books it added the time before) is followed by websocket listeners until it
finishes. An error is any 5xx, any answer other than the one the
operation must give, a dropped connection, or a listener that did not see its job end.
Resident memory (RSS) of the API and worker process trees is sampled every few seconds;
growth compares the last minute with the first minute after warm-up. Exits 1 on any error
or on growth of 10% or more.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import websockets

from bench.http_client import Connection
from bench.processes import descendants, start_bookapi, start_worker
from bench.run import (
    LIST_PATH,
    access_token,
    bookapi_environment,
    seed,
    start_databases,
)
from bookapi.domain.books.demo import demo_books, demo_file
from bookapi.domain.books.files import JSON_LINES
from bookapi.domain.books.isbn import isbn13_check_digit

MAX_GROWTH = 0.10
SAMPLE_SECONDS = 5.0
IMPORT_EVERY_SECONDS = 20.0
IMPORT_ROWS = 300
# The imports cycle through a few files, the later rounds updating the books the first
# added: the collection stays at a few thousand books however long the soak runs. Growing
# by 300 books an import, it reached 8,000 in ten minutes, and on FerretDB v1 (a scan for
# every list page) the soak then measured the scans.
IMPORT_FILES = 3
LISTENERS_PER_IMPORT = 10


@dataclass
class Tally:
    operations: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)

    def error(self, kind: str, detail: str) -> None:
        self.errors[kind] += 1
        if len(self.samples) < 10:
            self.samples.append(f"{kind}: {detail[:200]}")


def rss_mb(pid: int) -> float:
    total = 0
    for member in [pid, *descendants(pid)]:
        try:
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def random_isbn(rng: random.Random) -> str:
    body = "979" + "".join(rng.choice("0123456789") for _ in range(9))
    return body + isbn13_check_digit(body)


class Soak:
    def __init__(self, port: int, token: str, ids: list[str], until: float) -> None:
        self.port, self.ids, self.until = port, ids, until
        self.auth = {"Authorization": f"Bearer {token}"}
        self.tally = Tally()

    def expect(self, name: str, status: int, wanted: int, body: bytes) -> bool:
        self.tally.operations[name] += 1
        if status != wanted:
            self.tally.error(f"{name} answered {status}", body.decode(errors="replace"))
            return False
        return True

    async def read_one(self, connection: Connection, rng: random.Random) -> None:
        answer = await connection.request("GET", f"/api/v1/books/{rng.choice(self.ids)}")
        self.expect("GET /books/{id}", answer.status, 200, answer.body)

    async def read_list(self, connection: Connection) -> None:
        answer = await connection.request("GET", LIST_PATH)
        self.expect("GET /books?tag", answer.status, 200, answer.body)

    async def write_cycle(self, connection: Connection, rng: random.Random) -> None:
        book = {**next(demo_books(1, seed=rng.randrange(10**6))), "isbn": random_isbn(rng)}
        headers = {**self.auth, "Content-Type": "application/json"}
        created = await connection.request(
            "POST", "/api/v1/books", json.dumps(book).encode(), headers
        )
        if not self.expect("POST /books", created.status, 201, created.body):
            return
        url = f"/api/v1/books/{created.json()['id']}"
        changed = await connection.request("PATCH", url, b'{"pages": 321}', headers)
        self.expect("PATCH /books/{id}", changed.status, 200, changed.body)
        deleted = await connection.request("DELETE", url, headers=self.auth)
        self.expect("DELETE /books/{id}", deleted.status, 204, deleted.body)

    async def client(self, seed: int) -> None:
        rng = random.Random(seed)
        connection = Connection("127.0.0.1", self.port)
        while time.monotonic() < self.until:
            roll = rng.random()
            try:
                if roll < 0.75:
                    await self.read_one(connection, rng)
                elif roll < 0.93:
                    await self.read_list(connection)
                else:
                    await self.write_cycle(connection, rng)
            except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError) as error:
                self.tally.error("connection error", repr(error))
                await connection.close()
        await connection.close()

    async def listen(self, job_id: str) -> None:
        url = f"ws://127.0.0.1:{self.port}/api/v1/jobs/{job_id}/events"
        try:
            async with websockets.connect(url, additional_headers=self.auth) as socket:
                async for raw in socket:
                    if json.loads(raw)["type"] == "finished":
                        self.tally.operations["websocket saw finished"] += 1
                        return
                    if json.loads(raw).get("job", {}).get("state") in ("succeeded", "failed"):
                        self.tally.operations["websocket saw finished"] += 1
                        return
            self.tally.error("websocket closed before finished", job_id)
        except (OSError, websockets.WebSocketException) as error:
            self.tally.error("websocket error", repr(error))

    async def importer(self) -> None:
        connection = Connection("127.0.0.1", self.port)
        files = itertools.cycle(
            [demo_file(IMPORT_ROWS, JSON_LINES, seed=7_000 + n) for n in range(IMPORT_FILES)]
        )
        headers = {**self.auth, "Content-Type": JSON_LINES.media_type}
        while time.monotonic() + IMPORT_EVERY_SECONDS < self.until:
            body = next(files)
            try:
                answer = await connection.request(
                    "POST", "/api/v1/imports?on_conflict=update", body, headers
                )
            except (OSError, ConnectionError, asyncio.IncompleteReadError) as error:
                self.tally.error("connection error", repr(error))
                await connection.close()
                continue
            if self.expect("POST /imports", answer.status, 202, answer.body):
                job_id = answer.json()["id"]
                listeners = [self.listen(job_id) for _ in range(LISTENERS_PER_IMPORT)]
                await asyncio.wait_for(asyncio.gather(*listeners), 300)
            await asyncio.sleep(IMPORT_EVERY_SECONDS)
        await connection.close()


Samples = dict[str, list[tuple[float, float]]]


async def sample_memory(pids: dict[str, int], until: float, samples: Samples) -> None:
    while time.monotonic() < until:
        now = time.monotonic()
        for name, pid in pids.items():
            samples[name].append((now, rss_mb(pid)))
        await asyncio.sleep(SAMPLE_SECONDS)


def growth(points: list[tuple[float, float]], start: float, end: float) -> tuple[float, float]:
    """Mean RSS of the first minute after warm-up and of the last minute."""
    first = [mb for at, mb in points if start <= at < start + 60] or [points[0][1]]
    last = [mb for at, mb in points if at >= end - 60] or [points[-1][1]]
    return statistics.mean(first), statistics.mean(last)


async def soak(
    port: int, token: str, ids: list[str], args: argparse.Namespace, pids: dict[str, int]
) -> tuple[Soak, dict[str, tuple[float, float]]]:
    started = time.monotonic()
    until = started + args.minutes * 60
    run = Soak(port, token, ids, until)
    samples: Samples = {name: [] for name in pids}
    tasks = [run.client(seed) for seed in range(args.connections)]
    await asyncio.gather(*tasks, run.importer(), sample_memory(pids, until, samples))
    warm = started + min(60.0, args.minutes * 60 / 5)  # warm-up: caches and pools fill
    memory = {name: growth(points, warm, until) for name, points in samples.items()}
    return run, memory


def main() -> int:
    parser = argparse.ArgumentParser(prog="./bootstrap.sh soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--books", type=int, default=2000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bookapi-soak-"))
    logs = work / "logs"
    logs.mkdir()
    databases, servers = start_databases(work)
    env = bookapi_environment(databases)
    worker = None
    api = None
    try:
        ids = seed(env, args.books, servers, work).read_text().split()
        api = start_bookapi(env, logs, workers=2)
        worker = start_worker(env, logs)
        token = access_token(api.port)
        pids = {"API": api.process.pid, "worker": worker.pid}
        print(
            f"soak: {args.minutes:g} min, {args.connections} connections; logs in {logs}",
            flush=True,
        )
        run, memory = asyncio.run(soak(api.port, token, ids, args, pids))
    finally:
        if api is not None:
            api.stop()
        if worker is not None:
            worker.terminate()
            worker.wait(30)
        for server in servers:
            server.stop()
    total = sum(run.tally.operations.values())
    errors = sum(run.tally.errors.values())
    print(f"\noperations: {total} ({total / (args.minutes * 60):.0f}/s)")
    for name, count in sorted(run.tally.operations.items()):
        print(f"  {name}: {count}")
    print(f"errors: {errors}")
    for sample in run.tally.samples:
        print(f"  {sample}")
    worst = 0.0
    for name, (first, last) in memory.items():
        change = (last - first) / first
        worst = max(worst, change)
        print(f"{name} RSS: {first:.0f} MB after warm-up, {last:.0f} MB at the end ({change:+.1%})")
    ok = errors == 0 and worst < MAX_GROWTH
    print("soak: PASS" if ok else "soak: FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
