"""The one way to launch the service's own processes (the API, Celery worker and beat, the
CLI) and to wait until they are ready: used by `./bootstrap.sh`, the tests and the
benchmark alike."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from settings import PROJECT_DIR

from .processes import DevStackError

READY_PATH = "/readyz"


def api_argv(
    port: int,
    *options: str,
    host: str = "127.0.0.1",
    python: str = sys.executable,
) -> list[str]:
    """`python -m bookapi.serve` (Granian unless `--server` says otherwise) on `port`."""
    return [python, "-m", "bookapi.serve", "--host", host, "--port", str(port), *options]


def celery_argv(*arguments: str, python: str = sys.executable) -> list[str]:
    """`celery -A worker --quiet ARGUMENTS...`: no banner, the log is the process's lines."""
    return [python, "-m", "celery", "-A", "worker", "--quiet", *arguments]


def worker_arguments(name: str, pool: str = "solo", loglevel: str = "INFO") -> list[str]:
    """A worker that takes one job at a time (solo by default: one process to kill)."""
    return [
        "worker",
        f"--pool={pool}",
        "--concurrency=1",
        f"--hostname={name}@%h",
        f"--loglevel={loglevel}",
        "--without-mingle",
        "--without-gossip",
    ]


def cli_argv(*arguments: str, python: str = sys.executable) -> list[str]:
    return [python, "-m", "bookapi.cli", *arguments]


def launch(
    argv: Sequence[str], env: dict[str, str], log_path: Path | None, cwd: Path = PROJECT_DIR
) -> subprocess.Popen[bytes]:
    """Start `argv` with its output appended to `log_path` (None: this terminal)."""
    if log_path is None:
        return subprocess.Popen(list(argv), cwd=cwd, env=env)
    with log_path.open("ab") as log:
        return subprocess.Popen(list(argv), cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)


def log_tail(log_path: Path | None) -> str:
    return log_path.read_text(errors="replace")[-3000:] if log_path else "(see the terminal)"


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def wait_until_answering(
    url: str,
    processes: Sequence[subprocess.Popen[bytes]],
    log_path: Path | None = None,
    timeout: float = 60.0,
) -> None:
    """Wait until `url` answers 200; DevStackError (with the log's tail) if a process ends
    first or it does not answer within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not answers(url):
        ended = [process for process in processes if process.poll() is not None]
        if ended:
            raise DevStackError(f"exited with {ended[0].returncode}:\n{log_tail(log_path)}")
        if time.monotonic() > deadline:
            raise DevStackError(f"{url} did not answer within {timeout}s:\n{log_tail(log_path)}")
        time.sleep(0.2)


def wait_for_log_line(
    process: subprocess.Popen[bytes], log_path: Path, line: bytes, timeout: float = 60.0
) -> None:
    """Wait until `line` is in the process's log (Celery says when it is ready there)."""
    deadline = time.monotonic() + timeout
    while line not in log_path.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise DevStackError(f"{process.args!r} did not start:\n{log_tail(log_path)}")
        time.sleep(0.1)
