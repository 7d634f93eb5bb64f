"""The Go listener client (`bench/listener_client`): built once into var/bin with the `go`
that builds FerretDB here, then run as one process holding every listener of a wave."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

from bench.fanout import HANDSHAKE_TIMEOUT, Listener
from devstack.processes import VAR_DIR
from settings import PROJECT_DIR

SOURCE_DIR = PROJECT_DIR / "bench" / "listener_client"
BINARY = VAR_DIR / "bin" / "bench-listeners"
STAMP = BINARY.with_suffix(".sha256")  # the sources it was built from


def source_digest() -> str:
    digest = hashlib.sha256()
    for name in ("main.go", "go.mod", "go.sum"):
        digest.update((SOURCE_DIR / name).read_bytes())
    return digest.hexdigest()


def build_go_listeners() -> Path | None:
    """The client's binary, built if its sources changed; None without `go` on PATH."""
    go = shutil.which("go")
    digest = source_digest()
    if BINARY.exists() and STAMP.exists() and STAMP.read_text() == digest:
        return BINARY
    if go is None:
        return None
    BINARY.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([go, "build", "-o", str(BINARY), "."], check=True, cwd=SOURCE_DIR)
    STAMP.write_text(digest)
    return BINARY


def listener_from(result: dict[str, object]) -> Listener:
    kinds = result["kinds"] or []
    assert isinstance(kinds, list)
    finished_at, refused, error = result["finished_at"], result["refused"], result["error"]
    return Listener(
        kinds=[str(kind) for kind in kinds],
        finished_at=float(finished_at) if isinstance(finished_at, int | float) else None,
        refused=refused if isinstance(refused, int) else None,
        error=str(error) if error is not None else None,
    )


class GoWave:
    """One run of the client: every listener open once `open` returns."""

    def __init__(self, binary: Path, url: str, token: str, count: int, timeout: float) -> None:
        self.argv = [str(binary), "-url", url, "-count", str(count), "-timeout", f"{timeout}s"]
        self.env = {**os.environ, "BENCH_TOKEN": token}
        self.timeout = timeout
        self.process: asyncio.subprocess.Process | None = None

    async def open(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            *self.argv, env=self.env, stdout=asyncio.subprocess.PIPE
        )
        assert self.process.stdout is not None
        try:
            line = await asyncio.wait_for(self.process.stdout.readline(), HANDSHAKE_TIMEOUT)
        except TimeoutError:
            self.process.kill()
            raise
        if line.strip() != b"ready":
            raise RuntimeError(f"the Go listener client failed to start: {line!r}")

    async def ended(self) -> list[Listener]:
        """Each listener's outcome, once the server has closed them all."""
        assert self.process is not None and self.process.stdout is not None
        try:  # the client's own deadline ends every listener by `timeout`
            output = await asyncio.wait_for(self.process.stdout.read(), self.timeout + 30)
        finally:
            if self.process.returncode is None:
                self.process.kill()
            await self.process.wait()
        return [listener_from(result) for result in json.loads(output)]
