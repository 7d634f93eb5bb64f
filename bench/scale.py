"""Many connections on one 2-core host, as production serves it (`python -m bookapi.serve
--workers 2`): keep-alive HTTP connections held by wrk, and websocket listeners on one job,
with the API processes' memory per open listener and what remains after they close."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.fanout import FanoutResult, summarise
from bench.load import LoadResult, measure
from bench.processes import Served, descendants, start_bare_listeners, start_bookapi
from bench.waves import open_wave

LISTENERS_TIMEOUT = 300


@dataclass
class ScaleResult:
    keep_alive: LoadResult | None
    fan: FanoutResult | None
    rss_before_mb: float
    rss_open_mb: float
    rss_after_mb: float
    settle_seconds: float
    server: str = "granian"
    floor: ScaleResult | None = None  # the same listeners on a bare ASGI app, same server

    @property
    def kb_per_listener(self) -> float:
        if self.fan is None or not self.fan.listeners:
            return 0.0
        return (self.rss_open_mb - self.rss_before_mb) * 1024 / self.fan.listeners


def api_rss_mb(served: Served) -> float:
    """The resident memory of the API's worker processes (the supervisor's too), added up."""
    total = 0
    for pid in [served.process.pid, *descendants(served.process.pid)]:
        try:
            fields = Path(f"/proc/{pid}/statm").read_text().split()
        except OSError:
            continue
        total += int(fields[1]) * 4096
    return total / (1024 * 1024)


def hold_connections(served: Served, ids_file: Path, connections: int, seconds: int) -> LoadResult:
    return measure(served, "GET /books/{id}, keep-alive", None, seconds, connections, ids_file)


async def follow_listeners(
    served: Served,
    token: str,
    job_id: str,
    count: int,
    start_worker: Callable[[], None],
    client: Path | None,
) -> tuple[FanoutResult, float]:
    """`count` listeners on the job (held by `client`: bench/waves), then the worker runs
    it; their outcome and the API's memory while all were open."""
    url = f"ws://127.0.0.1:{served.port}/api/v1/jobs/{job_id}/events"
    wave = await open_wave(url, token, count, client, LISTENERS_TIMEOUT)
    open_mb = api_rss_mb(served)
    start_worker()  # only now: every listener is waiting for the job
    return summarise(await wave.ended()), open_mb


def settle(served: Served, seconds: float) -> float:
    time.sleep(seconds)
    return api_rss_mb(served)


def start_two_workers(env: dict[str, str], logs: Path, server: str = "granian") -> Served:
    return start_bookapi(env, logs, server=server, workers=2, name=f"bookapi-{server}-2-workers")


async def follow_bare_listeners(
    served: Served, count: int, signal: Path, client: Path | None
) -> tuple[FanoutResult, float]:
    """`count` listeners on the bare floor app, told to finish once all are open."""
    url = f"ws://127.0.0.1:{served.port}/listen"
    wave = await open_wave(url, "", count, client, LISTENERS_TIMEOUT)
    open_mb = api_rss_mb(served)
    signal.touch()
    return summarise(await wave.ended()), open_mb


def listener_floor(
    env: dict[str, str],
    logs: Path,
    server: str,
    count: int,
    settle_seconds: float,
    client: Path | None,
) -> ScaleResult:
    """What `server` itself costs per open listener, and keeps after they close."""
    signal = logs / f"finish-{server}"
    served = start_bare_listeners(env, logs, server, signal)
    try:
        before = api_rss_mb(served)
        fan, open_mb = asyncio.run(follow_bare_listeners(served, count, signal, client))
        after = settle(served, settle_seconds)
        return ScaleResult(None, fan, before, open_mb, after, settle_seconds, server)
    finally:
        served.stop()
