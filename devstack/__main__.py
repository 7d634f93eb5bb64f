"""`python -m devstack run|build-ferretdb|fetch-axe`."""

from __future__ import annotations

import argparse
import shutil
import sys

from .axe_core import axe_script
from .mongo_server import build_ferretdb
from .processes import DevStackError
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
    args = parser.parse_args(argv)
    try:
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


if __name__ == "__main__":
    sys.exit(main())
