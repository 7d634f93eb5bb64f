"""The job state machine: every transition of a stored job, and the one meaning of "stale".

    queued --start--> running --end--> succeeded | failed
    running --hand_back (worker stopping)--> queued
    running, stale --take_from_dead_run (reaper)--> queued | failed
    running, stale --start (a redelivered task)--> running (a new run)

A run holds its job by `run_id`: every write of a run is conditional on it, so a run that
lost its job (the reaper or another run took it) changes nothing. The API only creates
jobs (`records.new_job`, queued); the worker moves them, through these functions only.
Callers that take a job (start, reap) do so under `WorkerStore.taking` where the server's
findAndModify is not atomic.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.collection import Collection

from ..timestamps import utc_now
from .records import TERMINAL_STATES, JobProgress, StoredJob

Jobs = Collection[StoredJob]


def stale_cutoff(stale_seconds: float, now: datetime | None = None) -> datetime:
    """A run whose last sign of life is older than this is taken to be dead."""
    return (now or utc_now()) - timedelta(seconds=stale_seconds)


def stale_run(cutoff: datetime) -> dict[str, Any]:
    """Running, with its last sign of life (the heartbeat, else the last update) before
    `cutoff`: the one definition of a dead run, for the reaper and a redelivery alike."""
    return {
        "state": "running",
        "$or": [
            {"heartbeat_at": {"$lt": cutoff}},
            {"heartbeat_at": {"$exists": False}, "updated_at": {"$lt": cutoff}},
        ],
    }


def held_by(job: StoredJob) -> dict[str, Any]:
    """The job, as long as the run that read it still holds it."""
    return {"_id": job["_id"], "state": "running", "run_id": job.get("run_id")}


def start(jobs: Jobs, job_id: ObjectId, cutoff: datetime) -> StoredJob | None:
    """Take the job for a new run; None if it is unknown, ended, or held by a live run."""
    now = utc_now()
    return jobs.find_one_and_update(
        {"_id": job_id, "$or": [{"state": "queued"}, stale_run(cutoff)]},
        {
            "$set": {
                "state": "running",
                "progress": {"done": 0, "total": None},
                "run_id": uuid.uuid4().hex,
                "heartbeat_at": now,
                "updated_at": now,
            },
            "$inc": {"attempts": 1},
        },
        return_document=ReturnDocument.AFTER,
    )


def beat(jobs: Jobs, job: StoredJob) -> bool:
    """Stamp the run's heartbeat; False if this run no longer holds the job."""
    return jobs.update_one(held_by(job), {"$set": {"heartbeat_at": utc_now()}}).matched_count == 1


def record_progress(jobs: Jobs, job: StoredJob, progress: JobProgress) -> None:
    jobs.update_one(held_by(job), {"$set": {"progress": progress, "updated_at": utc_now()}})


def end(jobs: Jobs, job: StoredJob, changes: Mapping[str, object]) -> StoredJob | None:
    """Record how this run ended (`changes` names the terminal state); the ended job, or
    None if the run lost it."""
    assert changes.get("state") in TERMINAL_STATES, "a run ends in a terminal state"
    return jobs.find_one_and_update(
        held_by(job),
        {"$set": {**changes, "updated_at": utc_now()}, "$unset": {"run_id": ""}},
        return_document=ReturnDocument.AFTER,
    )


def hand_back(jobs: Jobs, job: StoredJob) -> bool:
    """Put the job back in the queue (its worker is stopping); False if the run lost it."""
    now = utc_now()
    handed = jobs.update_one(
        held_by(job),
        {
            "$set": {"state": "queued", "requeued_at": now, "updated_at": now},
            "$unset": {"run_id": "", "heartbeat_at": ""},
        },
    )
    return handed.matched_count == 1


def stalled(jobs: Jobs, cutoff: datetime) -> list[StoredJob]:
    return list(jobs.find(stale_run(cutoff)))


def take_from_dead_run(
    jobs: Jobs, job: StoredJob, changes: Mapping[str, object]
) -> StoredJob | None:
    """Requeue or fail a dead run's job, only if it is still as the reaper read it: the same
    run and the same last beat (a run that came back to life keeps its job)."""
    assert changes.get("state") in ("queued", *TERMINAL_STATES)
    return jobs.find_one_and_update(
        {**held_by(job), "heartbeat_at": job.get("heartbeat_at")},
        {"$set": {**changes, "updated_at": utc_now()}, "$unset": {"run_id": ""}},
        return_document=ReturnDocument.AFTER,
    )


def requeue_from_dead_run(jobs: Jobs, job: StoredJob, lapses: int) -> StoredJob | None:
    return take_from_dead_run(
        jobs, job, {"state": "queued", "requeued_at": utc_now(), "lapses": lapses}
    )


def waiting_too_long(jobs: Jobs, cutoff: datetime) -> Iterator[StoredJob]:
    """Queued jobs handed back or requeued before `cutoff` whose task the broker may have
    lost; each is marked as sent again now, once, whoever else looks at the same moment."""
    for job in jobs.find({"state": "queued", "requeued_at": {"$lt": cutoff}}):
        resent = jobs.update_one(
            {"_id": job["_id"], "state": "queued", "requeued_at": job["requeued_at"]},
            {"$set": {"requeued_at": utc_now()}},
        )
        if resent.matched_count:
            yield job


def ended_before(jobs: Jobs, cutoff: datetime) -> list[ObjectId]:
    """The ids of ended jobs whose end is older than `cutoff` (for retention)."""
    ended = {"state": {"$in": list(TERMINAL_STATES)}, "updated_at": {"$lt": cutoff}}
    found = jobs.find(ended, {"_id": 1})
    return [job["_id"] for job in found]
