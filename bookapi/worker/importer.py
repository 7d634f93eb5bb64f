"""Bulk import: read CSV / JSON Lines row by row, validate like POST /books, insert in batches.

Idempotent: a redelivered import runs again from the start and ends with the same books
and the same counts. Books it inserts carry the job's id, so a rerun counts a book that
an earlier, interrupted attempt of the same job inserted as inserted, not as skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TypedDict

from pydantic import ValidationError
from pymongo.collection import Collection
from pymongo.errors import BulkWriteError

from ..books.documents import StoredBook, changed_fields_update, new_book_document
from ..books.files import FORMATS, Row, read_rows
from ..books.schemas import BookFields, BookIn
from ..jobs.records import StoredJob
from .progress import ProgressReporter
from .store import WorkerStore

MAX_REPORTED_ERRORS = 1000


class RowError(TypedDict):
    line: int
    error: str


class ImportResult(TypedDict):
    inserted: int
    updated: int
    skipped: int
    failed: int
    errors: list[RowError]


def validate_row(fields: dict[str, object] | str) -> BookFields | str:
    """The fields as POST /books would store them, or why they are invalid."""
    if isinstance(fields, str):
        return fields
    try:
        return BookIn.model_validate(fields).fields()
    except ValidationError as error:
        return "; ".join(
            f"{'.'.join(str(part) for part in item['loc']) or 'row'}: {item['msg']}"
            for item in error.errors(include_url=False)
        )


@dataclass
class ImportCounts:
    inserted: int = 0
    updated: int = 0
    skipped: int = 0
    failed: int = 0
    errors: list[RowError] = field(default_factory=list)

    def fail(self, line: int, reason: str) -> None:
        self.failed += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append({"line": line, "error": reason})

    def as_result(self) -> ImportResult:
        return ImportResult(
            inserted=self.inserted,
            updated=self.updated,
            skipped=self.skipped,
            failed=self.failed,
            errors=self.errors,
        )


class BatchWriter:
    """Writes valid rows in batches and keeps the counts exact."""

    def __init__(self, books: Collection[StoredBook], job: StoredJob, counts: ImportCounts):
        self.books = books
        self.job_id = job["_id"]
        self.owner = job["created_by"]
        self.update = job["params"].get("on_conflict") == "update"
        self.counts = counts
        self.seen: set[str] = set()  # ISBNs handled earlier in this run
        self.batch: dict[str, BookFields] = {}

    def add(self, fields: BookFields) -> None:
        if fields["isbn"] in self.batch:
            self.flush()  # the same ISBN twice: the later row must act after the earlier
        self.batch[fields["isbn"]] = fields

    def _change(self, selector: dict[str, object], fields: BookFields) -> None:
        # One update_one per book, not a multi-statement bulk: FerretDB v1 runs a bulk
        # of updates orders of magnitude slower than the same updates one by one.
        self.books.update_one(selector, changed_fields_update(fields))

    def _insert(self, new_books: list[BookFields]) -> None:
        documents = [new_book_document(fields, self.owner, self.job_id) for fields in new_books]
        try:
            self.books.insert_many(documents, ordered=False)
            self.counts.inserted += len(documents)
        except BulkWriteError as error:
            taken = [e["index"] for e in error.details["writeErrors"] if e.get("code") == 11000]
            if len(taken) != len(error.details["writeErrors"]):
                raise
            self.counts.inserted += len(documents) - len(taken)
            # Someone created these ISBNs since we looked: they now exist.
            for index in taken:
                if self.update:
                    self.counts.updated += 1
                    self._change({"isbn": new_books[index]["isbn"]}, new_books[index])
                else:
                    self.counts.skipped += 1

    def flush(self) -> None:
        if not self.batch:
            return
        isbns = list(self.batch)
        existing = {
            book["isbn"]: book
            for book in self.books.find({"isbn": {"$in": isbns}}, {"isbn": 1, "import_job": 1})
        }
        new_books = []
        for isbn, fields in self.batch.items():
            book = existing.get(isbn)
            if book is None:
                new_books.append(fields)
                continue
            if book.get("import_job") == self.job_id and isbn not in self.seen:
                self.counts.inserted += 1  # an interrupted attempt of this job inserted it
            elif self.update:
                self.counts.updated += 1
            else:
                self.counts.skipped += 1
                continue
            if self.update:
                self._change({"_id": book["_id"]}, fields)
        if new_books:
            self._insert(new_books)
        self.seen.update(isbns)
        self.batch = {}


def uploaded_rows(store: WorkerStore, job: StoredJob) -> Iterator[Row]:
    """The rows of the job's uploaded file, streamed from GridFS."""
    params = job["params"]
    return read_rows(store.files.open_download_stream(params["file_id"]), FORMATS[params["format"]])


def import_rows(
    rows: Iterator[Row], writer: BatchWriter, reporter: ProgressReporter, batch_size: int
) -> None:
    """Validate and write every row; a bad row is counted and reported, never fatal."""
    done = 0
    for line, raw in rows:
        fields = validate_row(raw)
        if isinstance(fields, str):
            writer.counts.fail(line, fields)
        else:
            writer.add(fields)
        done += 1
        if len(writer.batch) >= batch_size:
            writer.flush()
        reporter.advance(done)  # throttled inside
    writer.flush()
    reporter.advance(done, force=True)


def run_import(store: WorkerStore, job: StoredJob, reporter: ProgressReporter) -> ImportResult:
    reporter.start(sum(1 for _ in uploaded_rows(store, job)))
    counts = ImportCounts()
    writer = BatchWriter(store.books, job, counts)
    import_rows(uploaded_rows(store, job), writer, reporter, store.settings.IMPORT_BATCH_SIZE)
    return counts.as_result()
