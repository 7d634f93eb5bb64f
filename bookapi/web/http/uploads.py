"""Streaming a request body into GridFS, never holding the whole file in memory."""

from __future__ import annotations

import codecs

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


TEXT_CHECK_BYTES = 4096


class TextCheck:
    """Refuses (400) an upload whose first TEXT_CHECK_BYTES are not text: a NUL byte or
    bytes that are not UTF-8 (a PNG sent as CSV, say), before a job is made of it."""

    def __init__(self) -> None:
        self.seen = 0
        self.decoder = codecs.getincrementaldecoder("utf-8")()

    def feed(self, chunk: bytes) -> None:
        if self.seen >= TEXT_CHECK_BYTES:
            return
        part = chunk[: TEXT_CHECK_BYTES - self.seen]
        self.seen += len(part)
        if b"\x00" in part:
            raise APIError(400, "The file is not text: it holds NUL bytes.", code="not-text")
        try:
            self.decoder.decode(part, final=False)  # a character cut at the end may follow
        except UnicodeDecodeError as error:
            raise APIError(
                400,
                f"The file is not UTF-8 text (byte {self.seen - len(part) + error.start}).",
                code="not-text",
            ) from error


async def store_upload(job: StoredJob) -> ObjectId:
    """Stream the body into the GridFS file of import `job` and return its id; 413 over
    MAX_IMPORT_BYTES, 400 if empty (and then no file is left behind)."""
    limit = settings().MAX_IMPORT_BYTES
    upload = get_gridfs().open_upload_stream(upload_filename(job), metadata=file_metadata(job))
    size = 0
    head = TextCheck()
    try:
        async for chunk in request.body:
            size += len(chunk)
            if size > limit:
                raise APIError(413, f"The file is larger than {limit} bytes.", code="too-large")
            head.feed(chunk)
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
