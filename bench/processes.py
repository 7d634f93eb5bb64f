"""Starting the servers under test, and the CPU time a process tree has used."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from devstack import DevStackError, free_port
from settings import PROJECT_DIR

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
BIN = Path(sys.executable).parent


@dataclass
class Served:
    name: str
    port: int
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU of `pid` and all its descendants, as they stand now."""
    total = 0.0
    for member in [pid, *descendants(pid)]:
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
    return total


def descendants(pid: int) -> list[int]:
    result = []
    for child in _children(pid):
        result += [child, *descendants(child)]
    return result


def wait_until_serving(served: Served, path: str, timeout: float = 60.0) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            raise DevStackError(f"{served.name} exited with {served.process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{served.port}{path}", timeout=2):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    served.stop()
    raise DevStackError(f"{served.name} did not answer on {path} within {timeout}s")


def start(
    name: str,
    argv: list[str],
    env: dict[str, str],
    log_dir: Path,
    port: int,
    tree: Path = PROJECT_DIR,
) -> Served:
    log = (log_dir / f"{name}.log").open("ab")
    process = subprocess.Popen(argv, cwd=tree, env=env, stdout=log, stderr=log)
    return Served(name, port, process)


def start_bookapi(
    env: dict[str, str],
    log_dir: Path,
    server: str = "granian",
    workers: int = 1,
    tree: Path = PROJECT_DIR,
    name: str | None = None,
) -> Served:
    """`python -m bookapi.serve` from the checkout in `tree` (by default this one)."""
    port = free_port()
    argv = [str(BIN / "python"), "-m", "bookapi.serve", "--host", "127.0.0.1"]
    argv += ["--port", str(port), "--workers", str(workers), "--server", server]
    served = start(name or f"bookapi-{server}", argv, env, log_dir, port, tree)
    wait_until_serving(served, "/readyz")
    return served


def start_fastapi_peer(env: dict[str, str], log_dir: Path) -> Served:
    port = free_port()
    argv = [str(BIN / "uvicorn"), "bench.peers.fastapi_peer:app", "--port", str(port)]
    argv += ["--workers", "1", "--no-access-log", "--log-level", "warning"]
    served = start("fastapi", argv, env, log_dir, port)
    wait_until_serving(served, "/api/v1/books")
    return served


def start_flask_peer(env: dict[str, str], log_dir: Path) -> Served:
    port = free_port()
    argv = [str(BIN / "gunicorn"), "bench.peers.flask_peer:app", "-b", f"127.0.0.1:{port}"]
    argv += ["-w", "1", "-k", "gthread", "--threads", "16", "--log-level", "warning"]
    served = start("flask", argv, env, log_dir, port)
    wait_until_serving(served, "/api/v1/books")
    return served


def start_worker(env: dict[str, str], log_dir: Path) -> subprocess.Popen[bytes]:
    log = (log_dir / "worker.log").open("ab")
    argv = [str(BIN / "celery"), "-A", "worker", "worker", "--pool=solo", "--loglevel=WARNING"]
    return subprocess.Popen(argv, cwd=PROJECT_DIR, env=env, stdout=log, stderr=log)
