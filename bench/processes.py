"""Starting the servers under test, and the CPU time a process tree has used."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bookapi.serve import return_freed_memory
from devstack import DevStackError, free_port
from devstack.launch import api_argv, celery_argv, launch, wait_until_answering, worker_arguments
from settings import PROJECT_DIR

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
BIN = Path(sys.executable).parent


@dataclass
class Served:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

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
    url = f"http://127.0.0.1:{served.port}{path}"
    try:
        wait_until_answering(url, [served.process], served.log_path, timeout)
    except DevStackError as error:
        served.stop()
        raise DevStackError(f"{served.name}: {error}") from error


def start(
    name: str,
    argv: list[str],
    env: dict[str, str],
    log_dir: Path,
    port: int,
    tree: Path = PROJECT_DIR,
) -> Served:
    log_path = log_dir / f"{name}.log"
    return Served(name, port, launch(argv, env, log_path, cwd=tree), log_path)


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
    options = ("--workers", str(workers), "--server", server)
    argv = api_argv(port, *options, python=str(BIN / "python"))
    served = start(name or f"bookapi-{server}", argv, env, log_dir, port, tree)
    wait_until_serving(served, "/readyz")
    return served


def start_uvicorn_peer(name: str, module: str, env: dict[str, str], log_dir: Path) -> Served:
    port = free_port()
    argv = [str(BIN / "uvicorn"), f"{module}:app", "--port", str(port)]
    argv += ["--workers", "1", "--no-access-log", "--log-level", "warning"]
    served = start(name, argv, env, log_dir, port)
    wait_until_serving(served, "/api/v1/books")
    return served


def start_fastapi_peer(env: dict[str, str], log_dir: Path) -> Served:
    return start_uvicorn_peer("fastapi", "bench.peers.fastapi_peer", env, log_dir)


def start_fastapi_cached_peer(env: dict[str, str], log_dir: Path) -> Served:
    return start_uvicorn_peer("fastapi+cache", "bench.peers.fastapi_cached_peer", env, log_dir)


def start_litestar_peer(env: dict[str, str], log_dir: Path) -> Served:
    return start_uvicorn_peer("litestar+cache", "bench.peers.litestar_peer", env, log_dir)


def start_bare_asgi(env: dict[str, str], log_dir: Path) -> Served:
    port = free_port()
    argv = [str(BIN / "granian"), "--interface", "asgi", "--port", str(port)]
    argv += ["--workers", "1", "--loop", "uvloop", "bench.peers.bare_asgi:app"]
    served = start("bare-asgi", argv, env, log_dir, port)
    wait_until_serving(served, "/api/v1/books?tag=fiction&limit=20")
    return served


def bare_listeners_argv(server: str, port: int) -> list[str]:
    """The floor for websocket listeners on `server`, with two workers and uvloop, as the
    scale stage serves bookapi."""
    app = "bench.peers.bare_listeners:app"
    if server == "uvicorn":
        uvicorn = [str(BIN / "uvicorn"), app, "--port", str(port)]
        return [*uvicorn, "--workers", "2", "--loop", "uvloop"]
    if server == "hypercorn":
        return [str(BIN / "hypercorn"), app, "-b", f"127.0.0.1:{port}", "-w", "2", "-k", "uvloop"]
    granian = [str(BIN / "granian"), "--interface", "asgi", "--port", str(port)]
    return [*granian, "--workers", "2", "--loop", "uvloop", app]


def start_bare_listeners(env: dict[str, str], log_dir: Path, server: str, signal: Path) -> Served:
    """Configured as `python -m bookapi.serve` runs `server` (for Granian, the same allocator
    setting), so the difference is the app's."""
    port = free_port()
    argv = bare_listeners_argv(server, port)
    served_env = {**env, "BENCH_FINISH_FILE": str(signal)}
    if server == "granian":
        return_freed_memory(served_env)
    served = start(f"bare-listeners-{server}", argv, served_env, log_dir, port)
    wait_until_serving(served, "/")
    return served


def start_flask_peer(env: dict[str, str], log_dir: Path) -> Served:
    port = free_port()
    argv = [str(BIN / "gunicorn"), "bench.peers.flask_peer:app", "-b", f"127.0.0.1:{port}"]
    argv += ["-w", "1", "-k", "gthread", "--threads", "16", "--log-level", "warning"]
    served = start("flask", argv, env, log_dir, port)
    wait_until_serving(served, "/api/v1/books")
    return served


def start_worker(env: dict[str, str], log_dir: Path) -> subprocess.Popen[bytes]:
    argv = celery_argv(*worker_arguments("bench", loglevel="WARNING"), python=str(BIN / "python"))
    return launch(argv, env, log_dir / "worker.log")
