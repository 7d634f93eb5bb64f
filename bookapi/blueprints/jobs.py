"""Background jobs: submit imports and exports, read job state, download, follow live."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from bson import ObjectId
from gridfs.errors import NoFile
from quart import Blueprint
from quart_schema import (
    document_response,
    security_scheme,
    validate_querystring,
    validate_request,
)

from ..auth_guard import BEARER, Caller, access_token_required, current_caller
from ..body_limits import large_body
from ..errors import APIError
from ..ids import not_found, parse_id
from ..job_queue import submit_job
from ..jobs.exporter import CONTENT_TYPES, export_filename
from ..mongo import get_db, get_gridfs
from ..repos import jobs as jobs_repo
from ..schemas.jobs import ExportIn, ImportQuery, Job, JobListQuery, JobPage
from ..schemas.problems import Problem
from ..uploads import store_upload, upload_format

blueprint = Blueprint("jobs", __name__, url_prefix="/api/v1")


async def find_visible_job(raw_id: str, caller: Caller) -> dict[str, Any] | None:
    """The job if it exists and the caller owns it or is an admin; else None."""
    try:
        job_id = parse_id(raw_id, "job")
    except APIError:
        return None
    job = await jobs_repo.find_job(get_db(), job_id)
    if job is None or (job["created_by"] != caller.id and not caller.is_admin):
        return None  # someone else's job is as good as absent
    return job


async def load_visible_job(raw_id: str, caller: Caller) -> dict[str, Any]:
    job = await find_visible_job(raw_id, caller)
    if job is None:
        raise not_found("job")
    return job


def accepted(job: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
    return jobs_repo.to_api(job), 202, {"Location": f"/api/v1/jobs/{job['_id']}"}


@blueprint.post("/imports")
@large_body
@access_token_required
@validate_querystring(ImportQuery)
@document_response(Job, 202)
@document_response(Problem, 413)
@security_scheme(BEARER)
async def submit_import(query_args: ImportQuery) -> tuple[Any, ...]:
    """Import books from the body (text/csv or application/x-ndjson) in the background."""
    file_format = upload_format()
    job = jobs_repo.new_job(
        "import",
        current_caller().id,
        {"on_conflict": query_args.on_conflict, "format": file_format},
    )
    job["params"]["file_id"] = await store_upload(
        f"import-{job['_id']}.{file_format}", {"job_id": job["_id"]}
    )
    await submit_job(get_db(), job)
    return accepted(job)


@blueprint.post("/exports")
@access_token_required
@validate_request(ExportIn)
@document_response(Job, 202)
@security_scheme(BEARER)
async def submit_export(data: ExportIn) -> tuple[Any, ...]:
    """Export the books that match the filters, as CSV or JSON Lines, in the background."""
    filters = data.model_dump(exclude={"format"}, exclude_none=True)
    job = jobs_repo.new_job(
        "export", current_caller().id, {"format": data.format, "filters": filters}
    )
    await submit_job(get_db(), job)
    return accepted(job)


@blueprint.get("/jobs")
@access_token_required
@validate_querystring(JobListQuery)
@document_response(JobPage)
@security_scheme(BEARER)
async def list_jobs(query_args: JobListQuery) -> dict[str, Any]:
    """The caller's jobs, newest first."""
    jobs, next_cursor = await jobs_repo.list_jobs(
        get_db(), current_caller().id, query_args.limit, query_args.cursor
    )
    return {"items": [jobs_repo.to_api(job) for job in jobs], "next_cursor": next_cursor}


@blueprint.get("/jobs/<job_id>")
@access_token_required
@document_response(Job)
@document_response(Problem, 404)
@security_scheme(BEARER)
async def get_job(job_id: str) -> dict[str, Any]:
    """One job (its owner or an admin)."""
    return jobs_repo.to_api(await load_visible_job(job_id, current_caller()))


@blueprint.get("/exports/<job_id>/download")
@access_token_required
@document_response(Problem, 409)
@security_scheme(BEARER)
async def download_export(job_id: str) -> tuple[Any, ...]:
    """The exported file, streamed; 409 until the export has succeeded."""
    job = await load_visible_job(job_id, current_caller())
    if job["kind"] != "export":
        raise not_found("export")
    if job["state"] != "succeeded":
        raise APIError(409, f"The export is {job['state']}, not ready.", code="not-ready")
    try:
        stream = await get_gridfs().open_download_stream(ObjectId(job["result"]["file_id"]))
    except NoFile as error:  # removed behind the API's back
        raise APIError(410, "The exported file is gone; export again.", code="gone") from error

    async def chunks() -> AsyncIterator[bytes]:
        while chunk := await stream.readchunk():
            yield chunk

    headers = {
        "Content-Type": CONTENT_TYPES[job["params"]["format"]],
        "Content-Disposition": f'attachment; filename="{export_filename(job)}"',
    }
    return chunks(), 200, headers
