"""A Python client generated from the live /openapi.json with openapi-python-client (the
generator most Python teams use), with no warning, drives the API as production serves it:
register, log in, create, list and page, change with If-Match, import and follow the job."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from settings import TestingConfig
from tests.helpers import PASSWORD, worker_environment
from tests.served import call, served_api

# Text bodies (CSV, NDJSON) are sent as the raw bytes they are; ruff formats nothing here.
CONFIG = """\
content_type_overrides:
  text/csv: application/octet-stream
  application/x-ndjson: application/octet-stream
post_hooks: []
project_name_override: bookapi-client
package_name_override: bookapi_client
"""


def generate(base: str, folder: Path) -> str:
    (folder / "openapi.json").write_text(json.dumps(call(base, "GET", "/openapi.json").body))
    (folder / "config.yml").write_text(CONFIG)
    done = subprocess.run(
        [sys.executable, "-m", "openapi_python_client", "generate", "--path", "openapi.json"]
        + ["--output-path", "client", "--config", "config.yml", "--overwrite"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


@pytest.fixture
def client_package(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    for name in [name for name in sys.modules if name.startswith("bookapi_client")]:
        del sys.modules[name]
    sys.path[:] = [entry for entry in sys.path if not entry.startswith(str(tmp_path))]


def load(folder: Path, name: str) -> ModuleType:
    if str(folder / "client") not in sys.path:
        sys.path.insert(0, str(folder / "client"))
    return importlib.import_module(f"bookapi_client.{name}")


async def test_a_generated_client_drives_the_api(
    settings: TestingConfig, client_package: Path
) -> None:
    env = worker_environment(settings)
    async with served_api(env, client_package, worker="generated-client") as base:
        output = generate(base, client_package)
        assert "Warning" not in output and "WARNING" not in output, output

        def module(name: str) -> Any:
            return load(client_package, name)

        api = models = module
        root = module("client")
        register, login = api("api.auth.register"), api("api.auth.login")
        with root.Client(base_url=base) as anonymous:
            account = models("models").RegisterRegisterIn(
                email="gen@example.com", password=PASSWORD
            )
            assert register.sync(client=anonymous, body=account).email == "gen@example.com"
            given = models("models").LoginLoginIn(email="gen@example.com", password=PASSWORD)
            tokens = login.sync(client=anonymous, body=given)
        with root.AuthenticatedClient(base_url=base, token=tokens.access_token) as client:
            drive_books(client, api, models)
            drive_an_import(client, api)


def drive_books(client: Any, api: Any, models: Any) -> None:
    book_in = models("models").CreateBookBookIn
    for isbn in ("0-441-01359-7", "0-7432-7356-7", "0-06-112008-1"):
        created = api("api.books.create_book").sync(
            client=client, body=book_in(isbn=isbn, title="Generated", authors=["A. Client"])
        )
        assert created.title == "Generated"
    first = api("api.books.list_books").sync(client=client, limit=2)
    second = api("api.books.list_books").sync(client=client, limit=2, cursor=first.next_cursor)
    ids = [book.id for book in first.items + second.items]
    assert len(ids) == len(set(ids)) == 3, "paging walks every book once"
    read = api("api.books.get_book").sync_detailed(book_id=ids[0], client=client)
    etag = read.headers["ETag"]
    patch = models("models").ChangeBookBookPatch(title="Changed")
    changed = api("api.books.change_book").sync_detailed(
        book_id=ids[0], client=client, body=patch, if_match=etag
    )
    assert changed.status_code == 200 and changed.parsed.title == "Changed"
    stale = api("api.books.change_book").sync_detailed(
        book_id=ids[0], client=client, body=patch, if_match=etag
    )
    assert stale.status_code == 412 and stale.parsed.status == 412  # a Problem


def drive_an_import(client: Any, api: Any) -> None:
    # The generated import call sends a binary body (the generator has no text upload);
    # the client's own connection sends the CSV as the API documents it.
    csv = "isbn,title,authors\n978-0-14-044913-6,Crime and Punishment,Fyodor Dostoevsky\n"
    submitted = client.get_httpx_client().post(
        "/api/v1/imports", content=csv.encode(), headers={"Content-Type": "text/csv"}
    )
    assert submitted.status_code == 202, submitted.text
    job_id = submitted.json()["id"]
    deadline = time.monotonic() + 60
    while True:
        job = api("api.jobs.get_job").sync(job_id=job_id, client=client)
        if job.state.value in ("succeeded", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert job.state.value == "succeeded" and job.result["inserted"] == 1, job
