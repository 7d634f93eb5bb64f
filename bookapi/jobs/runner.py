"""Runs one job to its end: the plain function a Celery task (or the CLI) calls."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument
from redis import Redis

from settings import Config

from ..errors import MONGO_UNAVAILABLE
from ..timestamps import utc_now
from .exporter import run_export
from .failure import JobFailedError
from .importer import run_import
from .progress import ProgressReporter, events_channel

log = logging.getLogger(__name__)


def start_job(db: Any, job_id: ObjectId) -> dict[str, Any] | None:
    """Mark the job running; None if it is unknown or has already ended (a redelivery)."""
    job: dict[str, Any] | None = db["jobs"].find_one_and_update(
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
    return job


def end_job(db: Any, job_id: ObjectId, changes: dict[str, Any]) -> None:
    db["jobs"].update_one(
        {"_id": job_id, "state": "running"}, {"$set": {**changes, "updated_at": utc_now()}}
    )


def execute_job(
    db: Any,
    redis: Redis,
    settings: Config,
    job_id: str,
    on_progress: Callable[[int, int | None], None] | None = None,
) -> None:
    """Run the job `job_id` and record how it ended; connection errors propagate (retry)."""
    job = start_job(db, ObjectId(job_id))
    if job is None:
        log.info("job %s is unknown or already ended; nothing to do", job_id)
        return
    channel = events_channel(settings.REDIS_PREFIX)
    reporter = ProgressReporter(db, redis, channel, job["_id"], on_progress)
    try:
        if job["kind"] == "import":
            result = run_import(db, job, reporter, settings.IMPORT_BATCH_SIZE)
        else:
            result = run_export(db, job, reporter)
    except JobFailedError as error:
        end_job(db, job["_id"], {"state": "failed", "error": str(error)})
    except MONGO_UNAVAILABLE:
        raise  # the task retries later; the job stays running meanwhile
    except Exception:
        log.exception("job %s crashed", job_id)
        end_job(db, job["_id"], {"state": "failed", "error": "the job failed unexpectedly"})
    else:
        done = result.get("count", reporter.total)
        progress = {"done": done, "total": reporter.total}
        end_job(db, job["_id"], {"state": "succeeded", "result": result, "progress": progress})
    reporter.finished()
