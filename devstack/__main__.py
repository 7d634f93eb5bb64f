"""`python -m devstack run|build-ferretdb|fetch-axe|sentinels`."""

from __future__ import annotations

import argparse
import shutil
import signal
import sys

from .axe_core import axe_script
from .mongo_server import build_ferretdb
from .processes import VAR_DIR, DevStackError
from .sentinels import start_redis_group
from .stack import run_stack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="start local servers, the worker and hypercorn")
    run.add_argument(
        "--port", type=int, help="the API's port (default: 5000, or a free one if it is taken)"
    )
    run.add_argument("--yes", action="store_true", help="load demo data without asking")
    commands.add_parser("build-ferretdb", help="build FerretDB into var/bin if no mongod")
    commands.add_parser("fetch-axe", help="fetch axe-core (for the browser tests) into var/")
    commands.add_parser(
        "sentinels", help="run a Redis primary, a replica and three sentinels until Ctrl-C"
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "sentinels":
            return run_sentinels()
        if args.command == "fetch-axe":
            print(axe_script())
            return 0
        if args.command == "build-ferretdb":
            if shutil.which("mongod") is None:
                print(build_ferretdb())
            return 0
        return run_stack(args.port, args.yes)
    except DevStackError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run_sentinels() -> int:
    """A highly available Redis under var/sentinels/ until Ctrl-C, for trying a failover."""
    group = start_redis_group(VAR_DIR / "sentinels")
    try:
        print("Redis primary on", group.primary.port, "replica on", group.replica.port)
        print("point bookapi at it with:")
        for name, value in group.settings().items():
            print(f"  export {name}={value}")
        print(f"kill the primary to fail over: kill {group.primary.process.pid}", flush=True)
        signal.signal(signal.SIGTERM, _interrupt)
        while True:
            signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        group.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
