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
from datetime import datetime, timedelta

from pymongo import ReturnDocument

from ..domain.jobs.records import StoredJob
from ..domain.timestamps import utc_now
from .progress import ProgressReporter
from .runner import Requeue, finish
from .store import WorkerStore

log = logging.getLogger(__name__)


@dataclass
class ReapReport:
    requeued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    resent: list[str] = field(default_factory=list)


def stalled_jobs(store: WorkerStore, stale: datetime) -> list[StoredJob]:
    return list(
        store.jobs.find(
            {
                "state": "running",
                "$or": [
                    {"heartbeat_at": {"$lt": stale}},
                    {"heartbeat_at": {"$exists": False}, "updated_at": {"$lt": stale}},
                ],
            }
        )
    )


def take_from_dead_run(
    store: WorkerStore, job: StoredJob, changes: dict[str, object]
) -> StoredJob | None:
    """Apply `changes` only if the job is still as the reaper read it: same run, same beat."""
    with store.taking(job["_id"]):
        return store.jobs.find_one_and_update(
            {
                "_id": job["_id"],
                "state": "running",
                "run_id": job.get("run_id"),
                "heartbeat_at": job.get("heartbeat_at"),
            },
            {"$set": {**changes, "updated_at": utc_now()}, "$unset": {"run_id": ""}},
            return_document=ReturnDocument.AFTER,
        )


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


def _reap(store: WorkerStore, requeue: Requeue, now: datetime | None) -> ReapReport:
    settings = store.settings
    stale = (now or utc_now()) - timedelta(seconds=settings.JOB_STALE_SECONDS)
    report = ReapReport()
    for job in stalled_jobs(store, stale):
        lapses = job.get("lapses", 0) + 1
        if lapses >= settings.JOB_MAX_LAPSES:
            error = f"the job's worker stopped responding {lapses} times; giving up"
            ended = take_from_dead_run(
                store, job, {"state": "failed", "error": error, "lapses": lapses}
            )
            if ended is not None:
                log.error("job %s failed: %s", job["_id"], error)
                finish(store, ended, ProgressReporter(store, job["_id"]))
                report.failed.append(str(job["_id"]))
            continue
        changes: dict[str, object] = {"state": "queued", "requeued_at": utc_now(), "lapses": lapses}
        if take_from_dead_run(store, job, changes) is not None:
            log.warning("job %s: its run stopped heartbeating; requeued", job["_id"])
            requeue(job)
            report.requeued.append(str(job["_id"]))
    # A job handed back or requeued whose task the broker then lost: send it again. Extra
    # sends are harmless (a run only starts a queued job or one whose heartbeat is stale).
    for job in store.jobs.find({"state": "queued", "requeued_at": {"$lt": stale}}):
        resent = store.jobs.update_one(
            {"_id": job["_id"], "state": "queued", "requeued_at": job["requeued_at"]},
            {"$set": {"requeued_at": utc_now()}},
        )
        if resent.matched_count:
            requeue(job)
            report.resent.append(str(job["_id"]))
    return report
