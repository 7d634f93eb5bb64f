"""A worker killed mid-import: the reaper requeues the job, which ends with exact counts."""

from __future__ import annotations

import signal
from pathlib import Path

from quart.typing import TestClientProtocol as Client

from bookapi.domain.books.demo import demo_file
from bookapi.domain.books.files import CSV as CSV_FILE
from settings import TestingConfig
from tests.helpers import (
    CSV,
    FAST_REAPER,
    count_books,
    direct_database,
    start_beat,
    start_worker,
    stop_worker,
    submit_import,
    wait_for_job,
    wait_until,
    with_bad_rows,
    worker_environment,
)

ROWS = 6000


async def test_killed_worker_mid_import_still_succeeds_with_exact_counts(
    client: Client, settings: TestingConfig, tmp_path: Path, mint_token: object
) -> None:
    headers = {"Authorization": f"Bearer {await mint_token('5' * 24)}"}  # type: ignore[operator]
    # The broker's visibility timeout stays at hours: only the reaper can bring the job back.
    env = worker_environment(settings, IMPORT_BATCH_SIZE="200", **FAST_REAPER)
    body, bad_lines = with_bad_rows(demo_file(ROWS, CSV_FILE, seed=21), every=250)
    first = start_worker(env, tmp_path / "first.log", "first")
    try:
        job = await submit_import(client, headers, body, CSV)
        with direct_database(settings) as db:
            jobs = db["jobs"]

            async def well_under_way() -> bool:
                job = jobs.find_one({}, {"progress": 1, "state": 1})
                return bool(job and job["state"] == "running" and job["progress"]["done"] > 500)

            await wait_until(well_under_way, 60, "the import to be well under way")
            first.send_signal(signal.SIGKILL)  # without warning
            first.wait(10)
            stranded = jobs.find_one({})
        assert stranded is not None and stranded["state"] == "running"
        assert 0 < count_books(settings) < ROWS, "the kill should land mid-import"
    finally:
        stop_worker(first)

    second = start_worker(env, tmp_path / "second.log", "second")
    beat = start_beat(env, tmp_path / "beat.log")
    try:
        finished = await wait_for_job(client, headers, job["id"])
    finally:
        stop_worker(beat)
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
    assert job_record["lapses"] == 1, "reaped exactly once"
    assert "requeued" in (tmp_path / "second.log").read_text()
