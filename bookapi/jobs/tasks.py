"""Celery tasks: thin shells that take a job id and call the job runner."""

from __future__ import annotations

from celery import Celery

from ..errors import MONGO_UNAVAILABLE
from .connections import worker_connections
from .runner import execute_job

IMPORT_TASK = "bookapi.import_books"
EXPORT_TASK = "bookapi.export_books"
TASK_FOR_KIND = {"import": IMPORT_TASK, "export": EXPORT_TASK}


def register_tasks(celery: Celery) -> None:
    settings = celery.conf.bookapi_settings
    retry_policy = {
        # MongoDB unreachable mid-job: try again later; the job is idempotent.
        "autoretry_for": MONGO_UNAVAILABLE,
        "retry_backoff": 5,
        "retry_backoff_max": 300,
        "max_retries": 20,
    }

    def run(job_id: str) -> None:
        db, redis = worker_connections(settings)
        execute_job(db, redis, settings, job_id)

    # Both kinds share one body; separate names keep them apart in monitoring.
    celery.task(name=IMPORT_TASK, **retry_policy)(run)
    celery.task(name=EXPORT_TASK, **retry_policy)(run)
