"""PostgreSQL for FerretDB to keep its data in (its production backend), from Debian's
package, run as the `postgres` user when we are root."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from .processes import DevStackError, Server, spawn


def postgres_bin_dir() -> Path | None:
    """Debian's PostgreSQL server binaries (the newest installed version), if any."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=_version_key)
    on_path = shutil.which("postgres")
    if candidates:
        return candidates[-1].parent
    return Path(on_path).parent if on_path else None


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in path.parts[-3].split(".") if part.isdigit())


def _reachable_by(path: Path, uid: int) -> bool:
    """Whether user `uid` can reach `path` (search permission on every folder above it)."""
    for folder in [*reversed(path.parents)]:
        info = folder.stat()
        if not (info.st_mode & 0o001 or info.st_uid == uid):
            return False
    return True


def _as_postgres_user(bin_dir: Path, data_dir: Path) -> tuple[list[str], Path]:
    """How to run PostgreSQL's programs, and where its cluster lives.

    PostgreSQL refuses to run as root, so as root its programs run as the `postgres` user
    (Debian's package creates it), and the cluster goes where that user can reach it.
    """
    if os.geteuid() != 0:
        return [], data_dir
    import pwd

    try:
        user = pwd.getpwnam("postgres")
    except KeyError as error:
        raise DevStackError("running as root needs the `postgres` user") from error
    if not _reachable_by(data_dir, user.pw_uid):
        digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:12]
        data_dir = Path(tempfile.gettempdir()) / f"bookapi-postgres-{digest}"
    data_dir.mkdir(parents=True, exist_ok=True)
    os.chown(data_dir, user.pw_uid, user.pw_gid)
    drop = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups"]
    return [*drop, "--"], data_dir


def start_postgres(port: int, data_dir: Path) -> Server:
    """A PostgreSQL cluster in `data_dir` (made on first use), on 127.0.0.1 only, trust auth."""
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        raise DevStackError("PostgreSQL is not installed: apt-get install postgresql")
    prefix, cluster = _as_postgres_user(bin_dir, data_dir)
    if not (cluster / "PG_VERSION").exists():
        subprocess.run(
            [
                *prefix,
                str(bin_dir / "initdb"),
                "-D",
                str(cluster),
                "--auth=trust",
                "-U",
                "postgres",
            ],
            check=True,
            capture_output=True,
            cwd=tempfile.gettempdir(),
        )
    argv = [
        *prefix,
        str(bin_dir / "postgres"),
        "-D",
        str(cluster),
        "-p",
        str(port),
        "-c",
        "listen_addresses=127.0.0.1",
        "-c",
        "unix_socket_directories=",
        # Development data: fast over durable (a crash may lose the last commits).
        "-c",
        "synchronous_commit=off",
        "-c",
        "max_connections=200",
    ]
    url = f"postgres://postgres@127.0.0.1:{port}/postgres"
    log_dir = data_dir / "postgres-log"
    # SIGINT is PostgreSQL's fast shutdown: it does not wait for clients to disconnect.
    server = spawn("postgres", argv, port, log_dir, url, stop_signal=signal.SIGINT)
    server.data_dir = cluster
    return server
