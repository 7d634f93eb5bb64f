"""A MongoDB-protocol server for development and tests: `mongod` if on PATH, else FerretDB
(built once from its Go module into var/bin) on PostgreSQL, else on SQLite."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from settings import read_environment

from .postgres import postgres_bin_dir, start_postgres
from .processes import VAR_DIR, DevStackError, Server, free_port, spawn

FERRETDB_VERSION = "v1.24.2"
FERRETDB_MODULE = "github.com/FerretDB/FerretDB"
FERRETDB_BIN = VAR_DIR / "bin" / "ferretdb"


def build_ferretdb() -> Path:
    """Build FerretDB with `go` into var/bin (once); return the binary's path."""
    if FERRETDB_BIN.exists():
        return FERRETDB_BIN
    go = shutil.which("go")
    if go is None:
        raise DevStackError(
            "No MongoDB-protocol server: put `mongod` on PATH, set MONGO_URI, "
            "or install Go so FerretDB can be built"
        )
    FERRETDB_BIN.parent.mkdir(parents=True, exist_ok=True)
    module = f"{FERRETDB_MODULE}@{FERRETDB_VERSION}"
    subprocess.run([go, "mod", "download", module], check=True, cwd=tempfile.gettempdir())
    listing = subprocess.run(
        [go, "mod", "download", "-json", module],
        check=True,
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),
    )
    source = Path(json.loads(listing.stdout)["Dir"])
    with tempfile.TemporaryDirectory() as work:
        tree = Path(work) / "ferretdb"
        shutil.copytree(source, tree)
        for path in [tree, *tree.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)  # the module cache is read-only
        # The module zip lacks the version file `go generate` writes; without it the
        # binary panics at start. Writing it is what FerretDB's own build does.
        (tree / "build" / "version" / "version.txt").write_text(FERRETDB_VERSION + "\n")
        subprocess.run(
            [go, "build", "-o", str(FERRETDB_BIN), "./cmd/ferretdb"], check=True, cwd=tree
        )
    return FERRETDB_BIN


def mongo_backend() -> str:
    """What `start_mongo` runs: `mongod` if on PATH, else FerretDB on PostgreSQL if it is
    installed, else FerretDB on SQLite (BOOKAPI_FERRETDB_BACKEND=sqlite forces SQLite)."""
    if shutil.which("mongod"):
        return "mongod"
    forced = read_environment().get("BOOKAPI_FERRETDB_BACKEND", "")
    if forced in ("postgresql", "sqlite"):
        return forced
    return "postgresql" if postgres_bin_dir() is not None else "sqlite"


def ferretdb_command(port: int, data_dir: Path, backend_args: list[str]) -> list[str]:
    return [
        str(build_ferretdb()),
        *backend_args,
        f"--state-dir={data_dir}",
        f"--listen-addr=127.0.0.1:{port}",
        "--debug-addr=-",
        "--telemetry=disable",
        "--log-level=warn",
    ]


def start_mongo(port: int, data_dir: Path, database: str = "bookapi") -> Server:
    """A MongoDB-protocol server on `port` keeping its data in `data_dir`."""
    data_dir.mkdir(parents=True, exist_ok=True)
    url = f"mongodb://127.0.0.1:{port}/{database}"
    backend = mongo_backend()
    if backend == "mongod":
        argv = ["mongod", "--port", str(port), "--bind_ip", "127.0.0.1", "--dbpath", str(data_dir)]
        return spawn("mongo", argv, port, data_dir, url)
    if backend == "sqlite":
        argv = ferretdb_command(
            port, data_dir, ["--handler=sqlite", f"--sqlite-url=file:{data_dir}/"]
        )
        return spawn("mongo", argv, port, data_dir, url)
    postgres = start_postgres(free_port(), data_dir / "postgres")
    argv = ferretdb_command(
        port, data_dir, ["--handler=postgresql", f"--postgresql-url={postgres.url}"]
    )
    return spawn("mongo", argv, port, data_dir, url, backend=postgres)
