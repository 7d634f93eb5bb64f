"""Retention: finished jobs and their export files expire after JOB_RETENTION_DAYS.

Run by the same periodic task as the reaper. GridFSBucket.delete removes a file's
chunks with it. Import uploads go as soon as their job ends (runner.delete_upload);
what is purged here are ended jobs, their exports, and any file whose job is gone.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bson import ObjectId
from gridfs.errors import NoFile

from ..domain.jobs import lifecycle
from ..domain.timestamps import utc_now
from .store import WorkerStore

log = logging.getLogger(__name__)


def delete_job_files(store: WorkerStore, job_id: ObjectId) -> None:
    for grid_file in store.files.find({"metadata.job_id": job_id}):
        try:
            store.files.delete(grid_file._id)
        except NoFile:
            pass  # another purge got there first


def purge_expired_jobs(store: WorkerStore, now: datetime | None = None) -> int:
    """Delete ended jobs older than the retention, with their files; how many went."""
    cutoff = (now or utc_now()) - timedelta(days=store.settings.JOB_RETENTION_DAYS)
    purged = 0
    for job_id in lifecycle.ended_before(store.jobs, cutoff):
        # Files first: a purge cut short leaves a job without its file (which the download
        # reports as gone), never a file nobody can reach.
        delete_job_files(store, job_id)
        purged += store.jobs.delete_one({"_id": job_id}).deleted_count
    for grid_file in store.files.find({"uploadDate": {"$lt": cutoff}}):
        owner = (grid_file.metadata or {}).get("job_id")
        if owner is None or store.jobs.count_documents({"_id": owner}, limit=1) == 0:
            try:
                store.files.delete(grid_file._id)
            except NoFile:
                pass
    if purged:
        log.info("purged %d jobs older than %s", purged, cutoff.isoformat())
    return purged
