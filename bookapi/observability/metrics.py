"""Prometheus metrics of the API and worker processes.

With PROMETHEUS_MULTIPROC_DIR set (`python -m bookapi.serve` and `./bootstrap.sh` set it;
in containers give every process of one host the same directory), each process writes its
samples there and `/metrics` adds up all of them: several server workers and the Celery
workers of a host report as one. Without it, a process reports its own.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from prometheus_client import Counter, Gauge, Histogram, multiprocess

# prometheus_client leaves this function untyped; this is the one way it is called.
mark_process_dead: Callable[[int], None] = multiprocess.mark_process_dead

HTTP_REQUESTS = Counter(
    "bookapi_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
HTTP_DURATION = Histogram(
    "bookapi_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
HTTP_IN_FLIGHT = Gauge(
    "bookapi_http_requests_in_flight", "HTTP requests being answered", multiprocess_mode="livesum"
)
DEPENDENCY_UNAVAILABLE = Counter(
    "bookapi_dependency_unavailable_total",
    "Requests answered 503 because a dependency was unreachable",
    ["dependency"],
)
WEBSOCKET_LISTENERS = Gauge(
    "bookapi_websocket_listeners", "Open job-progress websockets", multiprocess_mode="livesum"
)
# Which Redis primary the API processes use (1 for its address; a failover sets the old one
# to 0), and when one of them last saw the primary change.
REDIS_PRIMARY = Gauge(
    "bookapi_redis_primary", "The Redis primary in use", ["address"], multiprocess_mode="livemax"
)
REDIS_FAILOVER_TIME = Gauge(
    "bookapi_redis_failover_timestamp_seconds",
    "When the Redis primary last changed (Unix time; 0: not since the start)",
    multiprocess_mode="max",
)
BOOK_CACHE = Counter("bookapi_book_cache_total", "Book cache lookups", ["result"])
BOOK_CACHE_HITS = BOOK_CACHE.labels(result="hit")
BOOK_CACHE_MISSES = BOOK_CACHE.labels(result="miss")
JOBS_SUBMITTED = Counter("bookapi_jobs_submitted_total", "Jobs queued by the API", ["kind"])
JOBS_ENDED = Counter("bookapi_jobs_ended_total", "Jobs that ended, by outcome", ["kind", "state"])
JOB_DURATION = Histogram(
    "bookapi_job_duration_seconds",
    "How long a job's run took, start to end",
    ["kind"],
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600),
)
IMPORT_ROWS_PER_SECOND = Histogram(
    "bookapi_import_rows_per_second",
    "Rows per second of each finished import",
    buckets=(50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000),
)


def forget_this_process() -> None:
    """As a process stops: drop its samples of the live gauges (in flight, listeners), which
    would otherwise be added in forever; its counters stay, as Prometheus expects. A process
    killed outright cannot do this: start each server with a fresh directory
    (`bookapi.serve` makes one)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        mark_process_dead(os.getpid())
