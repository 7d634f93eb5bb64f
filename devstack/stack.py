"""`./bootstrap.sh`: the local servers `MONGO_URI` / `REDIS_URL` / `SMTP_HOST` do not point
at (data and mail under `var/`), then the Celery worker, Celery beat and hypercorn
(reloading on source changes), all stopped on Ctrl-C."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time

from bookapi.storage.mongo import database_name
from settings import PROJECT_DIR, load_settings, read_environment

from .demo_data import DEMO_EMAIL, DEMO_PASSWORD, has_demo_account, offer_demo_data
from .launch import READY_PATH, api_argv, celery_argv, launch, wait_until_answering
from .mailbox import Mailbox
from .mongo_server import start_mongo
from .processes import VAR_DIR, DevStackError, Server, free_port, start_redis
from .reload import ReloadingServer

LOG_DIR = VAR_DIR / "logs"
MAIL_DIR = VAR_DIR / "mail"


def start_local_servers(env: dict[str, str], servers: list[Server]) -> None:
    """Redis and MongoDB on their usual ports (or free ones) unless the environment names
    servers of its own; their URLs go into `env`."""
    if not env.get("REDIS_URL"):
        redis = start_redis(6379 if _port_free(6379) else free_port(), VAR_DIR / "redis", True)
        servers.append(redis)
        env["REDIS_URL"] = redis.url
    if not env.get("MONGO_URI"):
        mongo = start_mongo(27017 if _port_free(27017) else free_port(), VAR_DIR / "mongo")
        servers.append(mongo)
        env["MONGO_URI"] = mongo.url
    print(f"MongoDB: {env['MONGO_URI']}\nRedis:   {env['REDIS_URL']}", flush=True)


def start_mailbox(env: dict[str, str], port: int) -> Mailbox | None:
    """A local SMTP server that saves mail under var/mail/, unless SMTP_HOST names a real one;
    links in the mail point at this stack's console."""
    env.setdefault("PUBLIC_URL", f"http://127.0.0.1:{port}")
    if env.get("SMTP_HOST"):
        return None
    smtp_port = 1025 if _port_free(1025) else free_port()
    mailbox = Mailbox(smtp_port, MAIL_DIR)
    env["SMTP_HOST"], env["SMTP_PORT"] = "127.0.0.1", str(smtp_port)
    return mailbox


def share_metrics_folder(env: dict[str, str]) -> None:
    if not env.get("PROMETHEUS_MULTIPROC_DIR"):
        # The API and the worker write their metrics here; /metrics adds them up.
        metrics_dir = VAR_DIR / "metrics"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)


def say_ready(
    base: str, processes: list[subprocess.Popen[bytes]], demo: bool, local_mail: bool
) -> None:
    """Said once the API is ready, so it comes after the servers' start-up lines."""
    try:
        wait_until_answering(f"{base}{READY_PATH}", processes)
    except DevStackError:
        print(f"bookapi did not answer {base}{READY_PATH}; see the lines above", flush=True)
        return
    print(f"\nbookapi is ready: console {base}/, API docs {base}/docs", flush=True)
    print(f"worker and beat logs: {LOG_DIR.relative_to(PROJECT_DIR)}/", flush=True)
    if local_mail:
        print(f"mail (password resets) lands in {MAIL_DIR.relative_to(PROJECT_DIR)}/", flush=True)
    if demo:
        print(f"demo login: {DEMO_EMAIL} / {DEMO_PASSWORD} (unless changed)", flush=True)
    print("Ctrl-C stops it\n", flush=True)


def stop_all(
    api: ReloadingServer | None, children: list[subprocess.Popen[bytes]], servers: list[Server]
) -> None:
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


def run_stack(port: int | None, assume_yes: bool = False) -> int:
    env = dict(read_environment())
    port = port or (5000 if _port_free(5000) else free_port())
    servers: list[Server] = []
    children: list[subprocess.Popen[bytes]] = []  # the worker and beat
    api: ReloadingServer | None = None
    mailbox: Mailbox | None = None
    try:
        start_local_servers(env, servers)
        mailbox = start_mailbox(env, port)
        demo = offer_demo_data(env, assume_yes) or has_demo_account(
            env["MONGO_URI"], database_name(load_settings(env))
        )
        share_metrics_folder(env)
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        for command in ("worker", "beat"):  # beat: the reaper and retention, periodically
            # Their start-up lines and periodic chatter go to files; the terminal keeps the
            # API's lines and the ready line.
            log = LOG_DIR / f"{command}.log"
            children.append(launch(celery_argv(command, "--loglevel=INFO"), env, log))
        # The production entry point on hypercorn, started again on every source change.
        api = ReloadingServer(api_argv(port, "--server", "hypercorn"), env)
        # Explicit handlers: a shell's background job starts with SIGINT ignored.
        signal.signal(signal.SIGINT, _interrupt)
        signal.signal(signal.SIGTERM, _interrupt)
        say_ready(f"http://127.0.0.1:{port}", [*children, api.process], demo, mailbox is not None)
        while all(child.poll() is None for child in children):
            api.check()
            time.sleep(0.5)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop_all(api, children, servers)
        if mailbox is not None:
            mailbox.stop()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0
