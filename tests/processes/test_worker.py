"""The Celery worker starts on the real Redis broker and answers `inspect ping`."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from settings import PROJECT_DIR, TestingConfig
from tests.helpers import start_worker, stop_worker, worker_environment


@pytest.fixture
def worker_env(settings: TestingConfig) -> dict[str, str]:
    return worker_environment(settings)


@pytest.fixture
def running_worker(worker_env: dict[str, str], tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    process = start_worker(worker_env, tmp_path / "worker.log", "ping-test")
    yield process
    stop_worker(process)


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
