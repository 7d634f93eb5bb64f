"""HTTP load with wrk, and what it cost the server: req/s, p50, p99, CPU per request."""

from __future__ import annotations

import json
import shutil
import subprocess
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


def wrk(port: int, seconds: int, connections: int, ids_file: Path, path: str | None) -> dict:
    binary = shutil.which("wrk")
    if binary is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    env = {"BENCH_IDS": str(ids_file), "PATH": "/usr/bin:/bin"}
    if path:
        env["BENCH_PATH"] = path
    argv = [binary, "-t2", f"-c{connections}", f"-d{seconds}s", "-s", str(SCRIPT)]
    argv.append(f"http://127.0.0.1:{port}")
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
    line = next(line for line in result.stdout.splitlines() if line.startswith("{"))
    return json.loads(line)


def measure(
    served: Served, route: str, path: str | None, seconds: int, connections: int, ids_file: Path
) -> LoadResult:
    wrk(served.port, 2, connections, ids_file, path)  # warm up: connections, caches, JIT-free
    before = cpu_seconds(served.process.pid)
    stats = wrk(served.port, seconds, connections, ids_file, path)
    used = cpu_seconds(served.process.pid) - before
    requests = max(stats["requests"], 1)
    return LoadResult(
        server=served.name,
        route=route,
        requests=stats["requests"],
        seconds=stats["seconds"],
        p50_ms=stats["p50_us"] / 1000,
        p99_ms=stats["p99_us"] / 1000,
        failures=stats["non_2xx"] + stats["errors"],
        cpu_us_per_request=used / requests * 1e6,
    )
