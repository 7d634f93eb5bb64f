"""Job records in MongoDB, the source of truth for a job's state (API side, async)."""

from __future__ import annotations

from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, IndexModel

from ..mongo import Database
from ..paging import decode_cursor, encode_cursor
from ..timestamps import to_rfc3339, utc_now

COLLECTION = "jobs"
TERMINAL_STATES = ("succeeded", "failed")


async def ensure_job_indexes(db: Database) -> None:
    await db[COLLECTION].create_indexes(
        [IndexModel([("created_by", ASCENDING), ("_id", DESCENDING)], name="owner_newest")]
    )


def to_api(job: dict[str, Any]) -> dict[str, Any]:
    """A job as the API shows it (its parameters and files stay internal)."""
    return {
        "id": str(job["_id"]),
        "kind": job["kind"],
        "state": job["state"],
        "progress": job["progress"],
        "result": job.get("result"),
        "error": job.get("error"),
        "created_by": job["created_by"],
        "created_at": to_rfc3339(job["created_at"]),
        "updated_at": to_rfc3339(job["updated_at"]),
    }


def new_job(kind: str, created_by: str, params: dict[str, Any]) -> dict[str, Any]:
    now = utc_now()
    return {
        "_id": ObjectId(),
        "kind": kind,
        "state": "queued",
        "progress": {"done": 0, "total": None},
        "result": None,
        "error": None,
        "params": params,
        "created_by": created_by,
        "created_at": now,
        "updated_at": now,
    }


async def insert_job(db: Database, job: dict[str, Any]) -> None:
    await db[COLLECTION].insert_one(job)


async def delete_job(db: Database, job_id: ObjectId) -> None:
    await db[COLLECTION].delete_one({"_id": job_id})


async def find_job(db: Database, job_id: ObjectId) -> dict[str, Any] | None:
    job: dict[str, Any] | None = await db[COLLECTION].find_one({"_id": job_id})
    return job


async def list_jobs(
    db: Database, created_by: str, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """The caller's jobs, newest first, one keyset page at a time."""
    fingerprint = f"jobs:{created_by}"
    selector: dict[str, Any] = {"created_by": created_by}
    if cursor is not None:
        position = decode_cursor(cursor, fingerprint)
        selector["_id"] = {"$lt": position["i"]}
    found = db[COLLECTION].find(selector).sort("_id", DESCENDING).limit(limit + 1)
    jobs: list[dict[str, Any]] = await found.to_list(limit + 1)
    if len(jobs) <= limit:
        return jobs, None
    jobs = jobs[:limit]
    return jobs, encode_cursor({"f": fingerprint, "i": str(jobs[-1]["_id"])})
