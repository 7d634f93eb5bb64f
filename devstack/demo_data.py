"""On an empty database, the first run offers a demo account and demo books."""

from __future__ import annotations

import subprocess
import sys

from bookapi.storage.mongo import database_name
from settings import PROJECT_DIR, load_settings

from .launch import cli_argv

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo password"
DEMO_BOOKS = 300


def _catalog_is_empty(mongo_uri: str, database: str) -> bool:
    from pymongo import MongoClient

    client: MongoClient[dict[str, object]] = MongoClient(mongo_uri, serverSelectionTimeoutMS=5000)
    with client:
        db = client[database]
        return db["books"].estimated_document_count() == 0 and db["users"].count_documents({}) == 0


def has_demo_account(mongo_uri: str, database: str) -> bool:
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
    cli = cli_argv()
    for command, stdin in (
        (["create-user", DEMO_EMAIL], DEMO_PASSWORD + "\n"),
        (["demo-books", str(DEMO_BOOKS), "--owner", DEMO_EMAIL, "--seed", "1"], ""),
    ):
        subprocess.run(
            cli + command,
            input=stdin,
            text=True,
            env=env,
            cwd=PROJECT_DIR,
            check=True,
            capture_output=True,
        )
    return True
