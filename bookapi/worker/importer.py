"""Bulk import: read CSV / JSON Lines row by row, validate like POST /books, insert in batches.

Idempotent: a redelivered import runs again from the start and ends with the same books
and the same counts. Books it inserts carry the job's id, so a rerun counts a book that
an earlier, interrupted attempt of the same job inserted as inserted, not as skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import IO, Any, TypedDict

from pydantic import ValidationError
from pymongo import UpdateOne
from pymongo.errors import BulkWriteError

from ..domain.books.book_schemas import BookFields, BookIn
from ..domain.books.documents import StoredBook, changed_fields_update, new_book_document
from ..domain.books.files import FORMATS, BookFileFormat, Row, count_rows, read_rows
from ..domain.jobs.records import StoredJob
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
    except (ValueError, TypeError, OverflowError) as error:
        return f"the row cannot be read: {error}"  # never the whole import's end


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
            errors=sorted(self.errors, key=lambda error: error["line"]),
        )


class BatchWriter:
    """Writes valid rows in batches at the driver's speed and keeps the counts exact.

    Each batch goes in as one unordered insert_many and the unique ISBN index decides
    which rows exist already: no query before a batch, nothing remembered across batches,
    so memory stays flat whatever the file's size. Only the rows the index refused are
    looked up, to tell three cases apart: a book an earlier attempt of this job inserted
    (counted as inserted, so a redelivered job ends with the same counts), and otherwise
    skip or update as `on_conflict` says.

    A batch is written on a thread of its own while the next one is read and validated:
    the insert waits on the database and the reading wants the CPU, so the import takes
    about as long as its inserts alone. One batch at most is being written, and it is
    counted and its conflicts resolved before the next one starts: batches act in file
    order, as if written one after another.
    """

    def __init__(
        self,
        store: WorkerStore,
        job: StoredJob,
        counts: ImportCounts,
        bulk_updates: bool | None = None,
    ):
        self.store = store
        self.books = store.books
        self.job_id = job["_id"]
        self.attempt = job.get("attempts", 1)
        self.owner = job["created_by"]
        self.update = job["params"].get("on_conflict") == "update"
        self.counts = counts
        # FerretDB v1 runs a bulk of updates orders of magnitude slower than the same
        # updates one by one, so there the updates go one at a time.
        self.bulk_updates = store.quirks.fast_bulk_updates if bulk_updates is None else bulk_updates
        # The owner rule of PUT: an update may change only the owner's books, unless an
        # admin submitted the import.
        self.may_change_any = bool(job["params"].get("owner_is_admin", False))
        self.batch: dict[str, tuple[int, BookFields]] = {}  # by ISBN: (line, fields)
        self.inserter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-insert")
        self.writing: tuple[list[tuple[int, BookFields]], Future[list[Any]]] | None = None

    def add(self, line: int, fields: BookFields) -> None:
        if fields["isbn"] in self.batch:
            self.flush()  # the same ISBN twice: the later row must act after the earlier
        self.batch[fields["isbn"]] = (line, fields)

    def _new_document(self, fields: BookFields) -> StoredBook:
        document = new_book_document(fields, self.owner, self.job_id)
        document["import_attempt"] = self.attempt
        return document

    def _claim_from_earlier_attempts(self, isbns: list[str]) -> set[str]:
        """The ISBNs among `isbns` that an earlier attempt of this job inserted; they now
        belong to this attempt (so a second row with one of them in this attempt is a
        duplicate, not an insert). One query and one update for the whole batch: a resumed
        or redelivered job re-claims its rows at batch speed."""
        if not isbns:
            return set()
        earlier = {"import_job": self.job_id, "import_attempt": {"$ne": self.attempt}}
        found = self.books.find({"isbn": {"$in": isbns}, **earlier}, {"isbn": 1})
        claimed = {book["isbn"] for book in found}
        if claimed:
            self.books.update_many(
                {"isbn": {"$in": sorted(claimed)}, **earlier},
                {"$set": {"import_attempt": self.attempt}},
            )
        return claimed

    def _others_books(self, conflicts: list[tuple[int, BookFields]]) -> set[str]:
        """The ISBNs among `conflicts` whose books the job's owner may not change."""
        if not self.update or self.may_change_any:
            return set()
        isbns = [fields["isbn"] for _, fields in conflicts]
        found = self.books.find({"isbn": {"$in": isbns}}, {"isbn": 1, "created_by": 1})
        return {book["isbn"] for book in found if book["created_by"] != self.owner}

    def _resolve_conflicts(self, conflicts: list[tuple[int, BookFields]]) -> None:
        updates: list[tuple[dict[str, object], dict[str, object]]] = []
        not_yours = self._others_books(conflicts)
        claimed = self._claim_from_earlier_attempts([fields["isbn"] for _, fields in conflicts])
        for line, fields in conflicts:
            if fields["isbn"] in claimed:
                self.counts.inserted += 1
            elif not self.update:
                self.counts.skipped += 1
                continue
            elif fields["isbn"] in not_yours:
                self.counts.fail(line, "not yours: a book with this ISBN belongs to another user")
                continue
            else:
                self.counts.updated += 1
            if self.update:
                updates.append(({"isbn": fields["isbn"]}, changed_fields_update(fields)))
        if not updates:
            return
        if self.bulk_updates:
            self.books.bulk_write([UpdateOne(*update) for update in updates], ordered=False)
        else:
            for selector, change in updates:
                self.books.update_one(selector, change)
        isbns = [selector["isbn"] for selector, _ in updates]
        changed = self.books.find({"isbn": {"$in": isbns}}, {"_id": 1})
        self.store.announce_book_changes([str(book["_id"]) for book in changed])

    def _insert(self, documents: list[StoredBook]) -> list[Any]:
        """Insert one batch; the write errors of the rows the unique index refused."""
        try:
            self.books.insert_many(documents, ordered=False)
        except BulkWriteError as error:
            refused: list[Any] = error.details["writeErrors"]
            if any(failure.get("code") != 11000 for failure in refused):
                raise
            return refused
        return []

    def flush(self) -> None:
        """Start writing the batch, once the batch before it is written and counted."""
        rows = list(self.batch.values())
        self.batch = {}
        documents = [self._new_document(fields) for _, fields in rows]
        self.settle()
        if rows:
            self.writing = (rows, self.inserter.submit(self._insert, documents))

    def settle(self) -> None:
        """Wait for the batch being written, count it and resolve the rows it had refused."""
        if self.writing is None:
            return
        rows, write = self.writing
        self.writing = None
        refused = write.result()  # its error, if the insert failed, fails the import here
        self.counts.inserted += len(rows) - len(refused)
        if len(refused) < len(rows):
            self.store.announce_book_changes(["*"])  # new books: list pages changed
        self._resolve_conflicts([rows[failure["index"]] for failure in refused])

    def finish(self) -> None:
        """Write what is left and wait for it."""
        self.flush()
        self.settle()

    def close(self) -> None:
        self.inserter.shutdown()


def uploaded_file(store: WorkerStore, job: StoredJob) -> tuple[IO[bytes], BookFileFormat]:
    """The job's uploaded file, streamed from GridFS, and its format."""
    params = job["params"]
    return store.files.open_download_stream(params["file_id"]), FORMATS[params["format"]]


def uploaded_rows(store: WorkerStore, job: StoredJob) -> Iterator[Row]:
    """The rows of the job's uploaded file."""
    return read_rows(*uploaded_file(store, job))


def import_rows(
    rows: Iterator[Row], writer: BatchWriter, reporter: ProgressReporter, batch_size: int
) -> None:
    """Validate and write every row; a bad row is counted and reported, never fatal."""
    done = 0
    try:
        for line, raw in rows:
            fields = validate_row(raw)
            if isinstance(fields, str):
                writer.counts.fail(line, fields)
            else:
                writer.add(line, fields)
            done += 1
            if len(writer.batch) >= batch_size:
                writer.flush()
            reporter.advance(done)  # throttled inside
        writer.finish()
    finally:
        writer.close()
    reporter.advance(done, force=True)


def run_import(store: WorkerStore, job: StoredJob, reporter: ProgressReporter) -> ImportResult:
    store.ensure_book_indexes()  # duplicates are found by the unique ISBN index
    reporter.start(count_rows(*uploaded_file(store, job)))
    counts = ImportCounts()
    writer = BatchWriter(store, job, counts)
    import_rows(uploaded_rows(store, job), writer, reporter, store.settings.IMPORT_BATCH_SIZE)
    return counts.as_result()
