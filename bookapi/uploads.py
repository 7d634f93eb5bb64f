"""Streaming a request body into GridFS, never holding the whole file in memory."""

from __future__ import annotations

from typing import Any

from quart import current_app, request

from .errors import APIError
from .mongo import get_gridfs

UPLOAD_FORMATS = {"text/csv": "csv", "application/x-ndjson": "ndjson"}


def upload_format() -> str:
    """The import format the Content-Type names; 415 for any other."""
    file_format = UPLOAD_FORMATS.get(request.mimetype)
    if file_format is None:
        raise APIError(
            415,
            "Send the file as text/csv or application/x-ndjson.",
            code="unsupported-media-type",
        )
    return file_format


async def store_upload(filename: str, metadata: dict[str, Any]) -> Any:
    """Stream the body into a GridFS file and return its id; 413 over MAX_IMPORT_BYTES."""
    limit: int = current_app.config["MAX_IMPORT_BYTES"]
    upload = get_gridfs().open_upload_stream(filename, metadata=metadata)
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
    return upload._id
