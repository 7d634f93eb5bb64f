"""What a stored job is, how one is made, and the names both processes agree on.

The job record in MongoDB is the truth about a job; the API creates it, the worker moves
it through its states, and the Celery task carries only its id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, NotRequired, TypedDict

from bson import ObjectId

from ..books.files import BookFileFormat
from ..timestamps import utc_now

COLLECTION = "jobs"
JobKind = Literal["import", "export"]
JobState = Literal["queued", "running", "succeeded", "failed"]
OnConflict = Literal["skip", "update"]
TERMINAL_STATES = ("succeeded", "failed")
# The Celery task that runs each kind (the API sends them by name, the worker registers them).
TASK_FOR_KIND: dict[JobKind, str] = {
    "import": "bookapi.import_books",
    "export": "bookapi.export_books",
}
# The periodic reaper and retention task that beat sends (the broker schedules it by name).
MAINTENANCE_TASK = "bookapi.maintain_jobs"


class JobProgress(TypedDict):
    done: int
    total: int | None


class JobParams(TypedDict, total=False):
    format: str  # a BookFileFormat name
    on_conflict: OnConflict  # imports
    owner_is_admin: bool  # imports: may update any book (else only the owner's)
    file_id: ObjectId  # imports: the uploaded file in GridFS
    filters: dict[str, object]  # exports: the book list filters and sort


class StoredJob(TypedDict):
    _id: ObjectId
    kind: JobKind
    state: JobState
    progress: JobProgress
    result: dict[str, object] | None
    error: str | None
    params: JobParams
    created_by: str
    created_at: datetime
    updated_at: datetime
    attempts: NotRequired[int]  # how many times a worker started it
    # The lease of the run that holds the job (worker/lease.py): its id and last heartbeat.
    run_id: NotRequired[str | None]
    heartbeat_at: NotRequired[datetime]
    requeued_at: NotRequired[datetime]  # when it was last handed back to the queue
    lapses: NotRequired[int]  # how many runs of it the reaper found dead
    request_id: NotRequired[str | None]  # the X-Request-ID of the request that submitted it


def new_job(kind: JobKind, created_by: str, params: JobParams) -> StoredJob:
    now = utc_now()
    return StoredJob(
        _id=ObjectId(),
        kind=kind,
        state="queued",
        progress={"done": 0, "total": None},
        result=None,
        error=None,
        params=params,
        created_by=created_by,
        created_at=now,
        updated_at=now,
    )


def new_import_job(
    created_by: str,
    file_format: BookFileFormat,
    on_conflict: OnConflict,
    owner_is_admin: bool = False,
) -> StoredJob:
    """An import job; its file is stored under `upload_filename(job)` before it is queued."""
    params: JobParams = {
        "format": file_format.name,
        "on_conflict": on_conflict,
        "owner_is_admin": owner_is_admin,
    }
    return new_job("import", created_by, params)


def new_export_job(
    created_by: str, file_format: BookFileFormat, filters: dict[str, object]
) -> StoredJob:
    """An export of the books matching `filters` (the book list filters and sort)."""
    return new_job("export", created_by, {"format": file_format.name, "filters": filters})


def upload_filename(job: StoredJob) -> str:
    return f"import-{job['_id']}.{job['params']['format']}"


def export_filename(job: StoredJob, file_format: BookFileFormat) -> str:
    return f"books-{job['_id']}{file_format.suffixes[0]}"


def file_metadata(job: StoredJob) -> dict[str, object]:
    """GridFS metadata tying a job's file (upload or export) to the job."""
    return {"job_id": job["_id"], "format": job["params"]["format"]}
