"""A worker killed mid-import: the task is redelivered and the job ends with exact counts."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

from quart.typing import TestClientProtocol as Client

from bookapi.jobs.demo import demo_file
from settings import TestingConfig
from tests.conftest import direct_database
from tests.test_jobs import CSV, count_books, submit_import, wait_for_job, with_bad_rows
from tests.workers import start_worker, stop_worker, worker_environment

ROWS = 6000
# Short, so the killed worker's unacknowledged task comes back within the test.
VISIBILITY_SECONDS = "4"


async def test_killed_worker_mid_import_still_succeeds_with_exact_counts(
    client: Client, settings: TestingConfig, tmp_path: Path, mint_token: object
) -> None:
    headers = {"Authorization": f"Bearer {await mint_token('5' * 24)}"}  # type: ignore[operator]
    env = worker_environment(
        settings, IMPORT_BATCH_SIZE="200", CELERY_VISIBILITY_TIMEOUT_SECONDS=VISIBILITY_SECONDS
    )
    body, bad_lines = with_bad_rows(demo_file(ROWS, "csv", seed=21), every=250)
    first = start_worker(env, tmp_path / "first.log", "first")
    try:
        job = await submit_import(client, headers, body, CSV)
        with direct_database(settings) as db:
            jobs = db["jobs"]
            deadline = time.monotonic() + 60
            while True:  # wait until it is well under way, then kill it without warning
                progress = jobs.find_one({}, {"progress": 1, "state": 1})
                if (
                    progress
                    and progress["state"] == "running"
                    and progress["progress"]["done"] > 500
                ):
                    break
                assert time.monotonic() < deadline, progress
                await asyncio.sleep(0.05)
            first.send_signal(signal.SIGKILL)
            first.wait(10)
            stranded = jobs.find_one({})
        assert stranded is not None and stranded["state"] == "running"
        assert 0 < count_books(settings) < ROWS, "the kill should land mid-import"
    finally:
        stop_worker(first)

    second = start_worker(env, tmp_path / "second.log", "second")
    try:
        finished = await wait_for_job(client, headers, job["id"])
    finally:
        stop_worker(second)
    assert finished["state"] == "succeeded", finished
    result = finished["result"]
    assert (result["inserted"], result["skipped"], result["updated"]) == (
        ROWS - len(bad_lines),
        0,
        0,
    )
    assert result["failed"] == len(bad_lines)
    assert [error["line"] for error in result["errors"]] == bad_lines
    assert finished["progress"] == {"done": ROWS, "total": ROWS}
    assert count_books(settings) == ROWS - len(bad_lines)
    with direct_database(settings) as db:
        job_record = db["jobs"].find_one({})
    assert job_record is not None and job_record["attempts"] == 2
