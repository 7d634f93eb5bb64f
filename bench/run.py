"""The shipped benchmark, side by side in one run on one database server:

    ./bootstrap.sh bench [--books 2000] [--seconds 10] [--connections 256] ...

bookapi as its Docker image serves it (`python -m bookapi.serve`, one worker), a FastAPI +
Motor peer on uvicorn and a Flask + Flask-PyMongo peer on gunicorn gthread (one worker
each), the same `books` collection seeded by bookapi's own `demo-books`. wrk loads one
random book by id and one filtered list page; then import throughput against the raw
driver, and websocket fan-out. Prints one table of ratios; machines here are shared and
noisy, so compare the ratios of one run, not absolute numbers across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from pymongo import MongoClient
from pymongo.cursor import Cursor

from bench.compare import compare
from bench.fanout import FanoutResult, summarise
from bench.imports import ImportResult, measure_imports
from bench.load import LoadResult, measure, warm_up
from bench.miss_rounds import SIDES as MISS_SIDES
from bench.miss_rounds import Starter, interleaved_misses
from bench.processes import (
    BIN,
    Served,
    start_bare_asgi,
    start_bookapi,
    start_fastapi_cached_peer,
    start_fastapi_peer,
    start_flask_peer,
    start_litestar_peer,
    start_worker,
)
from bench.scale import (
    ScaleResult,
    api_rss_mb,
    follow_listeners,
    hold_connections,
    listener_floor,
    settle,
    start_two_workers,
)
from bench.waves import client_name, listener_client, open_wave
from bookapi.domain.books.demo import demo_file
from bookapi.domain.books.files import JSON_LINES
from devstack import Server, free_port, start_mongo, start_redis
from settings import PROJECT_DIR, Config

ADMIN = "bench@example.com"
PASSWORD = "benchmark password"
LIST_PATH = "/api/v1/books?tag=fiction&limit=20"
BY_ID, LIST, REVALIDATION = "GET /books/{id}", "GET /books?tag (list)", "GET /books/{id} 304"
SHARED_SETTINGS = (
    "BOOKAPI_ENV",
    "JWT_SECRET_KEY",
    "MONGO_URI",
    "MONGO_DB",
    "MONGO_DRIVER",
    "REDIS_URL",
    "REDIS_PREFIX",
    "CELERY_QUEUE",
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="./bootstrap.sh bench", description=__doc__)
    parser.add_argument("--books", type=int, default=2000, help="books to seed (FerretDB scans)")
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration per measurement")
    parser.add_argument("--connections", type=int, default=256)
    parser.add_argument("--import-rows", type=int, default=20_000)
    parser.add_argument("--rss-rows", type=int, nargs=2, default=[10_000, 100_000])
    parser.add_argument("--listeners", type=int, default=1000)
    parser.add_argument(
        "--servers",
        default="bookapi,bookapi-nocache,bookapi-nocache-batched,fastapi,fastapi-cache,"
        "litestar,flask,bare",
        help="of: bookapi, bookapi-nocache (no read cache), bookapi-nocache-batched (and "
        "misses read together, as on MongoDB: BOOK_READ_BATCH=100), fastapi (+ Motor), "
        "fastapi-cache "
        "(+ AsyncMongoClient and a TTLCache of rendered bytes), litestar (+ its response "
        "cache), flask (+ Flask-PyMongo), bare (an ASGI callable answering from a dict)",
    )
    parser.add_argument(
        "--bookapi-servers",
        default="granian",
        help="ASGI servers to run bookapi on, e.g. granian,uvicorn,hypercorn (the first one "
        "is compared with the peers)",
    )
    parser.add_argument(
        "--scale-connections",
        type=int,
        default=10_000,
        help="keep-alive connections held against --workers 2 (the scale stage)",
    )
    parser.add_argument(
        "--scale-listeners",
        type=int,
        default=10_000,
        help="websocket listeners on one job against --workers 2 (the scale stage)",
    )
    parser.add_argument(
        "--scale-server",
        default="granian",
        help="the ASGI server of the scale stage (granian, uvicorn or hypercorn)",
    )
    parser.add_argument(
        "--settle-seconds",
        type=float,
        default=60,
        help="how long after the listeners close the API's memory is read again",
    )
    parser.add_argument(
        "--listener-client",
        choices=("auto", "go", "python"),
        default="auto",
        help="what holds the websocket listeners: the Go client (bench/listener_client; "
        "auto: where `go` is on PATH) or the websockets library in this process",
    )
    parser.add_argument(
        "--miss-rounds",
        type=int,
        default=4,
        help="interleaved rounds of the miss path against FastAPI + Motor after the http "
        "stage, when --servers names both (bench/miss_rounds.py; 0: none)",
    )
    parser.add_argument("--skip", default="", help="comma list of: http, import, fanout, scale")
    parser.add_argument(
        "--compare",
        metavar="REV",
        help="instead: this checkout against git revision REV, by id, side by side "
        "(bench/compare.py; try --connections 64 --seconds 8)",
    )
    parser.add_argument(
        "--rounds", type=int, default=8, help="with --compare: rounds each (4 proved too few)"
    )
    return parser.parse_args()


def start_databases(work: Path) -> tuple[dict[str, str], list[Server]]:
    env = {}
    servers: list[Server] = []
    if not os.environ.get("REDIS_URL"):
        redis = start_redis(free_port(), work / "redis")
        servers.append(redis)
        env["REDIS_URL"] = redis.url
    if not os.environ.get("MONGO_URI"):
        mongo = start_mongo(free_port(), work / "mongo")
        servers.append(mongo)
        env["MONGO_URI"] = mongo.url
    return env, servers


def bookapi_environment(databases: dict[str, str]) -> dict[str, str]:
    """Production settings, as the Docker image runs (no `.env`: every value given here)."""
    return {
        **os.environ,
        **databases,
        "BOOKAPI_ENV": "production",
        "JWT_SECRET_KEY": secrets.token_hex(32),
        # Read by no current code; revisions before its removal required it (--compare REV).
        "SECRET_KEY": secrets.token_hex(32),
        "MONGO_DB": "bench",
        "MONGO_DRIVER": Config.MONGO_DRIVER,
        "REDIS_PREFIX": "bench:",
        "CELERY_QUEUE": "bench-jobs",
    }


def cli(env: dict[str, str], *args: str, stdin: str = "") -> str:
    argv = [str(BIN / "python"), "-m", "bookapi.cli", *args]
    done = subprocess.run(
        argv, env=env, cwd=PROJECT_DIR, input=stdin, capture_output=True, text=True
    )
    if done.returncode:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def seed(env: dict[str, str], books: int, servers: list[Server], work: Path) -> Path:
    """Fill `books` with bookapi's demo books and write their ids to a file for wrk."""
    cli(env, "create-admin", ADMIN, stdin=PASSWORD + "\n")
    cli(env, "demo-books", str(books), "--owner", ADMIN, "--seed", "5")
    for server in servers:
        if server.backend is not None and server.backend.name == "postgres":
            psql = shutil.which("psql") or "psql"
            port = str(server.backend.port)
            argv = [psql, "-h", "127.0.0.1", "-p", port, "-U", "postgres", "-c", "ANALYZE"]
            subprocess.run(argv, check=True, capture_output=True)
    client: MongoClient[dict[str, object]]
    with MongoClient(env["MONGO_URI"]) as client:
        found: Cursor[dict[str, object]] = client[env["MONGO_DB"]]["books"].find({}, {"_id": 1})
        ids = [str(book["_id"]) for book in found]
    ids_file = work / "ids.txt"
    ids_file.write_text("\n".join(ids) + "\n")
    return ids_file


def bookapi_starter(server: str, **settings: str) -> Callable[[dict[str, str], Path], Served]:
    name = "-".join(["bookapi", server, *(value.lower() for value in settings.values())])

    def start(env: dict[str, str], logs: Path) -> Served:
        return start_bookapi({**env, **settings}, logs, server=server, name=name)

    return start


def known_servers(args: argparse.Namespace) -> dict[str, Starter]:
    """Every server the benchmark can start, by the name `--servers` gives it."""
    bookapi_server = args.bookapi_servers.split(",")[0]
    known: dict[str, Starter] = {
        "bookapi": bookapi_starter(bookapi_server),
        # The miss path: no read cache, every read goes to MongoDB.
        "bookapi-nocache": bookapi_starter(bookapi_server, BOOK_CACHE_ENTRIES="0"),
        # The same with misses read together, as on MongoDB (on FerretDB v1, the benchmark's
        # database, bookapi reads them one by one: it scans the collection for `$in`).
        "bookapi-nocache-batched": bookapi_starter(
            bookapi_server, BOOK_CACHE_ENTRIES="0", BOOK_READ_BATCH="100"
        ),
        "fastapi": start_fastapi_peer,
        "fastapi-cache": start_fastapi_cached_peer,
        "litestar": start_litestar_peer,
        "flask": start_flask_peer,
        "bare": start_bare_asgi,
    }
    for server in args.bookapi_servers.split(",")[1:]:
        known[f"bookapi-{server}"] = bookapi_starter(server)
    return known


def http_servers(args: argparse.Namespace) -> dict[str, Starter]:
    """Every server `--servers` names, bookapi's first (the first is the one compared)."""
    known = known_servers(args)
    wanted = args.servers.split(",") + [
        f"bookapi-{server}" for server in args.bookapi_servers.split(",")[1:]
    ]
    unknown = set(wanted) - set(known)
    if unknown:
        raise SystemExit(
            f"unknown servers: {', '.join(sorted(unknown))}; known: {', '.join(known)}"
        )
    return {name: known[name] for name in wanted}


def run_http(
    env: dict[str, str], args: argparse.Namespace, ids_file: Path, logs: Path
) -> list[LoadResult]:
    results = []
    for name, starter in http_servers(args).items():
        served = starter(env, logs)
        try:
            warm_up(served, ids_file, args.connections)
            routes = [(BY_ID, None, False), (LIST, LIST_PATH, False)]
            if name.startswith("bookapi"):
                routes.append((REVALIDATION, None, True))
            for route, path, revalidate in routes:
                result = measure(
                    served, route, path, args.seconds, args.connections, ids_file, revalidate
                )
                result.server = name  # as --servers names it
                results.append(result)
        finally:
            served.stop()
    return results


def access_token(port: int) -> str:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/auth/login",
        data=json.dumps({"email": ADMIN, "password": PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        token: str = json.load(response)["access_token"]
    return token


def submit_import(port: int, token: str, rows: int) -> str:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/imports",
        data=demo_file(rows, JSON_LINES, seed=91),
        headers={"Content-Type": JSON_LINES.media_type, "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        job_id: str = json.load(response)["id"]
    return job_id


async def fanout(
    port: int,
    token: str,
    job_id: str,
    count: int,
    env: dict[str, str],
    logs: Path,
    client: Path | None,
) -> FanoutResult:
    url = f"ws://127.0.0.1:{port}/api/v1/jobs/{job_id}/events"
    wave = await open_wave(url, token, count, client, 180)
    worker = start_worker(env, logs)  # only now: every listener is waiting for the job
    try:
        return summarise(await wave.ended())
    finally:
        worker.terminate()
        worker.wait(30)


def run_scale(
    env: dict[str, str], args: argparse.Namespace, ids_file: Path, logs: Path
) -> ScaleResult:
    served = start_two_workers(env, logs, args.scale_server)
    workers: list[subprocess.Popen[bytes]] = []
    try:
        # Each book asked often enough that both workers have it: (1/2)^6 that one has not.
        warm_up(served, ids_file, 64, passes=6)
        keep_alive = hold_connections(served, ids_file, args.scale_connections, args.seconds)
        token = access_token(served.port)
        job_id = submit_import(served.port, token, 3000)
        before = api_rss_mb(served)
        fan, open_mb = asyncio.run(
            follow_listeners(
                served,
                token,
                job_id,
                args.scale_listeners,
                lambda: workers.append(start_worker(env, logs)),
                args.listener_binary,
            )
        )
        after = settle(served, args.settle_seconds)
        return ScaleResult(
            keep_alive, fan, before, open_mb, after, args.settle_seconds, args.scale_server
        )
    finally:
        for worker in workers:
            worker.terminate()
            worker.wait(30)
        served.stop()


def run_fanout(env: dict[str, str], count: int, logs: Path, client: Path | None) -> FanoutResult:
    served = start_bookapi(env, logs)
    try:
        token = access_token(served.port)
        job_id = submit_import(served.port, token, 3000)
        return asyncio.run(fanout(served.port, token, job_id, count, env, logs, client))
    finally:
        served.stop()


def ratio(mine: float, theirs: float) -> str:
    return f"{mine / theirs:.2f}x" if theirs else "-"


PEERS = ("fastapi", "fastapi-cache", "litestar", "flask", "bare")


def http_tables(http: list[LoadResult]) -> list[str]:
    lines = [
        "| server | route | req/s | p50 ms | p99 ms | failures | CPU µs/req |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in http:
        lines.append(
            f"| {r.server} | {r.route} | {r.rps:,.0f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | "
            f"{r.failures} | {r.cpu_us_per_request:,.0f} |"
        )
    return [*lines, "", *ratio_table(http), "", *goal_lines(http)]


def ratio_table(http: list[LoadResult]) -> list[str]:
    lines = [
        "| route | bookapi vs | req/s ratio | CPU/req ratio |",
        "|---|---|---|---|",
    ]
    by_key = {(r.server, r.route): r for r in http}
    for route in (BY_ID, LIST):
        mine = by_key.get(("bookapi", route))
        for peer in PEERS:
            theirs = by_key.get((peer, route))
            if mine and theirs:
                lines.append(
                    f"| {route} | {peer} | {ratio(mine.rps, theirs.rps)} | "
                    f"{ratio(mine.cpu_us_per_request, theirs.cpu_us_per_request)} |"
                )
    return lines


def goal_lines(http: list[LoadResult]) -> list[str]:
    """The other ratios the performance goals are stated in."""
    by_key = {(r.server, r.route): r for r in http}
    lines = []
    for route in (BY_ID, LIST):
        mine = by_key.get(("bookapi", route))
        if mine:
            lines.append(f"bookapi {route}: p99/p50 {mine.p99_ms / max(mine.p50_ms, 0.001):.1f}")
        fastapi = by_key.get(("fastapi", route))
        for name in ("bookapi-nocache", "bookapi-nocache-batched"):
            miss = by_key.get((name, route))
            if miss and fastapi:
                lines.append(
                    f"miss path ({name}) {route}: CPU/req "
                    f"{ratio(miss.cpu_us_per_request, fastapi.cpu_us_per_request)}, req/s "
                    f"{ratio(miss.rps, fastapi.rps)} FastAPI + Motor's"
                )
    hit, revalidated = by_key.get(("bookapi", BY_ID)), by_key.get(("bookapi", REVALIDATION))
    if hit and revalidated:
        cpu = ratio(revalidated.cpu_us_per_request, hit.cpu_us_per_request)
        lines.append(
            f"304 revalidation: CPU/req {cpu} a hit's, req/s {ratio(revalidated.rps, hit.rps)}"
        )
    return lines


def import_lines(imported: ImportResult, rss_rows: list[int]) -> list[str]:
    raw_rate = imported.rows / imported.raw_seconds
    import_rate = imported.rows / imported.import_seconds
    lines = [
        f"import of {imported.rows:,} new rows: {import_rate:,.0f} rows/s; raw insert_many "
        f"{raw_rate:,.0f} rows/s; import/raw = {import_rate / raw_rate:.0%}"
    ]
    if imported.rss_mb is not None and imported.rss_growth_mb is not None:
        (small, large), (small_mb, large_mb) = rss_rows, imported.rss_mb
        lines.append(
            f"import peak RSS: {small:,} rows {small_mb:.1f} MB, {large:,} rows {large_mb:.1f} MB "
            f"(growth {imported.rss_growth_mb:.1f} MB)"
        )
    return lines


def scale_lines(scale: ScaleResult) -> list[str]:
    lines = ["", f"scale, python -m bookapi.serve --workers 2 ({scale.server}):"]
    held = scale.keep_alive
    if held is not None:
        lines.append(
            f"  {held.route} with {held.requests:,} requests over the connections held: "
            f"{held.rps:,.0f} req/s, p99 {held.p99_ms:.0f} ms, failures {held.failures}"
        )
    if scale.fan is not None:
        lines += listener_lines(scale, "websocket listeners on one job")
    floor = scale.floor
    if floor is not None and floor.fan is not None:
        lines += [
            f"  the floor: a bare ASGI listener on {floor.server}, two workers, no framework:"
        ]
        lines += listener_lines(floor, "bare listeners")
        if floor.kb_per_listener > 0:
            multiple = scale.kb_per_listener / floor.kb_per_listener
            lines.append(f"  bookapi's memory per open listener: {multiple:.2f}x the floor's")
    return lines


def listener_lines(scale: ScaleResult, what: str) -> list[str]:
    """How the listeners fared, and the server processes' memory before, during and after."""
    assert scale.fan is not None
    fan = scale.fan
    return [
        f"  {fan.listeners:,} {what}: {fan.complete:,} complete; "
        f"503 refusals {fan.refused_503}; other failures {fan.other_failures}; "
        f"p99 spread of finished {fan.finished_spread_p99_ms:.0f} ms",
        f"  RSS {scale.rss_before_mb:.0f} MB before, {scale.rss_open_mb:.0f} MB with every "
        f"listener open ({scale.kb_per_listener:.0f} KB each), {scale.rss_after_mb:.0f} MB "
        f"{scale.settle_seconds:.0f} s after they closed "
        f"({(scale.rss_after_mb / scale.rss_before_mb - 1) * 100:+.0f}%)",
    ]


def fanout_line(fan: FanoutResult) -> str:
    return (
        f"websocket fan-out, {fan.listeners} listeners on one job, one API process: "
        f"{fan.complete} saw snapshot → progress → finished; 503 refusals {fan.refused_503}; "
        f"other failures {fan.other_failures}; "
        f"p99 spread of finished {fan.finished_spread_p99_ms:.0f} ms"
    )


def print_report(
    http: list[LoadResult],
    imported: ImportResult | None,
    fan: FanoutResult | None,
    args: argparse.Namespace,
) -> None:
    python = f"{platform.python_implementation()} {platform.python_version()}"
    lines = [
        "",
        f"bookapi benchmark · {platform.node()} · {os.cpu_count()} cores · {python}",
        f"{args.books} books · wrk {args.connections} connections × {args.seconds} s · "
        "one worker process per server",
        f"websocket listeners held by the {client_name(args.listener_binary)} client",
        "",
    ]
    if http:
        lines += [*http_tables(http), ""]
    if imported:
        lines += [*import_lines(imported, args.rss_rows), ""]
    if fan:
        lines.append(fanout_line(fan))
    print("\n".join(lines))


def main() -> int:
    args = parse_args()
    args.listener_binary = listener_client(args.listener_client)  # built before measuring
    skip = set(filter(None, args.skip.split(",")))
    work = Path(tempfile.mkdtemp(prefix="bookapi-bench-"))
    logs = work / "logs"
    logs.mkdir()
    databases, servers = start_databases(work)
    env = bookapi_environment(databases)
    # The in-process import measurement reads its settings from this environment.
    os.environ.update({name: env[name] for name in SHARED_SETTINGS})
    http: list[LoadResult] = []
    imported = fan = None
    scale: ScaleResult | None = None
    miss_lines: list[str] = []
    miss_failures = 0
    try:
        started = time.monotonic()
        ids_file = seed(env, args.books, servers, work)
        print(
            f"seeded {args.books} books in {time.monotonic() - started:.1f} s; logs in {logs}",
            flush=True,
        )
        if args.compare:
            report, failed_requests = compare(
                args.compare, env, ids_file, logs, args.seconds, args.connections, args.rounds
            )
            print("\n".join(report))
            return 1 if failed_requests else 0
        if "http" not in skip:
            http = run_http(env, args, ids_file, logs)
            if args.miss_rounds and set(MISS_SIDES) <= set(args.servers.split(",")):
                miss_lines, miss_failures = interleaved_misses(
                    known_servers(args),
                    env,
                    ids_file,
                    logs,
                    args.seconds,
                    args.connections,
                    args.miss_rounds,
                )
        if "import" not in skip:
            imported = measure_imports(args.import_rows, *args.rss_rows)
        if "fanout" not in skip:
            fan = run_fanout(env, args.listeners, logs, args.listener_binary)
        if "scale" not in skip:
            scale = run_scale(env, args, ids_file, logs)
            scale.floor = listener_floor(
                env,
                logs,
                args.scale_server,
                args.scale_listeners,
                args.settle_seconds,
                args.listener_binary,
            )
    finally:
        for server in servers:
            server.stop()
            server.remove_data()
    print_report(http, imported, fan, args)
    if miss_lines:
        print("\n".join(miss_lines))
    if scale is not None:
        print("\n".join(scale_lines(scale)))
    failed = sum(result.failures for result in http) + miss_failures
    if fan is not None:
        failed += fan.listeners - fan.complete
    if scale is not None and scale.fan is not None and scale.keep_alive is not None:
        failed += scale.fan.listeners - scale.fan.complete + scale.keep_alive.failures
    if scale is not None and scale.floor is not None and scale.floor.fan is not None:
        failed += scale.floor.fan.listeners - scale.floor.fan.complete  # the floor must work too
    if failed:
        print(f"\n{failed} requests or listeners failed", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
