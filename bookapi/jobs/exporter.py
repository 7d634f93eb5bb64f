"""Export: stream the books that match the list filters into a GridFS file (CSV or JSON Lines).

The file holds Book *input* fields, so importing it elsewhere recreates the same books.
Idempotent: a rerun first removes what an interrupted attempt of the job wrote.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from gridfs import GridFSBucket

from ..repos.books import COLLECTION as BOOKS
from ..repos.books import SORT_FIELDS, list_filter
from ..schemas.books import BookListQuery
from .importer import BOOK_FIELDS, LIST_FIELDS
from .progress import ProgressReporter

CONTENT_TYPES = {"csv": "text/csv", "jsonl": "application/x-ndjson"}
EXTENSIONS = {"csv": "csv", "jsonl": "jsonl"}


def _csv_line(book: dict[str, Any]) -> str:
    out = io.StringIO()
    row = [
        ";".join(book.get(name) or []) if name in LIST_FIELDS else book.get(name)
        for name in BOOK_FIELDS
    ]
    csv.writer(out, lineterminator="\n").writerow(["" if value is None else value for value in row])
    return out.getvalue()


def _jsonl_line(book: dict[str, Any]) -> str:
    return json.dumps({name: book.get(name) for name in BOOK_FIELDS}, ensure_ascii=False) + "\n"


def export_filename(job: dict[str, Any]) -> str:
    return f"books-{job['_id']}.{EXTENSIONS[job['params']['format']]}"


def run_export(db: Any, job: dict[str, Any], reporter: ProgressReporter) -> dict[str, Any]:
    params = job["params"]
    file_format = params["format"]
    query = BookListQuery.model_validate(params["filters"])
    selector = list_filter(query)
    direction = -1 if query.sort.startswith("-") else 1
    order = [(SORT_FIELDS[query.sort.lstrip("-")], direction), ("_id", direction)]
    bucket = GridFSBucket(db)
    for leftover in db["fs.files"].find({"metadata.job_id": job["_id"]}, {"_id": 1}):
        bucket.delete(leftover["_id"])  # written by an interrupted attempt
    reporter.start(db[BOOKS].count_documents(selector))
    done = 0
    with bucket.open_upload_stream(
        export_filename(job), metadata={"job_id": job["_id"], "format": file_format}
    ) as upload:
        if file_format == "csv":
            upload.write(",".join(BOOK_FIELDS).encode() + b"\n")
        to_line = _csv_line if file_format == "csv" else _jsonl_line
        for book in db[BOOKS].find(selector).sort(order):
            upload.write(to_line(book).encode())
            done += 1
            reporter.advance(done)
        file_id = upload._id
    reporter.advance(done, force=True)
    return {"file_id": str(file_id), "format": file_format, "count": done}
