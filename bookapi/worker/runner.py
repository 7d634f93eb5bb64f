"""Runs one job to its end: the plain function a Celery task (or the CLI) calls."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from bson import ObjectId
from pymongo import ReturnDocument

from ..errors import JobFailedError
from ..jobs.records import StoredJob
from ..mongo import MONGO_UNAVAILABLE
from ..timestamps import utc_now
from .exporter import run_export
from .importer import run_import
from .progress import ProgressCallback, ProgressReporter
from .store import WorkerStore

log = logging.getLogger(__name__)


def start_job(store: WorkerStore, job_id: ObjectId) -> StoredJob | None:
    """Mark the job running; None if it is unknown or has already ended (a redelivery)."""
    return store.jobs.find_one_and_update(
        {"_id": job_id, "state": {"$in": ["queued", "running"]}},
        {
            "$set": {
                "state": "running",
                "progress": {"done": 0, "total": None},
                "updated_at": utc_now(),
            },
            "$inc": {"attempts": 1},
        },
        return_document=ReturnDocument.AFTER,
    )


def end_job(
    store: WorkerStore, job_id: ObjectId, changes: Mapping[str, object]
) -> StoredJob | None:
    """Record how the job ended; the ended job, or None if it was not running any more."""
    return store.jobs.find_one_and_update(
        {"_id": job_id, "state": "running"},
        {"$set": {**changes, "updated_at": utc_now()}},
        return_document=ReturnDocument.AFTER,
    )


def execute_job(
    store: WorkerStore, job_id: str, on_progress: ProgressCallback | None = None
) -> None:
    """Run the job `job_id` and record how it ended; connection errors propagate (retry)."""
    job = start_job(store, ObjectId(job_id))
    if job is None:
        log.info("job %s is unknown or already ended; nothing to do", job_id)
        return
    reporter = ProgressReporter(store, job["_id"], on_progress)
    ended: StoredJob | None = None
    try:
        if job["kind"] == "import":
            result: Mapping[str, object] = run_import(store, job, reporter)
            done = reporter.total
        else:
            export = run_export(store, job, reporter)
            result, done = export, export["count"]
    except JobFailedError as error:
        ended = end_job(store, job["_id"], {"state": "failed", "error": str(error)})
    except MONGO_UNAVAILABLE:
        raise  # the task retries later; the job stays running meanwhile
    except Exception:
        # A bug or a refused write: the job fails for good (retrying would fail the same way).
        log.exception("job %s crashed", job_id)
        ended = end_job(
            store, job["_id"], {"state": "failed", "error": "the job failed unexpectedly"}
        )
    else:
        progress = {"done": done, "total": reporter.total}
        changes = {"state": "succeeded", "result": result, "progress": progress}
        ended = end_job(store, job["_id"], changes)
    reporter.finished(ended)
