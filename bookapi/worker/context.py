"""What a worker process was started with: its settings, its Celery app, and the shutdown
flag its job runs check. Set once, by `worker.py`, before the pool forks."""

from __future__ import annotations

from dataclasses import dataclass

from celery import Celery

from settings import Config

from ..domain.jobs.records import TASK_FOR_KIND, StoredJob
from .lease import ShutdownFlag
from .store import WorkerStore, worker_store


@dataclass(frozen=True)
class WorkerContext:
    settings: Config
    celery: Celery
    # Made in the worker's main process before its pool forks, so every process of the
    # pool sees the main process set it on SIGTERM (warm shutdown).
    shutdown: ShutdownFlag

    def store(self) -> WorkerStore:
        return worker_store(self.settings)

    def requeue(self, job: StoredJob) -> None:
        """Send the job's task again (a job handed back or reaped)."""
        self.celery.send_task(
            TASK_FOR_KIND[job["kind"]],
            args=[str(job["_id"])],
            kwargs={"request_id": job.get("request_id")},
        )


_context: list[WorkerContext] = []


def set_worker_context(context: WorkerContext) -> None:
    _context[:] = [context]


def worker_context() -> WorkerContext:
    if not _context:
        raise RuntimeError("not a worker process: worker.py sets the context")
    return _context[0]
