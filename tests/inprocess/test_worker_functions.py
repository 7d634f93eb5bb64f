"""The importer and exporter as plain functions (no Celery), on the real database server.

The same functions also run inside real worker processes in test_jobs.py; here each rule
is pinned down directly: counts, duplicates within and across batches, reruns, order.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Mapping, Sequence

import pytest
from bson import ObjectId
from pymongo import monitoring
from pymongo.errors import InvalidOperation

from bookapi.domain.books.demo import demo_books, demo_file
from bookapi.domain.books.documents import new_book_document
from bookapi.domain.books.files import CSV, JSON_LINES, Row, read_rows
from bookapi.domain.books.isbn import isbn13_check_digit
from bookapi.domain.jobs.records import OnConflict, StoredJob, new_export_job, new_import_job
from bookapi.worker.exporter import run_export
from bookapi.worker.importer import BatchWriter, ImportCounts, import_rows, validate_row
from bookapi.worker.progress import ProgressReporter
from bookapi.worker.runner import execute_job
from bookapi.worker.store import WorkerStore
from settings import TestingConfig

OWNER = "b" * 24


def import_job(store: WorkerStore, on_conflict: str = "skip", admin: bool = False) -> StoredJob:
    mode: OnConflict = "update" if on_conflict == "update" else "skip"
    job = new_import_job(OWNER, JSON_LINES, mode, owner_is_admin=admin)
    store.jobs.insert_one(job)
    return job


def run_rows(
    store: WorkerStore,
    job: StoredJob,
    rows: Sequence[Row],
    batch_size: int = 2,
    bulk_updates: bool | None = None,
) -> ImportCounts:
    counts = ImportCounts()
    writer = BatchWriter(store, job, counts, bulk_updates)
    import_rows(iter(rows), writer, ProgressReporter(store, job), batch_size)
    return counts


def rows_of(*books: Mapping[str, object]) -> list[Row]:
    return [(line, dict(book)) for line, book in enumerate(books, start=1)]


def test_validate_row_applies_the_post_rules() -> None:
    valid = validate_row({"isbn": "0-441-01359-7", "title": " Dune ", "authors": ["F. H."]})
    assert valid == {
        "isbn": "9780441013593",
        "title": "Dune",
        "authors": ["F. H."],
        "published_year": None,
        "publisher": None,
        "language": None,
        "pages": None,
        "tags": [],
        "description": None,
    }
    assert validate_row("the line is not a JSON object") == "the line is not a JSON object"
    reason = validate_row({"isbn": "9780441013594", "title": "x", "authors": ["a"]})
    assert isinstance(reason, str) and reason.startswith("isbn:")
    assert "Extra inputs" in str(
        validate_row({"isbn": "0441013597", "title": "x", "authors": ["a"], "role": 1})
    )


def test_import_counts_inserts_failures_and_duplicates_in_one_file(store: WorkerStore) -> None:
    dune = {"isbn": "0441013597", "title": "Dune", "authors": ["Frank Herbert"]}
    rows = rows_of(dune, {"title": "no isbn"}, dict(dune, title="Dune again"))
    counts = run_rows(store, import_job(store), rows)
    assert (counts.inserted, counts.skipped, counts.failed) == (1, 1, 1)
    assert counts.errors[0]["line"] == 2
    assert store.books.count_documents({}) == 1
    assert [book["title"] for book in store.books.find({})] == ["Dune"]


def test_an_update_import_obeys_the_owner_rule_and_admins_may_change_any(
    store: WorkerStore,
) -> None:
    existing = new_book_document(
        {"isbn": "9780441013593", "title": "Old", "authors": ["A"]}, "c" * 24
    )
    store.books.insert_one(existing)
    rows = rows_of(
        {"isbn": "9780143039433", "title": "Other", "authors": ["C"]},
        {"isbn": "0441013597", "title": "New", "authors": ["B"]},
    )
    refused = run_rows(store, import_job(store, "update"), rows)
    assert (refused.inserted, refused.updated, refused.failed) == (1, 0, 1)
    assert refused.errors == [
        {"line": 2, "error": "not yours: a book with this ISBN belongs to another user"}
    ]
    assert store.books.find_one({"_id": existing["_id"]}) == existing, "left unchanged"
    counts = run_rows(store, import_job(store, "update", admin=True), rows[1:])
    assert (counts.inserted, counts.updated, counts.failed) == (0, 1, 0)
    book = store.books.find_one({"_id": existing["_id"]})
    assert book is not None
    assert (book["title"], book["title_key"], book["created_by"], book["version"]) == (
        "New",
        "new",
        "c" * 24,
        2,
    )


@pytest.mark.parametrize("bulk_updates", [True, False])
def test_conflicts_are_found_by_the_unique_index_and_updated_in_either_way(
    store: WorkerStore, bulk_updates: bool
) -> None:
    books = list(demo_books(5, seed=6))
    for book in books[:2]:
        store.books.insert_one(new_book_document(book, OWNER))
    changed = [dict(book, title=f"Changed {n}") for n, book in enumerate(books)]
    counts = run_rows(store, import_job(store, "update"), rows_of(*changed), 10, bulk_updates)
    assert (counts.inserted, counts.updated, counts.skipped) == (3, 2, 0)
    titles = sorted(book["title"] for book in store.books.find({}))
    assert titles == [f"Changed {n}" for n in range(5)]
    assert store.books.count_documents({"version": 2}) == 2


def test_a_rerun_of_the_same_job_counts_its_own_books_as_inserted(store: WorkerStore) -> None:
    job = import_job(store)
    rows: list[Row] = [(n, dict(book)) for n, book in enumerate(demo_books(7, seed=2), start=1)]
    job["attempts"] = 1
    first = run_rows(store, job, rows[:4])  # an attempt that died after 4 rows
    job["attempts"] = 2
    again = run_rows(store, job, [*rows, rows[0]])  # the redelivery; the file repeats a row
    assert first.inserted == 4
    assert (again.inserted, again.skipped) == (7, 1)
    other_job = run_rows(store, import_job(store), rows)
    assert (other_job.inserted, other_job.skipped) == (0, 7)


class InsertsInFlight(monitoring.CommandListener):
    """How many insert commands have been sent and not yet answered."""

    def __init__(self) -> None:
        self.open = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.open += event.command_name == "insert"

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        self.open -= event.command_name == "insert"

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self.open -= event.command_name == "insert"


def new_store(settings: TestingConfig) -> WorkerStore:
    store = WorkerStore(settings)
    store.ensure_book_indexes()  # duplicates are found by the unique ISBN index
    return store


def test_the_next_batch_is_read_while_one_is_written_and_counts_stay_exact(
    settings: TestingConfig,
) -> None:
    inserts = InsertsInFlight()
    monitoring.register(inserts)  # for the clients made from now on: this store's
    store = new_store(settings)
    try:
        books = list(demo_books(600, seed=12))
        store.books.insert_one(new_book_document(books[450], OWNER))  # a conflict, late on
        read_while_writing = 0

        def rows() -> Iterator[Row]:
            nonlocal read_while_writing
            for line, book in enumerate([*books, books[3]], start=1):  # and a repeat
                read_while_writing += inserts.open > 0
                yield line, dict(book)

        job = import_job(store)
        counts = ImportCounts()
        import_rows(rows(), BatchWriter(store, job, counts), ProgressReporter(store, job), 100)
        assert read_while_writing > 0, "every row was read with no insert out"
        assert (counts.inserted, counts.skipped, counts.failed) == (599, 2, 0)
        assert store.books.count_documents({}) == 600
        assert inserts.open == 0
    finally:
        store.db.client.close()
        store.redis.close()


def test_a_batch_that_cannot_be_written_fails_the_import(
    settings: TestingConfig, store: WorkerStore
) -> None:
    closed = new_store(settings)
    job = import_job(store)
    writer = BatchWriter(closed, job, ImportCounts())
    closed.db.client.close()  # the driver refuses its every later command: the inserts
    closed.redis.close()
    rows = rows_of(*demo_books(5, seed=13))
    with pytest.raises(InvalidOperation):
        import_rows(iter(rows), writer, ProgressReporter(store, job), 2)  # progress: open
    assert writer.writing is None or writer.writing[1].done()
    assert store.books.count_documents({}) == 0


def test_execute_job_imports_the_uploaded_file_and_records_the_outcome(
    store: WorkerStore,
) -> None:
    job = new_import_job(OWNER, CSV, "skip")
    job["params"]["file_id"] = store.files.upload_from_stream(
        "x.csv", io.BytesIO(demo_file(30, CSV))
    )
    store.jobs.insert_one(job)
    seen: list[tuple[int, int | None]] = []
    execute_job(store, str(job["_id"]), on_progress=lambda done, total: seen.append((done, total)))
    finished = store.jobs.find_one({"_id": job["_id"]})
    assert finished is not None and finished["state"] == "succeeded"
    assert finished["result"] == {
        "inserted": 30,
        "updated": 0,
        "skipped": 0,
        "failed": 0,
        "errors": [],
    }
    assert finished["progress"] == {"done": 30, "total": 30} and finished.get("attempts") == 1
    assert seen[0] == (0, 30) and seen[-1] == (30, 30)
    # The upload is deleted once its job has ended, chunks included; the lease is released.
    assert store.db["fs.files"].count_documents({}) == 0
    assert store.db["fs.chunks"].count_documents({}) == 0
    assert "run_id" not in finished
    execute_job(store, str(job["_id"]))  # a redelivery of an ended job does nothing
    assert store.jobs.find_one({"_id": job["_id"]}) == finished


def test_odd_number_cells_fail_their_row_and_nothing_else(store: WorkerStore) -> None:
    lines = ["isbn,title,authors,published_year,pages"]
    for n, cell in enumerate(["--5", "²", "٣", "9" * 40, "1e3", " 12 ", "NaN"]):
        body = f"9780143039{n:02d}"  # twelve digits, distinct
        lines.append(f"{body}{isbn13_check_digit(body)},Title {n},Someone,{cell},100")
    job = new_import_job(OWNER, CSV, "skip")
    data = io.BytesIO(("\n".join(lines) + "\n").encode())
    job["params"]["file_id"] = store.files.upload_from_stream("odd.csv", data)
    store.jobs.insert_one(job)
    execute_job(store, str(job["_id"]))
    finished = store.jobs.find_one({"_id": job["_id"]})
    assert finished is not None and finished["state"] == "succeeded", finished
    assert finished["result"] is not None
    assert (finished["result"]["inserted"], finished["result"]["failed"]) == (1, 6)
    assert [book["published_year"] for book in store.books.find({})] == [12]


def test_execute_job_fails_a_bad_header_without_writing(store: WorkerStore) -> None:
    job = new_import_job(OWNER, CSV, "skip")
    job["params"]["file_id"] = store.files.upload_from_stream(
        "x.csv", io.BytesIO(b"isbn,colour\n1,red\n")
    )
    store.jobs.insert_one(job)
    execute_job(store, str(job["_id"]))
    failed = store.jobs.find_one({"_id": job["_id"]})
    assert failed is not None and failed["state"] == "failed"
    assert (
        failed["error"]
        == "bad CSV header (unknown columns: colour; missing columns: title, authors)"
    )
    assert store.books.count_documents({}) == 0


def test_export_writes_the_filtered_books_in_list_order_and_reruns_cleanly(
    store: WorkerStore,
) -> None:
    for book in demo_books(40, seed=4):
        store.books.insert_one(new_book_document(book, OWNER))
    job = new_export_job(OWNER, JSON_LINES, {"language": "en", "sort": "title"})
    store.jobs.insert_one(job)
    for _ in range(2):  # the second run is a redelivery: it replaces the first file
        result = run_export(store, job, ProgressReporter(store, job))
    assert store.db["fs.files"].count_documents({"metadata.job_id": job["_id"]}) == 1
    content = store.files.open_download_stream(ObjectId(result["file_id"])).read()
    exported = [json.loads(line) for line in content.decode().splitlines()]
    english = [b for b in demo_books(40, seed=4) if b.get("language") == "en"]
    assert result["count"] == len(exported) == len(english) > 0
    titles = [book["title"].casefold() for book in exported]
    assert titles == sorted(titles)
    assert [row for _, row in read_rows(io.BytesIO(content), JSON_LINES)] == exported


class WriteCounter(monitoring.CommandListener):
    """Counts the writes to the books a client sends (a row at a time shows as one per row)."""

    def __init__(self) -> None:
        self.writes = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command.get(event.command_name) == "books" and event.command_name in (
            "update",
            "insert",
        ):
            self.writes += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        return None

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        return None


def test_a_resumed_import_reclaims_its_rows_a_batch_at_a_time(settings: TestingConfig) -> None:
    counter = WriteCounter()
    monitoring.register(counter)  # for the clients made from now on: this store's
    store = new_store(settings)
    try:
        job = import_job(store)
        rows: list[Row] = [(n, dict(book)) for n, book in enumerate(demo_books(600), start=1)]
        job["attempts"] = 1
        run_rows(store, job, rows, batch_size=100)
        job["attempts"] = 2
        before = counter.writes
        resumed = run_rows(store, job, rows, batch_size=100)  # every row inserted before
        skipped = run_rows(store, import_job(store), rows, batch_size=100)  # another job: skip
        assert (resumed.inserted, skipped.skipped) == (600, 600)
        # Per batch of 100: one insert (refused by the unique index) and one re-claim.
        assert counter.writes - before <= 6 * 2 + 6, counter.writes - before
    finally:
        store.db.client.close()
        store.redis.close()
