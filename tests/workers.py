"""Real Celery worker processes for the job tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from settings import PROJECT_DIR, Config


def worker_environment(settings: Config, **extra: str) -> dict[str, str]:
    """The environment that makes a worker read the same settings as the test's app."""
    return {
        **os.environ,
        "BOOKAPI_ENV": "testing",
        "MONGO_URI": settings.MONGO_URI,
        "MONGO_DB": settings.MONGO_DB,
        "REDIS_URL": settings.REDIS_URL,
        "REDIS_PREFIX": settings.REDIS_PREFIX,
        "CELERY_QUEUE": settings.CELERY_QUEUE,
        **extra,
    }


def start_worker(env: dict[str, str], log_path: Path, name: str) -> subprocess.Popen[bytes]:
    """Start `celery -A worker worker` (solo pool: one process to kill) and wait until ready."""
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "worker",
                "worker",
                "--pool=solo",
                f"--hostname={name}@%h",
                "--loglevel=INFO",
                "--without-mingle",
                "--without-gossip",
            ],
            cwd=PROJECT_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while b" ready." not in log_path.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"worker did not start:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.1)
    return process


def stop_worker(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
