"""Runs one job to its end: the plain function a Celery task (or the CLI) calls."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import timedelta

from bson import ObjectId
from gridfs.errors import NoFile
from pymongo import ReturnDocument

from ..domain.errors import JobFailedError
from ..domain.jobs.records import StoredJob
from ..domain.timestamps import utc_now
from ..observability.metrics import IMPORT_ROWS_PER_SECOND, JOB_DURATION, JOBS_ENDED
from ..storage.mongo import MONGO_UNAVAILABLE
from .exporter import run_export
from .importer import run_import
from .lease import JobInterruptedError, Lease, ShutdownFlag
from .progress import ProgressCallback, ProgressReporter
from .store import WorkerStore

log = logging.getLogger(__name__)
# Puts a job's task back on the queue (a Celery send), for a job handed back or reaped.
Requeue = Callable[[StoredJob], None]


def start_job(store: WorkerStore, job_id: ObjectId) -> StoredJob | None:
    """Take the job for a new run; None if it is unknown, ended, or held by a live run.

    A running job is taken only when its heartbeat has gone stale, so a redelivered task
    never runs a job twice at once; a run that died is picked up by the reaper.
    """
    stale = utc_now() - timedelta(seconds=store.settings.JOB_STALE_SECONDS)
    now = utc_now()
    with store.taking(job_id):
        return store.jobs.find_one_and_update(
            {
                "_id": job_id,
                "$or": [
                    {"state": "queued"},
                    {"state": "running", "heartbeat_at": {"$lt": stale}},
                    {"state": "running", "heartbeat_at": {"$exists": False}},
                ],
            },
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


def end_job(store: WorkerStore, job: StoredJob, changes: Mapping[str, object]) -> StoredJob | None:
    """Record how this run of the job ended; the ended job, or None if the run lost it."""
    return store.jobs.find_one_and_update(
        {"_id": job["_id"], "state": "running", "run_id": job.get("run_id")},
        {"$set": {**changes, "updated_at": utc_now()}, "$unset": {"run_id": ""}},
        return_document=ReturnDocument.AFTER,
    )


def hand_back(store: WorkerStore, job: StoredJob, requeue: Requeue | None) -> None:
    """The worker is stopping: put the job back in the queue for another worker to finish.

    The next run starts over, which is safe because every job is idempotent (an import
    recognises the books an earlier attempt of it inserted)."""
    handed = store.jobs.update_one(
        {"_id": job["_id"], "state": "running", "run_id": job.get("run_id")},
        {
            "$set": {"state": "queued", "requeued_at": utc_now(), "updated_at": utc_now()},
            "$unset": {"run_id": "", "heartbeat_at": ""},
        },
    )
    if handed.matched_count and requeue is not None:
        # Should the broker refuse, the reaper sends it again (the job waits `queued`).
        requeue(job)
    log.info("job %s handed back to the queue: this worker is shutting down", job["_id"])


def delete_upload(store: WorkerStore, job: StoredJob) -> None:
    """An import's uploaded file is needed no more once its job has ended."""
    file_id = job["params"].get("file_id")
    if job["kind"] == "import" and file_id is not None:
        try:
            store.files.delete(file_id)
        except NoFile:
            pass  # already gone: a second end of the same job, or the retention purge


def finish(store: WorkerStore, ended: StoredJob | None, reporter: ProgressReporter) -> None:
    reporter.finished(ended)
    if ended is not None:
        delete_upload(store, ended)


def execute_job(
    store: WorkerStore,
    job_id: str,
    on_progress: ProgressCallback | None = None,
    shutdown: ShutdownFlag | None = None,
    requeue: Requeue | None = None,
) -> None:
    """Run the job `job_id` and record how it ended; connection errors propagate (retry)."""
    job = start_job(store, ObjectId(job_id))
    if job is None:
        log.info("job %s is unknown, ended, or running elsewhere; nothing to do", job_id)
        return
    log.info("job %s (%s) started, attempt %d", job_id, job["kind"], job.get("attempts", 1))
    started = time.monotonic()
    with Lease(store, job, shutdown) as lease:
        reporter = ProgressReporter(
            store, job["_id"], on_progress, run_id=job.get("run_id"), checkpoint=lease.checkpoint
        )
        ended: StoredJob | None = None
        try:
            if job["kind"] == "import":
                result: Mapping[str, object] = run_import(store, job, reporter)
                done = reporter.total
            else:
                export = run_export(store, job, reporter)
                result, done = export, export["count"]
        except JobInterruptedError as interruption:
            if interruption.reason == "shutdown":
                hand_back(store, job, requeue)
            return  # "lost": the run that took the job over records its end
        except JobFailedError as error:
            ended = end_job(store, job, {"state": "failed", "error": str(error)})
        except MONGO_UNAVAILABLE:
            raise  # the task retries later; the job stays running meanwhile
        except Exception:
            # A bug or a refused write: the job fails for good (retrying would fail the same).
            log.exception("job %s crashed", job_id)
            ended = end_job(store, job, {"state": "failed", "error": "the job failed unexpectedly"})
        else:
            progress = {"done": done, "total": reporter.total}
            changes = {"state": "succeeded", "result": result, "progress": progress}
            ended = end_job(store, job, changes)
    if ended is not None:
        log.info("job %s %s", job_id, ended["state"])
        record_metrics(ended, time.monotonic() - started, reporter.total)
    finish(store, ended, reporter)


def record_metrics(job: StoredJob, seconds: float, rows: int | None) -> None:
    JOBS_ENDED.labels(job["kind"], job["state"]).inc()
    JOB_DURATION.labels(job["kind"]).observe(seconds)
    if job["kind"] == "import" and job["state"] == "succeeded" and rows and seconds > 0:
        IMPORT_ROWS_PER_SECOND.observe(rows / seconds)
