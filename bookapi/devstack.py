"""Local MongoDB-protocol and Redis servers for development and tests, and the dev supervisor.

`python -m bookapi.devstack run` starts what `MONGO_URI` / `REDIS_URL` do not point at
(data under `var/`), then the Celery worker, Celery beat and hypercorn, and stops all of it
on Ctrl-C.
The test session uses `start_mongo` / `start_redis` with throwaway ports and folders.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from settings import PROJECT_DIR, load_settings, read_environment

from .mongo import database_name
from .observability.logs import server_logging_config

FERRETDB_VERSION = "v1.24.2"
FERRETDB_MODULE = "github.com/FerretDB/FerretDB"
VAR_DIR = PROJECT_DIR / "var"
FERRETDB_BIN = VAR_DIR / "bin" / "ferretdb"


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


def _spawn(
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


def start_redis(port: int, data_dir: Path, persistent: bool = False) -> Server:
    binary = shutil.which("redis-server")
    if binary is None:
        raise DevStackError(
            "redis-server is not installed: run `apt-get install redis-server` "
            "(or set REDIS_URL to a Redis you run)"
        )
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data_dir)]
    argv += ["--appendonly", "yes"] if persistent else ["--save", "", "--appendonly", "no"]
    return _spawn("redis", argv, port, data_dir, f"redis://127.0.0.1:{port}/0")


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
    server = _spawn("postgres", argv, port, log_dir, url, stop_signal=signal.SIGINT)
    server.data_dir = cluster
    return server


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
        return _spawn("mongo", argv, port, data_dir, url)
    if backend == "sqlite":
        argv = ferretdb_command(
            port, data_dir, ["--handler=sqlite", f"--sqlite-url=file:{data_dir}/"]
        )
        return _spawn("mongo", argv, port, data_dir, url)
    postgres = start_postgres(free_port(), data_dir / "postgres")
    argv = ferretdb_command(
        port, data_dir, ["--handler=postgresql", f"--postgresql-url={postgres.url}"]
    )
    return _spawn("mongo", argv, port, data_dir, url, backend=postgres)


DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo password"
DEMO_BOOKS = 300


def _catalog_is_empty(mongo_uri: str, database: str) -> bool:
    from pymongo import MongoClient

    client: MongoClient[dict[str, object]] = MongoClient(mongo_uri, serverSelectionTimeoutMS=5000)
    with client:
        db = client[database]
        return db["books"].estimated_document_count() == 0 and db["users"].count_documents({}) == 0


def _has_demo_account(mongo_uri: str, database: str) -> bool:
    from pymongo import MongoClient

    client: MongoClient[dict[str, object]] = MongoClient(mongo_uri, serverSelectionTimeoutMS=5000)
    with client:
        return client[database]["users"].count_documents({"email_key": DEMO_EMAIL}) > 0


def _wants_demo_data(assume_yes: bool) -> bool:
    question = f"The catalog is empty: load demo data ({DEMO_BOOKS} books, a demo account)?"
    if assume_yes:
        print(f"{question} yes (-y)", flush=True)
        return True
    if not sys.stdin.isatty():
        print(f"{question} no terminal to ask; rerun with -y to load it", flush=True)
        return False
    return input(f"{question} [Y/n] ").strip().lower() in ("", "y", "yes")


def offer_demo_data(env: dict[str, str], assume_yes: bool) -> bool:
    """On an empty database, offer the demo account and books; True if they were loaded."""
    database = database_name(load_settings(env))
    if not _catalog_is_empty(env["MONGO_URI"], database) or not _wants_demo_data(assume_yes):
        return False
    quart = [sys.executable, "-m", "quart", "--app", "bookapi.app"]
    for command, stdin in (
        (["create-user", DEMO_EMAIL], DEMO_PASSWORD + "\n"),
        (["demo-books", str(DEMO_BOOKS), "--owner", DEMO_EMAIL, "--seed", "1"], ""),
    ):
        subprocess.run(
            quart + command,
            input=stdin,
            text=True,
            env=env,
            cwd=PROJECT_DIR,
            check=True,
            capture_output=True,
        )
    return True


def _run(port: int, assume_yes: bool = False) -> int:
    env = dict(read_environment())
    servers: list[Server] = []
    children: list[subprocess.Popen[bytes]] = []
    try:
        if not env.get("REDIS_URL"):
            redis = start_redis(6379 if _port_free(6379) else free_port(), VAR_DIR / "redis", True)
            servers.append(redis)
            env["REDIS_URL"] = redis.url
        if not env.get("MONGO_URI"):
            mongo_port = 27017 if _port_free(27017) else free_port()
            mongo = start_mongo(mongo_port, VAR_DIR / "mongo")
            servers.append(mongo)
            env["MONGO_URI"] = mongo.url
        print(f"MongoDB: {env['MONGO_URI']}\nRedis:   {env['REDIS_URL']}", flush=True)
        demo = offer_demo_data(env, assume_yes) or _has_demo_account(
            env["MONGO_URI"], database_name(load_settings(env))
        )
        if not env.get("PROMETHEUS_MULTIPROC_DIR"):
            # hypercorn and the worker write their metrics here; /metrics adds them up.
            metrics_dir = VAR_DIR / "metrics"
            shutil.rmtree(metrics_dir, ignore_errors=True)
            metrics_dir.mkdir(parents=True)
            env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
        bin_dir = Path(sys.executable).parent
        for celery_command in ("worker", "beat"):  # beat: the reaper and retention, periodically
            children.append(
                subprocess.Popen(
                    [str(bin_dir / "celery"), "-A", "worker", celery_command, "--loglevel=INFO"],
                    cwd=PROJECT_DIR,
                    env=env,
                )
            )
        # hypercorn's own lines through the app's handler: once each, in the same format.
        hypercorn_logging = VAR_DIR / "hypercorn-logging.json"
        hypercorn_logging.write_text(json.dumps(server_logging_config()))
        children.append(
            subprocess.Popen(
                # hypercorn in development: it reloads the app when a source file changes.
                [
                    str(bin_dir / "hypercorn"),
                    "bookapi.asgi:app",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--reload",
                    "--log-config",
                    f"json:{hypercorn_logging}",
                ],
                cwd=PROJECT_DIR,
                env=env,
            )
        )
        # Explicit handlers: a shell's background job starts with SIGINT ignored.
        signal.signal(signal.SIGINT, _interrupt)
        signal.signal(signal.SIGTERM, _interrupt)
        base = f"http://127.0.0.1:{port}"
        # Said once the API is ready, so it comes after the servers' start-up lines, not
        # buried under them.
        if _until_ready(base, children):
            print(f"\nbookapi is ready: console {base}/, API docs {base}/docs", flush=True)
            if demo:
                print(f"demo login: {DEMO_EMAIL} / {DEMO_PASSWORD} (unless changed)", flush=True)
            print("Ctrl-C stops it\n", flush=True)
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()  # hypercorn, the worker and beat shut down cleanly on SIGTERM
        for child in children:
            try:
                child.wait(15)
            except subprocess.TimeoutExpired:
                child.kill()
        for server in servers:
            server.stop()


def _until_ready(base: str, children: list[subprocess.Popen[bytes]]) -> bool:
    """Wait (at most a minute) until the API says it is ready; False if it did not or a
    child process ended meanwhile."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and all(child.poll() is None for child in children):
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.3)
    print(f"bookapi did not answer {base}/readyz within a minute; see the lines above", flush=True)
    return False


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bookapi.devstack")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="start local servers, the worker and hypercorn")
    run.add_argument("--port", type=int, default=5000)
    run.add_argument("--yes", action="store_true", help="load demo data without asking")
    commands.add_parser("build-ferretdb", help="build FerretDB into var/bin if no mongod")
    args = parser.parse_args(argv)
    try:
        if args.command == "build-ferretdb":
            if shutil.which("mongod") is None:
                print(build_ferretdb())
            return 0
        return _run(args.port, args.yes)
    except DevStackError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
