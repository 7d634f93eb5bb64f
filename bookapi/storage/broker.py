"""The Celery application: Redis as broker, settings chosen for at-least-once delivery.

Redis does not guarantee delivery the way RabbitMQ does, so we compensate: a task is
acknowledged only after it finished (acks late), a worker takes one long task at a
time, and every job is idempotent so a redelivery after a crash does no harm.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable
from pathlib import Path

from celery import Celery
from kombu.entity import Queue

from settings import PROJECT_DIR, Config

from ..domain.accounts.reset_tokens import PASSWORD_RESET_TASK
from ..domain.jobs.records import MAINTENANCE_TASK

SHORT_TASKS = (MAINTENANCE_TASK, PASSWORD_RESET_TASK)
# kombu leaves this constructor untyped; this is the one way it is called.
queue_named: Callable[[str], Queue] = Queue


def create_celery(settings: Config) -> Celery:
    celery = Celery("bookapi", broker=settings.broker_url)
    celery.conf.update(
        task_default_queue=settings.CELERY_QUEUE,
        # Acknowledge after the task ran: a worker killed mid-job leaves it queued...
        task_acks_late=True,
        # ...and a task whose worker process died is requeued rather than dropped.
        task_reject_on_worker_lost=True,
        # Long tasks: do not reserve a second one that would wait behind the first.
        worker_prefetch_multiplier=1,
        broker_transport_options=transport_options(settings),
        broker_connection_retry_on_startup=True,
        # Job state lives in MongoDB; Celery keeps no results.
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        worker_hijack_root_logger=False,
        # `celery -A worker beat` sends the reaper and retention task this often; a
        # message not taken before the next one is due is dropped (no pile-up).
        beat_schedule={
            "maintain-jobs": {
                "task": MAINTENANCE_TASK,
                "schedule": settings.JOB_MAINTENANCE_SECONDS,
                "options": {
                    "expires": settings.JOB_MAINTENANCE_SECONDS,
                    "queue": settings.CELERY_MAINTENANCE_QUEUE,
                },
            }
        },
        # Short tasks (maintenance, mail) never wait behind a long import.
        task_routes=dict.fromkeys(SHORT_TASKS, {"queue": settings.CELERY_MAINTENANCE_QUEUE}),
        # A worker started without -Q takes both (one process does everything, as in
        # development); production gives maintenance a worker of its own.
        task_queues=[
            queue_named(settings.CELERY_QUEUE),
            queue_named(settings.CELERY_MAINTENANCE_QUEUE),
        ],
        beat_schedule_filename=beat_schedule_file(settings),
    )
    return celery


def transport_options(settings: Config) -> dict[str, object]:
    visibility = settings.CELERY_VISIBILITY_TIMEOUT_SECONDS
    return {
        # Redis puts an unacknowledged task back after this: longer than any job,
        # or a second worker would start a job the first is still running.
        "visibility_timeout": visibility,
        # How often a worker looks for such tasks (kombu's default is ~100 s).
        "unacked_restore_interval": max(1, min(60, visibility // 4)),
        "unacked_restore_throttle": 1,
        "socket_connect_timeout": 2,
        "socket_timeout": 5,
        **sentinel_options(settings),
    }


def sentinel_options(settings: Config) -> dict[str, object]:
    """Kombu's sentinel transport: which primary to ask the sentinels for, and their login."""
    if not settings.REDIS_SENTINELS or settings.CELERY_BROKER_URL:
        return {}
    options: dict[str, object] = {"master_name": settings.REDIS_SENTINEL_MASTER}
    if settings.REDIS_SENTINEL_PASSWORD:
        options["sentinel_kwargs"] = {"password": settings.REDIS_SENTINEL_PASSWORD}
    return options


def beat_schedule_file(settings: Config) -> str:
    """Beat's schedule, per checkout and queue (one path in the system's temporary folder was
    shared by every checkout and deployment on a host)."""
    if settings.CELERY_BEAT_SCHEDULE_FILE:
        return settings.CELERY_BEAT_SCHEDULE_FILE
    folder = PROJECT_DIR / "var"
    try:
        folder.mkdir(exist_ok=True)
    except OSError:  # a read-only checkout (the image runs as nobody): this user's temp
        checkout = hashlib.sha256(str(PROJECT_DIR).encode()).hexdigest()[:12]
        folder = Path(tempfile.gettempdir()) / f"bookapi-{checkout}"
        folder.mkdir(exist_ok=True)
    return str(folder / f"celerybeat-{settings.CELERY_QUEUE}")
