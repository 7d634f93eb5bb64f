"""Bulk import: parse CSV / NDJSON line by line, validate like POST /books, insert in batches.

Idempotent: a redelivered import runs again from the start and ends with the same books
and the same counts. Books it inserts carry the job's id, so a rerun counts a book that
an earlier, interrupted attempt of the same job inserted as inserted, not as skipped.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from gridfs import GridFSBucket
from pydantic import ValidationError
from pymongo.errors import BulkWriteError

from ..repos.books import COLLECTION as BOOKS
from ..repos.books import changed_fields_update, new_book_document
from ..schemas.books import REQUIRED_FIELDS, BookIn
from .failure import JobFailedError
from .progress import ProgressReporter

BOOK_FIELDS = tuple(BookIn.model_fields)
INT_FIELDS = ("published_year", "pages")
LIST_FIELDS = ("authors", "tags")  # `;`-separated in CSV
MAX_REPORTED_ERRORS = 1000
Row = tuple[int, dict[str, Any] | str]  # (line number, fields or the reason it is unreadable)


def _csv_fields(row: dict[str | None, Any]) -> dict[str, Any] | str:
    if None in row:
        return "the row has more values than the header has columns"
    fields: dict[str, Any] = {}
    for name, value in row.items():
        if name is None or value is None or value.strip() == "":
            continue  # an empty cell is an absent field
        if name in LIST_FIELDS:
            fields[name] = [part.strip() for part in value.split(";") if part.strip()]
        elif name in INT_FIELDS and value.strip().lstrip("-").isdigit():
            fields[name] = int(value)
        else:
            fields[name] = value
    return fields


def _csv_rows(text: io.TextIOBase) -> Iterator[Row]:
    reader = csv.DictReader(text)
    columns = reader.fieldnames or []
    unknown = sorted(set(columns) - set(BOOK_FIELDS))
    missing = [name for name in REQUIRED_FIELDS if name not in columns]
    if unknown or missing:
        problems = [f"unknown columns: {', '.join(unknown)}"] if unknown else []
        problems += [f"missing columns: {', '.join(missing)}"] if missing else []
        raise JobFailedError(f"bad CSV header ({'; '.join(problems)})")
    first_line = reader.line_num + 1
    for row in reader:
        yield first_line, _csv_fields(row)
        first_line = reader.line_num + 1


def _ndjson_rows(text: io.TextIOBase) -> Iterator[Row]:
    for number, line in enumerate(text, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError as error:
            yield number, f"not valid JSON: {error}"
            continue
        yield number, value if isinstance(value, dict) else "the line is not a JSON object"


def read_rows(db: Any, file_id: Any, file_format: str) -> Iterator[Row]:
    """Each data row of the uploaded file, streamed from GridFS (never whole in memory)."""
    stream = GridFSBucket(db).open_download_stream(file_id)
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")
    try:
        yield from _csv_rows(text) if file_format == "csv" else _ndjson_rows(text)
    finally:
        text.close()


def validate_row(fields: dict[str, Any] | str) -> dict[str, Any] | str:
    """The fields as POST /books would store them, or why they are invalid."""
    if isinstance(fields, str):
        return fields
    try:
        return BookIn.model_validate(fields).model_dump()
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
    errors: list[dict[str, Any]] = field(default_factory=list)

    def fail(self, line: int, reason: str) -> None:
        self.failed += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append({"line": line, "error": reason})

    def as_result(self) -> dict[str, Any]:
        return {
            "inserted": self.inserted,
            "updated": self.updated,
            "skipped": self.skipped,
            "failed": self.failed,
            "errors": self.errors,
        }


class BatchWriter:
    """Writes valid rows in unordered bulk upserts and keeps the counts exact."""

    def __init__(self, db: Any, job: dict[str, Any], counts: ImportCounts) -> None:
        self.books = db[BOOKS]
        self.job_id = job["_id"]
        self.owner = job["created_by"]
        self.update = job["params"]["on_conflict"] == "update"
        self.counts = counts
        self.seen: set[str] = set()  # ISBNs handled earlier in this run
        self.batch: dict[str, dict[str, Any]] = {}

    def add(self, fields: dict[str, Any]) -> None:
        if fields["isbn"] in self.batch:
            self.flush()  # the same ISBN twice: the later row must act after the earlier
        self.batch[fields["isbn"]] = fields

    def _new_book(self, fields: dict[str, Any]) -> dict[str, Any]:
        document = new_book_document(fields, self.owner)
        document["import_job"] = self.job_id
        return document

    def _change(self, selector: dict[str, Any], fields: dict[str, Any]) -> None:
        # One update_one per book, not a multi-statement bulk: FerretDB v1 runs a bulk
        # of updates orders of magnitude slower than the same updates one by one.
        self.books.update_one(selector, changed_fields_update(fields))

    def _insert(self, documents: list[dict[str, Any]]) -> None:
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
                document = documents[index]
                if self.update:
                    self.counts.updated += 1
                    fields = {name: document.get(name) for name in BOOK_FIELDS}
                    self._change({"isbn": document["isbn"]}, fields)
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
        new_documents = []
        for isbn, fields in self.batch.items():
            book = existing.get(isbn)
            if book is None:
                new_documents.append(self._new_book(fields))
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
        if new_documents:
            self._insert(new_documents)
        self.seen.update(isbns)
        self.batch = {}


def run_import(
    db: Any, job: dict[str, Any], reporter: ProgressReporter, batch_size: int
) -> dict[str, Any]:
    params = job["params"]
    total = sum(1 for _ in read_rows(db, params["file_id"], params["format"]))
    reporter.start(total)
    counts = ImportCounts()
    writer = BatchWriter(db, job, counts)
    done = 0
    for line, raw in read_rows(db, params["file_id"], params["format"]):
        fields = validate_row(raw)
        if isinstance(fields, str):
            counts.fail(line, fields)
        else:
            writer.add(fields)
        done += 1
        if len(writer.batch) >= batch_size:
            writer.flush()
        reporter.advance(done)  # throttled inside
    writer.flush()
    reporter.advance(done, force=True)
    return counts.as_result()
