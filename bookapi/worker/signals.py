"""The worker's hooks into Celery's signals: our logging, tracing in the process that runs
tasks, live gauges dropped as a process stops, and jobs stopped at their next checkpoint
on a warm shutdown."""

from __future__ import annotations

from celery.signals import (
    setup_logging,
    worker_init,
    worker_process_init,
    worker_process_shutdown,
    worker_shutdown,
    worker_shutting_down,
)

from ..observability.metrics import forget_this_process
from ..observability.tracing import start_tracing
from .context import worker_context

SERVICE_NAME = "bookapi-worker"


def leave_logging_to_us(**_: object) -> None:
    """Keep Celery from replacing the logging that worker.py configured."""
    return None


# Tracing starts in the process that runs tasks: each prefork child after the fork (an
# exporter thread does not survive one), or the worker itself with the solo pool.
def trace_pool_process(**_: object) -> None:
    start_tracing(SERVICE_NAME)


def trace_solo_worker(sender: object = None, **_: object) -> None:
    if "solo" in str(getattr(sender, "pool_cls", "")).lower():
        start_tracing(SERVICE_NAME)


def forget_metrics(**_: object) -> None:
    """Each process that ran tasks (a prefork child, or the solo worker) drops its live
    gauges as it stops."""
    forget_this_process()


def stop_jobs_at_next_checkpoint(**_: object) -> None:
    worker_context().shutdown.set()


def connect_worker_signals() -> None:
    setup_logging.connect(leave_logging_to_us, weak=False)
    worker_process_init.connect(trace_pool_process, weak=False)
    worker_init.connect(trace_solo_worker, weak=False)
    worker_process_shutdown.connect(forget_metrics, weak=False)
    worker_shutdown.connect(forget_metrics, weak=False)
    worker_shutting_down.connect(stop_jobs_at_next_checkpoint, weak=False)
