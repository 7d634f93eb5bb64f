"""Import throughput: the worker's import against the driver's raw unordered insert_many of the
same books, each into an empty collection with the same indexes; and the import's memory."""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from dataclasses import dataclass

from bookapi.domain.books.demo import demo_books
from bookapi.domain.books.documents import BOOK_INDEXES, new_book_document
from bookapi.domain.books.files import JSON_LINES, book_line
from bookapi.domain.jobs.records import new_import_job
from bookapi.worker.runner import execute_job
from bookapi.worker.store import WorkerStore
from settings import load_settings

OWNER = "0" * 24


@dataclass
class ImportResult:
    rows: int
    raw_seconds: float
    import_seconds: float
    rss_mb: tuple[float, float] | None  # peak RSS importing the small and the large file

    @property
    def rss_growth_mb(self) -> float | None:
        return None if self.rss_mb is None else self.rss_mb[1] - self.rss_mb[0]


def fresh_store(database: str) -> WorkerStore:
    settings = load_settings()
    settings.MONGO_DB = database
    store = WorkerStore(settings)
    store.db.client.drop_database(database)
    store.books.create_indexes(BOOK_INDEXES)
    return store


def time_raw_insert(rows: int, seed: int) -> float:
    store = fresh_store("bench_raw_insert")
    documents = [new_book_document(book, OWNER) for book in demo_books(rows, seed)]
    started = time.perf_counter()
    store.books.insert_many(documents, ordered=False)
    return time.perf_counter() - started


def time_import(rows: int, seed: int, database: str = "bench_import") -> float:
    """Seconds the worker's import of `rows` new books takes (the job runner, no Celery)."""
    store = fresh_store(database)
    job = new_import_job(OWNER, JSON_LINES, "skip")
    # Streamed line by line: the file never sits whole in this process's memory.
    with store.files.open_upload_stream("bench.jsonl") as upload:
        for book in demo_books(rows, seed):
            upload.write(book_line(book, JSON_LINES).encode())
        job["params"]["file_id"] = upload._id
    store.jobs.insert_one(job)
    started = time.perf_counter()
    execute_job(store, str(job["_id"]))
    elapsed = time.perf_counter() - started
    finished = store.jobs.find_one({"_id": job["_id"]})
    assert finished is not None and finished["result"] is not None, finished
    assert finished["result"]["inserted"] == rows, finished["result"]
    return elapsed


def peak_rss_mb(rows: int) -> float:
    """Peak RSS of a fresh process that imports `rows` books."""
    argv = [sys.executable, "-m", "bench.imports", "--rss", str(rows)]
    output = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    return float(json.loads(output.splitlines()[-1])["peak_rss_mb"])


def measure_imports(rows: int, small: int | None, large: int | None) -> ImportResult:
    raw = time_raw_insert(rows, seed=77)
    imported = time_import(rows, seed=77)
    rss = (peak_rss_mb(small), peak_rss_mb(large)) if small and large else None
    return ImportResult(rows, raw, imported, rss)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rss", type=int, required=True, help="import this many rows")
    args = parser.parse_args()
    time_import(args.rss, seed=78, database="bench_import_rss")
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"peak_rss_mb": peak_kb / 1024}))


if __name__ == "__main__":
    main()
