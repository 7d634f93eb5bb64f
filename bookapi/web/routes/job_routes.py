"""Background jobs: submit imports and exports, read job state, download an export."""

from __future__ import annotations

from collections.abc import AsyncIterator

from bson import ObjectId
from gridfs.errors import NoFile
from quart import Blueprint
from quart_schema import validate_response

from ...domain.books.files import FORMATS
from ...domain.errors import GoneError, NotFoundError, NotReadyError
from ...domain.jobs import job_repository as jobs_repo
from ...domain.jobs import records
from ...domain.jobs.job_schemas import ExportIn, ImportQuery, Job, JobListQuery, JobPage
from ...domain.jobs.records import StoredJob
from ..http.body_limits import large_body
from ..http.ids import visible_job
from ..http.json_body import json_body
from ..http.paths import API_PREFIX
from ..http.query_args import validated_query
from ..http.uploads import store_upload, upload_format
from ..openapi.problem_schema import document_errors
from ..security.guard import access_token_required, current_caller
from ..services.app_services import get_db, get_gridfs
from ..services.job_queue import submit_job

blueprint = Blueprint("jobs", __name__, url_prefix=API_PREFIX)
Accepted = tuple[Job, int, dict[str, str]]


def accepted(job: StoredJob) -> Accepted:
    return Job.model_validate(job), 202, {"Location": f"{API_PREFIX}/jobs/{job['_id']}"}


@blueprint.post("/imports")
@large_body
@access_token_required
@validated_query(ImportQuery)
@validate_response(Job, 202)
@document_errors(400, 413, 415)
async def submit_import(query_args: ImportQuery) -> Accepted:
    """Import books from the body (text/csv or application/x-ndjson) in the background."""
    caller = current_caller()
    job = records.new_import_job(
        caller.id, upload_format(), query_args.on_conflict, owner_is_admin=caller.is_admin
    )
    job["params"]["file_id"] = await store_upload(job)
    await submit_job(job)
    return accepted(job)


@blueprint.post("/exports")
@access_token_required
@json_body(ExportIn)
@validate_response(Job, 202)
async def submit_export(data: ExportIn) -> Accepted:
    """Export the books that match the filters, as CSV or JSON Lines, in the background."""
    filters = data.model_dump(exclude={"format"}, exclude_none=True)
    job = records.new_export_job(current_caller().id, FORMATS[data.format], filters)
    await submit_job(job)
    return accepted(job)


@blueprint.get("/jobs")
@access_token_required
@validated_query(JobListQuery)
@validate_response(JobPage)
async def list_jobs(query_args: JobListQuery) -> JobPage:
    """The caller's jobs, newest first."""
    jobs, next_cursor = await jobs_repo.list_jobs(get_db(), current_caller().id, query_args)
    return JobPage.model_validate({"items": jobs, "next_cursor": next_cursor})


@blueprint.get("/jobs/<job_id>")
@access_token_required
@validate_response(Job)
@document_errors(404)
async def get_job(job_id: str) -> Job:
    """One job (its owner or an admin)."""
    return Job.model_validate(await visible_job(job_id, current_caller()))


@blueprint.get("/exports/<job_id>/download")
@access_token_required
@document_errors(404, 409, 410)
async def download_export(job_id: str) -> tuple[AsyncIterator[bytes], int, dict[str, str]]:
    """The exported file, streamed; 409 until the export has succeeded."""
    job = await visible_job(job_id, current_caller())
    if job["kind"] != "export":
        raise NotFoundError("export")
    if job["state"] != "succeeded" or job["result"] is None:
        raise NotReadyError(f"The export is {job['state']}, not ready.")
    try:
        stream = await get_gridfs().open_download_stream(ObjectId(str(job["result"]["file_id"])))
    except NoFile as error:  # removed behind the API's back
        raise GoneError("The exported file is gone; export again.") from error

    async def chunks() -> AsyncIterator[bytes]:
        while chunk := await stream.readchunk():
            yield chunk

    file_format = FORMATS[job["params"]["format"]]
    filename = records.export_filename(job, file_format)
    headers = {
        "Content-Type": file_format.media_type,
        "Content-Disposition": f'attachment; filename="{filename}"',
    }
    return chunks(), 200, headers
