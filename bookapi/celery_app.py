"""The Celery application: Redis as broker, settings chosen for at-least-once delivery.

Redis does not guarantee delivery the way RabbitMQ does, so we compensate: a task is
acknowledged only after it finished (acks late), a worker takes one long task at a
time, and every job is idempotent so a redelivery after a crash does no harm.
"""

from __future__ import annotations

from celery import Celery

from settings import Config

# Longer than the longest job: Redis redelivers an unacknowledged task after this.
VISIBILITY_TIMEOUT_SECONDS = 6 * 60 * 60


def create_celery(settings: Config) -> Celery:
    celery = Celery("bookapi", broker=settings.broker_url)
    celery.conf.update(
        # Acknowledge after the task ran: a worker killed mid-job leaves it queued.
        task_acks_late=True,
        # ...and a task whose worker died is requeued rather than dropped.
        task_reject_on_worker_lost=True,
        # Long tasks: do not reserve a second one that would wait behind the first.
        worker_prefetch_multiplier=1,
        broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT_SECONDS},
        broker_connection_retry_on_startup=True,
        # Job state lives in MongoDB; Celery's own results are not kept.
        task_ignore_result=True,
        result_expires=24 * 60 * 60,
        task_serializer="json",
        accept_content=["json"],
        worker_hijack_root_logger=False,
    )
    celery.conf.bookapi_settings = settings
    return celery
