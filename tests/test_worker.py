"""The Celery worker starts on the real Redis broker and answers `inspect ping`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from settings import PROJECT_DIR


@pytest.fixture
def worker_env(redis_url: str, mongo_uri: str) -> dict[str, str]:
    return {**os.environ, "BOOKAPI_ENV": "testing", "REDIS_URL": redis_url, "MONGO_URI": mongo_uri}


@pytest.fixture
def running_worker(worker_env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "worker",
            "worker",
            "--pool=solo",
            "--hostname=ping-test@%h",
            "--loglevel=WARNING",
        ],
        cwd=PROJECT_DIR,
        env=worker_env,
    )
    yield process
    process.terminate()
    process.wait(20)


def test_worker_answers_inspect_ping(
    running_worker: subprocess.Popen[bytes], worker_env: dict[str, str]
) -> None:
    deadline = time.monotonic() + 30
    while True:
        result = subprocess.run(
            [sys.executable, "-m", "celery", "-A", "worker", "inspect", "ping", "--timeout=2"],
            cwd=PROJECT_DIR,
            env=worker_env,
            capture_output=True,
            text=True,
        )
        if result.returncode == 0 or time.monotonic() > deadline:
            break
        assert running_worker.poll() is None, "the worker exited"
    assert result.returncode == 0, result.stdout + result.stderr
    assert "pong" in result.stdout
