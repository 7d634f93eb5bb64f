"""No job left behind: hand-off on SIGTERM, the heartbeat lease, the reaper and retention.

Real worker processes for the shutdown hand-off; the lease, reaper and retention rules as
functions on the real database server (the reaper also runs under Celery beat in
test_jobs_crash.py).
"""

from __future__ import annotations

import io
import signal
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from bson import ObjectId
from quart.typing import TestClientProtocol as Client

from bookapi.domain.books.demo import demo_file
from bookapi.domain.books.files import CSV as CSV_FILE
from bookapi.domain.jobs.records import StoredJob, new_export_job, new_import_job
from bookapi.domain.timestamps import utc_now
from bookapi.worker.lease import Lease
from bookapi.worker.reaper import reap_stalled_jobs
from bookapi.worker.retention import purge_expired_jobs
from bookapi.worker.runner import start_job
from bookapi.worker.store import WorkerStore
from settings import TestingConfig
from tests.helpers import (
    CSV,
    MintToken,
    count_books,
    direct_database,
    make_settings,
    start_worker,
    stop_worker,
    submit_import,
    wait_for_job,
    wait_until,
    with_bad_rows,
    worker_environment,
)

OWNER = "e" * 24
ROWS = 6000


@pytest.mark.parametrize("pool", ["solo", "prefork"])
async def test_sigterm_mid_import_hands_the_job_to_another_worker(
    client: Client, settings: TestingConfig, tmp_path: Path, mint_token: MintToken, pool: str
) -> None:
    headers = {"Authorization": f"Bearer {await mint_token(OWNER)}"}
    env = worker_environment(settings, IMPORT_BATCH_SIZE="200")
    body, bad_lines = with_bad_rows(demo_file(ROWS, CSV_FILE, seed=33), every=300)
    first = start_worker(env, tmp_path / "first.log", "first", pool)
    second = None
    try:
        job = await submit_import(client, headers, body, CSV)
        with direct_database(settings) as db:

            async def well_under_way() -> bool:
                record = db["jobs"].find_one({}, {"progress": 1, "state": 1})
                return bool(
                    record and record["state"] == "running" and record["progress"]["done"] > 500
                )

            await wait_until(well_under_way, 60, "the import to be well under way")
            first.send_signal(signal.SIGTERM)  # what an orchestrator sends before a kill
            # A warm shutdown that waited for the whole import would take far longer.
            assert first.wait(20) == 0
            handed_back = db["jobs"].find_one({})
        assert handed_back is not None and handed_back["state"] == "queued", handed_back
        assert 0 < count_books(settings) < ROWS, "the stop should land mid-import"
        assert "handed back" in (tmp_path / "first.log").read_text()

        second = start_worker(env, tmp_path / "second.log", "second", pool)
        finished = await wait_for_job(client, headers, job["id"])
    finally:
        stop_worker(first)
        if second is not None:
            stop_worker(second)
    assert finished["state"] == "succeeded", finished
    result = finished["result"]
    assert (result["inserted"], result["updated"], result["skipped"]) == (
        ROWS - len(bad_lines),
        0,
        0,
    )
    assert [error["line"] for error in result["errors"]] == bad_lines
    assert count_books(settings) == ROWS - len(bad_lines)
    with direct_database(settings) as db:
        record = db["jobs"].find_one({})
        assert record is not None and record["attempts"] == 2 and "lapses" not in record
        assert db["fs.files"].count_documents({}) == 0, "the upload goes when the job ends"


def running_job(store: WorkerStore, beat_age_seconds: float, lapses: int = 0) -> StoredJob:
    """An import job a run took, whose last heartbeat was `beat_age_seconds` ago."""
    job = new_import_job(OWNER, CSV_FILE, "skip")
    job["params"]["file_id"] = store.files.upload_from_stream(
        "upload.csv", io.BytesIO(demo_file(5, CSV_FILE)), metadata={"job_id": job["_id"]}
    )
    job["state"] = "running"
    job["run_id"] = "dead-run"
    job["heartbeat_at"] = utc_now() - timedelta(seconds=beat_age_seconds)
    job["attempts"] = 1
    job["lapses"] = lapses
    store.jobs.insert_one(job)
    return job


def test_racing_reapers_requeue_a_dead_run_exactly_once(
    store: WorkerStore, settings: TestingConfig
) -> None:
    dead = running_job(store, beat_age_seconds=settings.JOB_STALE_SECONDS + 5)
    alive = running_job(store, beat_age_seconds=1)
    sent: list[ObjectId] = []
    stores = [WorkerStore(settings) for _ in range(4)]
    start = threading.Barrier(len(stores))

    def reap(reaper_store: WorkerStore) -> None:
        start.wait()
        reap_stalled_jobs(reaper_store, lambda job: sent.append(job["_id"]))

    threads = [threading.Thread(target=reap, args=(each,)) for each in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sent == [dead["_id"]], "requeued once, and the live run left alone"
    requeued = store.jobs.find_one({"_id": dead["_id"]})
    assert requeued is not None
    assert (requeued["state"], requeued["lapses"], requeued.get("run_id")) == ("queued", 1, None)
    still_running = store.jobs.find_one({"_id": alive["_id"]})
    assert still_running is not None and still_running["state"] == "running"
    # The requeued task takes the job for a new run; a redelivery of the old one cannot.
    taken = start_job(store, dead["_id"])
    assert taken is not None and taken["run_id"] != "dead-run" and taken["attempts"] == 2
    assert start_job(store, dead["_id"]) is None, "a live run is never started twice"
    for each in stores:
        each.db.client.close()


def test_racing_deliveries_start_a_job_once(store: WorkerStore, settings: TestingConfig) -> None:
    """Two deliveries of one task (a redelivery racing the first) take the job once."""
    job = new_import_job(OWNER, CSV_FILE, "skip")
    store.jobs.insert_one(job)
    stores = [WorkerStore(settings) for _ in range(4)]
    start = threading.Barrier(len(stores))
    taken: list[str] = []

    def deliver(worker_store: WorkerStore) -> None:
        start.wait()
        if (run := start_job(worker_store, job["_id"])) is not None:
            taken.append(str(run["run_id"]))

    threads = [threading.Thread(target=deliver, args=(each,)) for each in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    record = store.jobs.find_one({"_id": job["_id"]})
    assert record is not None
    assert len(taken) == 1, f"{len(taken)} runs took the job"
    assert (record["run_id"], record["attempts"]) == (taken[0], 1)
    for each in stores:
        each.db.client.close()


def test_the_reaper_fails_a_job_that_died_too_often_and_drops_its_upload(
    store: WorkerStore, settings: TestingConfig
) -> None:
    job = running_job(store, settings.JOB_STALE_SECONDS + 5, lapses=settings.JOB_MAX_LAPSES - 1)
    sent: list[ObjectId] = []
    report = reap_stalled_jobs(store, lambda job: sent.append(job["_id"]))
    assert report is not None and report.failed == [str(job["_id"])] and sent == []
    failed = store.jobs.find_one({"_id": job["_id"]})
    assert failed is not None and failed["state"] == "failed"
    assert "stopped responding 3 times" in (failed["error"] or "")
    assert store.db["fs.files"].count_documents({}) == 0
    assert store.db["fs.chunks"].count_documents({}) == 0


def test_a_queued_job_whose_requeue_was_lost_is_sent_again_once(store: WorkerStore) -> None:
    job = new_import_job(OWNER, CSV_FILE, "skip")
    job["requeued_at"] = utc_now() - timedelta(hours=1)
    store.jobs.insert_one(job)
    sent: list[ObjectId] = []
    reap_stalled_jobs(store, lambda job: sent.append(job["_id"]))
    reap_stalled_jobs(store, lambda job: sent.append(job["_id"]))
    assert sent == [job["_id"]]


def test_a_run_whose_job_was_taken_away_notices_at_its_next_beat(
    store: WorkerStore, settings: TestingConfig
) -> None:
    job = running_job(store, beat_age_seconds=0)
    lease = Lease(store, job, shutdown=None)
    assert lease.beat() is True
    store.jobs.update_one({"_id": job["_id"]}, {"$set": {"run_id": "another-run"}})
    assert lease.beat() is False


def test_retention_purges_ended_jobs_with_their_files_and_keeps_the_rest(
    mongo_uri: str, redis_url: str, database_name: str
) -> None:
    settings = make_settings(mongo_uri, redis_url, database_name, JOB_RETENTION_DAYS=7.0)
    store = WorkerStore(settings)
    try:
        old, recent, running = (new_export_job(OWNER, CSV_FILE, {}) for _ in range(3))
        old["state"], recent["state"], running["state"] = "succeeded", "failed", "running"
        for job, age_days in ((old, 8), (recent, 6), (running, 30)):
            job["updated_at"] = utc_now() - timedelta(days=age_days)
            store.files.upload_from_stream(
                "books.csv", io.BytesIO(b"x" * 600_000), metadata={"job_id": job["_id"]}
            )
            store.jobs.insert_one(job)
        orphan_id = ObjectId()
        store.files.upload_from_stream("gone.csv", io.BytesIO(b"y"), metadata={"job_id": orphan_id})
        # An orphan is purged by upload age; make it look old.
        store.db["fs.files"].update_one(
            {"metadata.job_id": orphan_id}, {"$set": {"uploadDate": utc_now() - timedelta(days=9)}}
        )

        assert purge_expired_jobs(store) == 1
        assert {job["_id"] for job in store.jobs.find()} == {recent["_id"], running["_id"]}
        owners = {grid_file.metadata["job_id"] for grid_file in store.files.find({})}
        assert owners == {recent["_id"], running["_id"]}
        kept_files = [f["_id"] for f in store.db["fs.files"].find()]
        assert store.db["fs.chunks"].count_documents({"files_id": {"$nin": kept_files}}) == 0
        assert purge_expired_jobs(store) == 0
    finally:
        store.db.client.drop_database(database_name)
        store.db.client.close()
        store.redis.close()
