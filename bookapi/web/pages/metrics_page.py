"""`GET /metrics` in Prometheus text format (the HTTP metrics are counted by the request log
middleware, web/middleware/request_log.py, which every request passes).

Served only when METRICS_TOKEN is set, and only to `Authorization: Bearer <METRICS_TOKEN>`
(Prometheus' `authorization` scrape setting): the numbers say a lot about the service, so
they are not public. Unset, `/metrics` is 404.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from quart import Quart, Response, request
from quart_schema import hide

from settings import Config

from ...observability.metrics import forget_this_process
from ..http.problems import APIError
from ..services.app_services import get_redis

# prometheus_client leaves this constructor untyped; this is the one way it is called.
add_every_process: Callable[[CollectorRegistry], object] = MultiProcessCollector


async def forget_this_process_async() -> None:
    forget_this_process()


def registry() -> CollectorRegistry:
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        return REGISTRY
    combined = CollectorRegistry()
    add_every_process(combined)  # every process's samples, added up
    return combined


async def queue_depth(queue: str) -> bytes:
    """Tasks waiting in the broker's queue, read at scrape time (no process owns it)."""
    depth = GaugeMetricFamily(
        "bookapi_job_queue_depth", "Tasks waiting in the job queue", labels=["queue"]
    )
    depth.add_metric([queue], await get_redis().llen(queue))
    single = CollectorRegistry()
    single.register(_Constant(depth))
    return generate_latest(single)


class _Constant:
    def __init__(self, family: GaugeMetricFamily) -> None:
        self.family = family

    def collect(self) -> list[GaugeMetricFamily]:
        return [self.family]


def init_app(app: Quart, settings: Config) -> None:
    token = settings.METRICS_TOKEN

    app.after_serving(forget_this_process_async)

    @app.get("/metrics")
    @hide
    async def metrics() -> Response:
        if not token:
            raise APIError(404, "Metrics are off: set METRICS_TOKEN.", code="not-found")
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            raise APIError(401, "Send Authorization: Bearer <METRICS_TOKEN>.", code="unauthorized")
        body = generate_latest(registry()) + await queue_depth(settings.CELERY_QUEUE)
        return Response(body, content_type=CONTENT_TYPE_LATEST)
