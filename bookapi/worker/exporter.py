"""Export: stream the books that match the list filters into a GridFS file.

Idempotent: a rerun first removes what an interrupted attempt of the job wrote.
"""

from __future__ import annotations

from typing import TypedDict

from ..domain.books.book_schemas import BookFilters
from ..domain.books.documents import list_filter, sort_order
from ..domain.books.files import FORMATS, book_line, header_line
from ..domain.jobs.records import StoredJob, export_filename, file_metadata
from .progress import ProgressReporter
from .store import WorkerStore


class ExportResult(TypedDict):
    file_id: str
    format: str
    count: int


def remove_earlier_attempts(store: WorkerStore, job: StoredJob) -> None:
    for leftover in store.files.find({"metadata.job_id": job["_id"]}):
        store.files.delete(leftover._id)


def run_export(store: WorkerStore, job: StoredJob, reporter: ProgressReporter) -> ExportResult:
    file_format = FORMATS[job["params"]["format"]]
    filters = BookFilters.model_validate(job["params"].get("filters", {}))
    selector = list_filter(filters)
    remove_earlier_attempts(store, job)
    reporter.start(store.books.count_documents(selector))
    done = 0
    with store.files.open_upload_stream(
        export_filename(job, file_format), metadata=file_metadata(job)
    ) as upload:
        upload.write(header_line(file_format).encode())
        for book in store.books.find(selector).sort(sort_order(filters).mongo_sort()):
            upload.write(book_line(book, file_format).encode())
            done += 1
            reporter.advance(done)
        file_id = upload._id
    reporter.advance(done, force=True)
    return ExportResult(file_id=str(file_id), format=file_format.name, count=done)
