"""Celery tasks: thin shells that take a job id and call the job runner, and the periodic
maintenance task (reaper and retention) that Celery beat schedules."""

from __future__ import annotations

import logging

from celery import Celery
from celery.signals import (
    setup_logging,
    worker_init,
    worker_process_init,
    worker_process_shutdown,
    worker_shutdown,
    worker_shutting_down,
)

from settings import Config

from ..domain.jobs.records import TASK_FOR_KIND, StoredJob
from ..observability.logs import configure_logging, job_id_var, request_id_var
from ..observability.metrics import forget_this_process
from ..observability.tracing import start_tracing
from ..storage.mongo import MONGO_UNAVAILABLE
from .lease import ShutdownFlag
from .reaper import reap_stalled_jobs
from .retention import purge_expired_jobs
from .runner import execute_job
from .store import worker_store

MAINTENANCE_TASK = "bookapi.maintain_jobs"
log = logging.getLogger(__name__)


def register_tasks(celery: Celery, settings: Config) -> None:
    retry_policy = {
        # MongoDB unreachable mid-job: try again later; the job is idempotent.
        "autoretry_for": MONGO_UNAVAILABLE,
        "retry_backoff": 5,
        "retry_backoff_max": 300,
        "max_retries": 20,
    }

    # Configured now, so even what the worker says before it starts (a warning about
    # running as root) is in our format; a receiver on setup_logging keeps Celery from
    # replacing it with its own.
    configure_logging(settings)

    def leave_logging_to_us(**_: object) -> None:
        return None

    setup_logging.connect(leave_logging_to_us, weak=False)

    # Tracing starts in the process that runs tasks: each prefork child after the fork (an
    # exporter thread does not survive one), or the worker itself with the solo pool.
    def trace_pool_process(**_: object) -> None:
        start_tracing("bookapi-worker")

    def trace_solo_worker(sender: object = None, **_: object) -> None:
        if "solo" in str(getattr(sender, "pool_cls", "")).lower():
            start_tracing("bookapi-worker")

    worker_process_init.connect(trace_pool_process, weak=False)
    worker_init.connect(trace_solo_worker, weak=False)

    # Each process that ran tasks (a prefork child, or the solo worker) drops its live
    # gauges as it stops.
    def forget_metrics(**_: object) -> None:
        forget_this_process()

    worker_process_shutdown.connect(forget_metrics, weak=False)
    worker_shutdown.connect(forget_metrics, weak=False)

    # Made here, in the worker's main process before its pool forks, so every process of
    # the pool sees the main process set it on SIGTERM (warm shutdown).
    shutdown = ShutdownFlag()

    def stop_jobs_at_next_checkpoint(**_: object) -> None:
        shutdown.set()

    worker_shutting_down.connect(stop_jobs_at_next_checkpoint, weak=False)

    def requeue(job: StoredJob) -> None:
        celery.send_task(
            TASK_FOR_KIND[job["kind"]],
            args=[str(job["_id"])],
            kwargs={"request_id": job.get("request_id")},
        )

    def run(job_id: str, request_id: str | None = None) -> None:
        # Every log line of this job names the job and the request that submitted it.
        request_token = request_id_var.set(request_id)
        job_token = job_id_var.set(job_id)
        try:
            execute_job(worker_store(settings), job_id, shutdown=shutdown, requeue=requeue)
        finally:
            job_id_var.reset(job_token)
            request_id_var.reset(request_token)

    # Every kind shares one body; separate names keep them apart in monitoring.
    for task_name in TASK_FOR_KIND.values():
        celery.task(name=task_name, **retry_policy)(run)

    def maintain_jobs() -> None:
        store = worker_store(settings)
        report = reap_stalled_jobs(store, requeue)
        purged = purge_expired_jobs(store)
        if report is None:
            log.info("job maintenance: another reaper is running; %d jobs purged", purged)
        elif report.requeued or report.failed or report.resent or purged:
            log.info("job maintenance: %s, %d jobs purged", report, purged)

    # No retries: the next beat runs it again anyway.
    celery.task(name=MAINTENANCE_TASK)(maintain_jobs)
