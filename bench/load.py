"""HTTP load with wrk, and what it cost the server: req/s, p50, p99, CPU per request."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bench.processes import Served, cpu_seconds

SCRIPT = Path(__file__).with_name("random_book.lua")


@dataclass
class LoadResult:
    server: str
    route: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    failures: int
    cpu_us_per_request: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def wrk(
    port: int,
    seconds: int,
    connections: int,
    ids_file: Path,
    path: str | None,
    revalidate: bool = False,
) -> dict[str, float]:
    binary = shutil.which("wrk")
    if binary is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    env = {"BENCH_IDS": str(ids_file), "PATH": "/usr/bin:/bin"}
    if path:
        env["BENCH_PATH"] = path
    if revalidate:
        env["BENCH_REVALIDATE"] = "1"  # If-None-Match with the book's ETag: a 304 each
    # A long timeout: a slow answer counts as slow (in p99), not as a lost request.
    argv = [binary, "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s"]
    argv += ["-s", str(SCRIPT)]
    argv.append(f"http://127.0.0.1:{port}")
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
    line = next(line for line in result.stdout.splitlines() if line.startswith("{"))
    stats: dict[str, float] = json.loads(line)
    return stats


def warm_up(served: Served, ids_file: Path, connections: int, passes: int = 1) -> None:
    """Ask every server for every book `passes` times, then a short load: each starts the
    measured run warm (connections open, caches filled), as a service that has been up a
    while. Each ask is a new connection, which the kernel hands to any of a server's worker
    processes: with two, one pass fills each worker's cache with about half of the books."""
    ids = ids_file.read_text().split() * passes
    random.Random(passes).shuffle(ids)

    def fetch(book_id: str) -> None:
        url = f"http://127.0.0.1:{served.port}/api/v1/books/{book_id}"
        with urllib.request.urlopen(url, timeout=60) as response:
            response.read()

    with ThreadPoolExecutor(32) as pool:
        list(pool.map(fetch, ids))
    wrk(served.port, 2, connections, ids_file, None)


def measure(
    served: Served,
    route: str,
    path: str | None,
    seconds: int,
    connections: int,
    ids_file: Path,
    revalidate: bool = False,
) -> LoadResult:
    before = cpu_seconds(served.process.pid)
    stats = wrk(served.port, seconds, connections, ids_file, path, revalidate)
    used = cpu_seconds(served.process.pid) - before
    requests = max(stats["requests"], 1)
    return LoadResult(
        server=served.name,
        route=route,
        requests=int(stats["requests"]),
        seconds=stats["seconds"],
        p50_ms=stats["p50_us"] / 1000,
        p99_ms=stats["p99_us"] / 1000,
        failures=int(stats["non_2xx"] + stats["errors"]),
        cpu_us_per_request=used / requests * 1e6,
    )
