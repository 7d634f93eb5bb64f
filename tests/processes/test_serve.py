"""`python -m bookapi.serve`: the production entry point refuses a bad configuration before
any server starts, and otherwise serves the app."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from devstack import free_port
from devstack.launch import wait_for_log_line
from settings import PROJECT_DIR, TestingConfig
from tests.helpers import worker_environment
from tests.served import start_api, stop_api, until_ready

# Granian kills a worker that has not stopped by then (bookapi.serve's kill timeout is 20 s).
STOPPED_WITHIN_SECONDS = 15


def test_a_bad_configuration_exits_non_zero_with_the_reason() -> None:
    env = {"PATH": "/usr/bin:/bin", "BOOKAPI_ENV": "production"}  # no JWT_SECRET_KEY
    result = subprocess.run(
        [sys.executable, "-m", "bookapi.serve", "--port", str(free_port())],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "SECRET_KEY is not set" in result.stderr
    assert result.stderr.count("SECRET_KEY") == 1, "said once, not once per worker"


async def test_it_serves_the_app_until_sigterm(settings: TestingConfig, tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    process = start_api(worker_environment(settings), log, port, "--workers", "2")
    try:
        await until_ready(f"http://127.0.0.1:{port}", process, log)
        # Started again (same PID) with the allocators that hand freed memory back.
        environ = Path(f"/proc/{process.pid}/environ").read_bytes().split(b"\0")
        assert b"PYTHONMALLOC=malloc" in environ
        assert b"_RJEM_MALLOC_CONF=dirty_decay_ms:1000,muzzy_decay_ms:0" in environ
    finally:
        assert stop_api(process) == 0, log.read_text()[-2000:]
    # Each worker stopped its services (connections closed, last log lines out) itself.
    assert log.read_text().count("stopped: every connection closed") == 2


def test_a_sigterm_while_the_workers_import_the_app_stops_them(
    settings: TestingConfig, tmp_path: Path
) -> None:
    log = tmp_path / "serve.log"
    process = start_api(worker_environment(settings), log, free_port(), "--workers", "2")
    try:
        # Both workers are forked now, and each spends most of a second importing the app:
        # they get Granian's SIGTERM before they have a handler of their own.
        wait_for_log_line(process, log, b"Spawning worker-2")
        process.terminate()
        assert process.wait(STOPPED_WITHIN_SECONDS) == 0
    finally:
        stop_api(process)
    assert "refused to gracefully stop" not in log.read_text(), "a worker missed the SIGTERM"
