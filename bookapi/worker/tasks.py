"""Celery tasks: thin shells that take a job id and call the job runner."""

from __future__ import annotations

from celery import Celery

from settings import Config

from ..jobs.records import TASK_FOR_KIND
from ..mongo import MONGO_UNAVAILABLE
from .runner import execute_job
from .store import worker_store


def register_tasks(celery: Celery, settings: Config) -> None:
    retry_policy = {
        # MongoDB unreachable mid-job: try again later; the job is idempotent.
        "autoretry_for": MONGO_UNAVAILABLE,
        "retry_backoff": 5,
        "retry_backoff_max": 300,
        "max_retries": 20,
    }

    def run(job_id: str) -> None:
        execute_job(worker_store(settings), job_id)

    # Every kind shares one body; separate names keep them apart in monitoring.
    for task_name in TASK_FOR_KIND.values():
        celery.task(name=task_name, **retry_policy)(run)
