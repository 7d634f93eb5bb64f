"""Streaming a request body into GridFS, never holding the whole file in memory."""

from __future__ import annotations

from bson import ObjectId
from quart import request

from ...domain.books.files import FORMATS, BookFileFormat, format_for_media_type
from ...domain.jobs.records import StoredJob, file_metadata, upload_filename
from ..services.app_services import get_gridfs, settings
from .problems import APIError, unsupported_media_type

MEDIA_TYPES = " or ".join(file_format.media_type for file_format in FORMATS.values())


def upload_format() -> BookFileFormat:
    """The book file format the Content-Type names; 415 for any other."""
    file_format = format_for_media_type(request.mimetype)
    if file_format is None:
        raise unsupported_media_type(f"the file as {MEDIA_TYPES}")
    return file_format


async def store_upload(job: StoredJob) -> ObjectId:
    """Stream the body into the GridFS file of import `job` and return its id; 413 over
    MAX_IMPORT_BYTES, 400 if empty (and then no file is left behind)."""
    limit = settings().MAX_IMPORT_BYTES
    upload = get_gridfs().open_upload_stream(upload_filename(job), metadata=file_metadata(job))
    size = 0
    try:
        async for chunk in request.body:
            size += len(chunk)
            if size > limit:
                raise APIError(413, f"The file is larger than {limit} bytes.", code="too-large")
            await upload.write(chunk)
    except BaseException:
        await upload.abort()  # removes the chunks written so far
        raise
    if size == 0:
        await upload.abort()
        raise APIError(400, "The file is empty.", code="empty-file")
    await upload.close()
    file_id: ObjectId = upload._id
    return file_id
