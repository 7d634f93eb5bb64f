"""`./bootstrap.sh`: the local servers `MONGO_URI` / `REDIS_URL` do not point at (data
under `var/`), then the Celery worker, Celery beat and hypercorn (reloading on source
changes), all stopped on Ctrl-C."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bookapi.storage.mongo import database_name
from settings import PROJECT_DIR, load_settings, read_environment

from .demo_data import DEMO_EMAIL, DEMO_PASSWORD, has_demo_account, offer_demo_data
from .mongo_server import start_mongo
from .processes import VAR_DIR, Server, free_port, start_redis
from .reload import ReloadingServer


def run_stack(port: int, assume_yes: bool = False) -> int:
    env = dict(read_environment())
    servers: list[Server] = []
    children: list[subprocess.Popen[bytes]] = []  # the worker and beat
    api: ReloadingServer | None = None
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
        demo = offer_demo_data(env, assume_yes) or has_demo_account(
            env["MONGO_URI"], database_name(load_settings(env))
        )
        if not env.get("PROMETHEUS_MULTIPROC_DIR"):
            # The API and the worker write their metrics here; /metrics adds them up.
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
        # The production entry point on hypercorn, started again on every source change.
        api = ReloadingServer(
            [
                sys.executable,
                "-m",
                "bookapi.serve",
                "--server",
                "hypercorn",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env,
        )
        # Explicit handlers: a shell's background job starts with SIGINT ignored.
        signal.signal(signal.SIGINT, _interrupt)
        signal.signal(signal.SIGTERM, _interrupt)
        base = f"http://127.0.0.1:{port}"
        # Said once the API is ready, so it comes after the servers' start-up lines, not
        # buried under them.
        if _until_ready(base, [*children, api.process]):
            print(f"\nbookapi is ready: console {base}/, API docs {base}/docs", flush=True)
            if demo:
                print(f"demo login: {DEMO_EMAIL} / {DEMO_PASSWORD} (unless changed)", flush=True)
            print("Ctrl-C stops it\n", flush=True)
        while all(child.poll() is None for child in children):
            api.check()
            time.sleep(0.5)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        if api is not None:
            api.stop()
        for child in children:
            if child.poll() is None:
                child.terminate()  # the worker and beat shut down cleanly on SIGTERM
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
