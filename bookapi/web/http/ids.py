"""Resource ids in URLs: 24 lower-case hex characters (a MongoDB ObjectId), and the lookups
that turn one into what the caller may see."""

from __future__ import annotations

import re

from bson import ObjectId

from ...domain.errors import NotFoundError
from ...domain.jobs import job_repository
from ...domain.jobs.records import StoredJob
from ..security.guard import Caller
from ..services.app_services import app_services, get_db

OBJECT_ID = re.compile(r"[0-9a-f]{24}")


def parse_id(raw: str, what: str) -> ObjectId:
    # A malformed id names nothing: 404, as the contract says, not 400.
    if not OBJECT_ID.fullmatch(raw):
        raise NotFoundError(what)
    return ObjectId(raw)


async def visible_job(raw_id: str, caller: Caller) -> StoredJob:
    """The job `raw_id` names, if the caller may see it (its owner or an admin); else 404."""
    return await job_repository.find_visible_job(
        get_db(), parse_id(raw_id, "job"), caller.id, caller.is_admin
    )


async def visible_job_since(raw_id: str, caller: Caller, since: float) -> StoredJob:
    """As `visible_job`, read no earlier than `since`, and shared with the other readers of
    the job at that moment (many listeners of one job arrive together)."""
    job_id = parse_id(raw_id, "job")
    job = await app_services().job_reads.read(
        raw_id, since, lambda: job_repository.find_job(get_db(), job_id)
    )
    if job is None or not job_repository.may_see(job, caller.id, caller.is_admin):
        raise NotFoundError("job")
    return job
