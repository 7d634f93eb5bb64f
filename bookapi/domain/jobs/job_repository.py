"""Job records in MongoDB for the API (async): record, find, list, forget."""

from __future__ import annotations

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, IndexModel

from ...storage.mongo import Database, ensure_indexes
from ..errors import NotFoundError
from ..paging import PageQuery, SortOrder, fetch_page, fingerprint
from .records import COLLECTION, StoredJob

NEWEST_FIRST = SortOrder("_id", descending=True)


async def ensure_job_indexes(db: Database) -> None:
    await ensure_indexes(
        db[COLLECTION],
        [IndexModel([("created_by", ASCENDING), ("_id", DESCENDING)], name="owner_newest")],
    )


async def insert_job(db: Database, job: StoredJob) -> None:
    await db[COLLECTION].insert_one(job)


async def delete_job(db: Database, job_id: ObjectId) -> None:
    await db[COLLECTION].delete_one({"_id": job_id})


async def find_job(db: Database, job_id: ObjectId) -> StoredJob | None:
    job: StoredJob | None = await db[COLLECTION].find_one({"_id": job_id})
    return job


def may_see(job: StoredJob, user_id: str, is_admin: bool) -> bool:
    """A job is its owner's and the admins'; to anyone else it is as good as absent."""
    return job["created_by"] == user_id or is_admin


async def find_visible_job(
    db: Database, job_id: ObjectId, user_id: str, is_admin: bool
) -> StoredJob:
    """The job if the user may see it; else NotFoundError."""
    job = await find_job(db, job_id)
    if job is None or not may_see(job, user_id, is_admin):
        raise NotFoundError("job")
    return job


async def list_jobs(
    db: Database, created_by: str, page: PageQuery
) -> tuple[list[StoredJob], str | None]:
    """The user's jobs, newest first, one keyset page at a time."""
    query_print = fingerprint({"jobs_of": created_by})
    return await fetch_page(
        db[COLLECTION], {"created_by": created_by}, NEWEST_FIRST, page, query_print
    )
