"""Local server processes for development and tests: start one, wait until it listens,
stop it (and the server it stores its data in)."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from settings import PROJECT_DIR

VAR_DIR = PROJECT_DIR / "var"


class DevStackError(RuntimeError):
    """A server could not be found, built or started; the message says what to do."""


@dataclass
class Server:
    name: str
    url: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    data_dir: Path
    stop_signal: int = signal.SIGTERM
    backend: Server | None = None  # a server this one stores its data in, stopped after it

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(self.stop_signal)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.backend is not None:
            self.backend.stop(timeout)

    def remove_data(self) -> None:
        """Delete the data of this (stopped) server and its backend: for throwaway servers."""
        shutil.rmtree(self.data_dir, ignore_errors=True)
        if self.backend is not None:
            self.backend.remove_data()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(server: Server, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            log = server.log_path.read_text(errors="replace")[-2000:]
            raise DevStackError(f"{server.name} exited with {server.process.returncode}:\n{log}")
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    server.stop()
    raise DevStackError(f"{server.name} did not listen on port {server.port} within {timeout}s")


def spawn(
    name: str,
    argv: list[str],
    port: int,
    data_dir: Path,
    url: str,
    stop_signal: int = signal.SIGTERM,
    backend: Server | None = None,
) -> Server:
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / f"{name}.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=data_dir
        )
    server = Server(name, url, port, process, log_path, data_dir, stop_signal, backend)
    try:
        wait_for_port(server)
    except DevStackError:
        if backend is not None:
            backend.stop()
        raise
    return server


def redis_binary() -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        raise DevStackError(
            "redis-server is not installed: run `apt-get install redis-server` "
            "(or set REDIS_URL to a Redis you run)"
        )
    return binary


def start_redis(
    port: int, data_dir: Path, persistent: bool = False, *options: str, name: str = "redis"
) -> Server:
    """redis-server on 127.0.0.1:`port` with its data in `data_dir` (kept on disk with
    `persistent`: appendonly, fsync every second), plus any further `--option value`s."""
    argv = [redis_binary(), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data_dir)]
    argv += ["--appendonly", "yes"] if persistent else ["--save", "", "--appendonly", "no"]
    return spawn(name, [*argv, *options], port, data_dir, f"redis://127.0.0.1:{port}/0")
