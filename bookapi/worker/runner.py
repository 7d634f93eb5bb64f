"""Runs one job to its end: the plain function a Celery task (or the CLI) calls."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping

from bson import ObjectId
from gridfs.errors import NoFile

from ..domain.errors import JobFailedError
from ..domain.jobs import lifecycle
from ..domain.jobs.records import StoredJob
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
UNEXPECTED = "the job failed unexpectedly"


def start_job(store: WorkerStore, job_id: ObjectId) -> StoredJob | None:
    """Take the job for a new run; None if it is unknown, ended, or held by a live run.

    A running job is taken only when its run is stale, so a redelivered task never runs a
    job twice at once; a run that died is picked up by the reaper.
    """
    cutoff = lifecycle.stale_cutoff(store.settings.JOB_STALE_SECONDS)
    with store.taking(job_id):
        return lifecycle.start(store.jobs, job_id, cutoff)


def hand_back(store: WorkerStore, job: StoredJob, requeue: Requeue | None) -> None:
    """The worker is stopping: put the job back in the queue for another worker to finish.

    The next run starts over, which is safe because every job is idempotent (an import
    recognises the books an earlier attempt of it inserted)."""
    if lifecycle.hand_back(store.jobs, job) and requeue is not None:
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


def run_kind(store: WorkerStore, job: StoredJob, reporter: ProgressReporter) -> dict[str, object]:
    """Do the job's work; how a successful run ends (its result and progress)."""
    if job["kind"] == "import":
        result: Mapping[str, object] = run_import(store, job, reporter)
        done = reporter.total
    else:
        export = run_export(store, job, reporter)
        result, done = export, export["count"]
    progress = {"done": done, "total": reporter.total}
    return {"state": "succeeded", "result": result, "progress": progress}


def run_to_end(
    store: WorkerStore, job: StoredJob, reporter: ProgressReporter, requeue: Requeue | None
) -> StoredJob | None:
    """Run the job and record its end; None if it did not end here (handed back, or lost)."""
    try:
        outcome = run_kind(store, job, reporter)
    except JobInterruptedError as interruption:
        if interruption.reason == "shutdown":
            hand_back(store, job, requeue)
        return None  # "lost": the run that took the job over records its end
    except JobFailedError as error:
        outcome = {"state": "failed", "error": str(error)}
    except MONGO_UNAVAILABLE:
        raise  # the task retries later; the job stays running meanwhile
    except Exception:
        # A bug or a refused write: the job fails for good (retrying would fail the same).
        log.exception("job %s crashed", job["_id"])
        outcome = {"state": "failed", "error": UNEXPECTED}
    return lifecycle.end(store.jobs, job, outcome)


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
        reporter = ProgressReporter(store, job, on_progress, checkpoint=lease.checkpoint)
        ended = run_to_end(store, job, reporter, requeue)
    if ended is not None:
        log.info("job %s %s", job_id, ended["state"])
        record_metrics(ended, time.monotonic() - started, reporter.total)
    finish(store, ended, reporter)


def record_metrics(job: StoredJob, seconds: float, rows: int | None) -> None:
    JOBS_ENDED.labels(job["kind"], job["state"]).inc()
    JOB_DURATION.labels(job["kind"]).observe(seconds)
    if job["kind"] == "import" and job["state"] == "succeeded" and rows and seconds > 0:
        IMPORT_ROWS_PER_SECOND.observe(rows / seconds)
