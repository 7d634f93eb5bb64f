"""Celery tasks: thin shells that take a job id and call the job runner, the periodic
maintenance task (reaper and retention) that Celery beat schedules, and the mailing of
password-reset links. The work is in plain
functions (`run_job`, `maintain_jobs`) that the tests also call."""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from typing import TypeVar

from celery import shared_task
from redis.exceptions import RedisError

from ..domain.accounts.reset_tokens import PASSWORD_RESET_TASK
from ..domain.jobs.records import MAINTENANCE_TASK, TASK_FOR_KIND
from ..observability.logs import job_id_var, request_id_var
from ..storage.mongo import MONGO_UNAVAILABLE
from .context import worker_context
from .password_reset import mail_reset_link
from .reaper import reap_stalled_jobs
from .retention import purge_expired_jobs
from .runner import execute_job

log = logging.getLogger(__name__)
RETRY_POLICY: dict[str, object] = {
    # MongoDB unreachable mid-job: try again later; the job is idempotent.
    "autoretry_for": MONGO_UNAVAILABLE,
    "retry_backoff": 5,
    "retry_backoff_max": 300,
    "max_retries": 20,
}
TaskBody = TypeVar("TaskBody", bound=Callable[..., None])


def task(**options: object) -> Callable[[TaskBody], TaskBody]:
    """Celery's `shared_task`, typed (Celery ships no type hints): registered by name with
    every Celery app, so the worker's app has them as soon as this module is imported."""
    decorator: Callable[[TaskBody], TaskBody] = shared_task(**options)
    return decorator


def run_job(job_id: str, request_id: str | None = None) -> None:
    """Run one job in this worker; every log line of it names the job and the request that
    submitted it."""
    context = worker_context()
    request_token = request_id_var.set(request_id)
    job_token = job_id_var.set(job_id)
    try:
        execute_job(context.store(), job_id, shutdown=context.shutdown, requeue=context.requeue)
    finally:
        job_id_var.reset(job_token)
        request_id_var.reset(request_token)


def maintain_jobs() -> None:
    """Reap dead runs and purge expired jobs."""
    context = worker_context()
    store = context.store()
    report = reap_stalled_jobs(store, context.requeue)
    purged = purge_expired_jobs(store)
    if report is None:
        log.info("job maintenance: another reaper is running; %d jobs purged", purged)
    elif report.requeued or report.failed or report.resent or purged:
        log.info("job maintenance: %s, %d jobs purged", report, purged)


# Every kind shares one body; separate names keep them apart in monitoring.
@task(name=TASK_FOR_KIND["import"], **RETRY_POLICY)
def import_books(job_id: str, request_id: str | None = None) -> None:
    run_job(job_id, request_id)


@task(name=TASK_FOR_KIND["export"], **RETRY_POLICY)
def export_books(job_id: str, request_id: str | None = None) -> None:
    run_job(job_id, request_id)


# No retries: the next beat runs it again anyway.
@task(name=MAINTENANCE_TASK)
def maintain_jobs_task() -> None:
    maintain_jobs()


# A mail server or database that is down for a while: the mail still goes out, late. A
# retry makes a new link (the old one is simply never used).
@task(
    name=PASSWORD_RESET_TASK,
    autoretry_for=(*MONGO_UNAVAILABLE, smtplib.SMTPException, OSError, RedisError),
    retry_backoff=5,
    retry_backoff_max=120,
    max_retries=8,
)
def mail_password_reset(email: str, request_id: str | None = None) -> None:
    token = request_id_var.set(request_id)
    try:
        mail_reset_link(worker_context().store(), email)
    finally:
        request_id_var.reset(token)
