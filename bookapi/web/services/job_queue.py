"""Recording a job and handing it (or any task) to Celery without blocking the event loop.

Publishing to the broker is a blocking call, so it runs in a thread with a time limit.
If the broker does not take the task, the job record (and its upload) is removed and
the client gets 503: a job is never left queued with nobody to run it.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from typing import Any

from celery import Celery
from kombu.exceptions import OperationalError

from ...domain.jobs import job_repository as jobs_repo
from ...domain.jobs.records import TASK_FOR_KIND, StoredJob
from ...observability.logs import request_id_var
from ...observability.metrics import DEPENDENCY_UNAVAILABLE, JOBS_SUBMITTED
from ...storage.redis_store import REDIS_UNAVAILABLE
from ..http.problems import APIError, service_unavailable
from .app_services import app_services, get_db, get_gridfs

# What "the broker did not take the task" looks like: kombu's connection error, a Redis
# error from the transport, or our time limit running out.
NOT_QUEUED = (OperationalError, TimeoutError, ConnectionError, *REDIS_UNAVAILABLE)
log = logging.getLogger(__name__)


def _publish(celery: Celery, task_name: str, args: list[str], kwargs: dict[str, Any]) -> None:
    celery.send_task(task_name, args=args, kwargs=kwargs, retry=False)


async def send_task(task_name: str, args: list[str]) -> None:
    """Hand a task to the broker off the event loop, within the publish time limit; one of
    NOT_QUEUED if the broker does not take it. The request id rides along, so the worker's
    log lines of the task carry it too."""
    services = app_services()
    publish = partial(
        _publish, services.celery, task_name, args, {"request_id": request_id_var.get()}
    )
    await asyncio.wait_for(
        asyncio.to_thread(publish), services.settings.BROKER_PUBLISH_TIMEOUT_SECONDS
    )


def broker_unavailable(error: BaseException) -> APIError:
    log.warning("the broker did not take a task: %s", error)
    DEPENDENCY_UNAVAILABLE.labels("broker").inc()
    return service_unavailable("The job queue")


async def submit_job(job: StoredJob) -> None:
    """Record `job` and enqueue its task; 503 (and nothing recorded) if the broker is down."""
    db = get_db()
    job["request_id"] = request_id_var.get()
    await jobs_repo.insert_job(db, job)
    try:
        await send_task(TASK_FOR_KIND[job["kind"]], [str(job["_id"])])
    except NOT_QUEUED as error:
        await jobs_repo.delete_job(db, job["_id"])
        if "file_id" in job["params"]:
            await get_gridfs().delete(job["params"]["file_id"])
        raise broker_unavailable(error) from error
    JOBS_SUBMITTED.labels(job["kind"]).inc()
