"""The reaper: finds jobs whose run died and requeues them, or fails them for good.

Run periodically by Celery beat (the `bookapi.maintain_jobs` task). A run that stops
heartbeating (its worker was killed, lost MongoDB for longer than its retries, or hung)
leaves its job `running`; without the reaper it would wait for the broker's visibility
timeout (hours) to be redelivered.

Exactly once: one reaper runs at a time (a Redis lock; several beats or overlapping runs
skip), and every change is a conditional update on what was read, made under the job's
take lock (`WorkerStore.taking`) so a worker starting the same job cannot interleave on
FerretDB v1, which does not apply `findAndModify` atomically under concurrency (racing
reapers both "won" there in tests); MongoDB does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from ..domain.jobs import lifecycle
from ..domain.jobs.records import StoredJob
from .progress import ProgressReporter
from .runner import Requeue, finish
from .store import WorkerStore

log = logging.getLogger(__name__)


@dataclass
class ReapReport:
    requeued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    resent: list[str] = field(default_factory=list)


def reap_stalled_jobs(
    store: WorkerStore, requeue: Requeue, now: datetime | None = None
) -> ReapReport | None:
    """Requeue or fail the jobs whose run died; None if another reaper is at it right now."""
    lock = store.redis.lock(
        store.names.reaper_lock,
        # Long enough for a slow pass; a reaper that died holding it frees it in time.
        timeout=max(60.0, 10 * store.settings.JOB_MAINTENANCE_SECONDS),
        blocking=False,
    )
    if not lock.acquire():
        return None
    try:
        return _reap(store, requeue, now)
    finally:
        lock.release()


def _fail_for_good(store: WorkerStore, job: StoredJob, lapses: int) -> bool:
    error = f"the job's worker stopped responding {lapses} times; giving up"
    with store.taking(job["_id"]):
        ended = lifecycle.take_from_dead_run(
            store.jobs, job, {"state": "failed", "error": error, "lapses": lapses}
        )
    if ended is None:
        return False
    log.error("job %s failed: %s", job["_id"], error)
    finish(store, ended, ProgressReporter(store, job))
    return True


def _requeue(store: WorkerStore, job: StoredJob, lapses: int, requeue: Requeue) -> bool:
    with store.taking(job["_id"]):
        taken = lifecycle.requeue_from_dead_run(store.jobs, job, lapses)
    if taken is None:
        return False
    log.warning("job %s: its run stopped heartbeating; requeued", job["_id"])
    requeue(job)
    return True


def _reap(store: WorkerStore, requeue: Requeue, now: datetime | None) -> ReapReport:
    settings = store.settings
    cutoff = lifecycle.stale_cutoff(settings.JOB_STALE_SECONDS, now)
    report = ReapReport()
    for job in lifecycle.stalled(store.jobs, cutoff):
        lapses = job.get("lapses", 0) + 1
        if lapses >= settings.JOB_MAX_LAPSES:
            if _fail_for_good(store, job, lapses):
                report.failed.append(str(job["_id"]))
        elif _requeue(store, job, lapses, requeue):
            report.requeued.append(str(job["_id"]))
    # A job handed back or requeued whose task the broker then lost: send it again. Extra
    # sends are harmless (a run only starts a queued job or one whose run is stale).
    for job in lifecycle.waiting_too_long(store.jobs, cutoff):
        requeue(job)
        report.resent.append(str(job["_id"]))
    return report
