"""Bulk data from the terminal: `import-books` (the worker's own code path, with a progress
bar) and `demo-books` (realistic books with valid ISBNs, to a file or into the database)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from settings import Config

from ..domain.accounts.user_repository import find_user_by_email_sync
from ..domain.books.demo import demo_books
from ..domain.books.files import FORMATS, JSON_LINES, format_for_path, write_books
from ..domain.jobs.records import (
    OnConflict,
    StoredJob,
    file_metadata,
    new_import_job,
    upload_filename,
)
from ..worker.runner import execute_job
from ..worker.store import WorkerStore, worker_store

SUFFIXES = ", ".join(suffix for f in FORMATS.values() for suffix in f.suffixes)


def _owner(store: WorkerStore, email: str) -> tuple[str, bool]:
    """The id of the user with this email, and whether they are an admin."""
    user = find_user_by_email_sync(store.db, email)
    if user is None:
        raise click.ClickException(f"no user with email {email}: register one first")
    return str(user["_id"]), user["role"] == "admin"


def import_file(settings: Config, path: Path, owner: str, on_conflict: OnConflict) -> StoredJob:
    """Import `path` as a job of `owner` through the same code the worker runs."""
    file_format = format_for_path(path)
    if file_format is None:
        raise click.ClickException(f"the file must end in one of {SUFFIXES}")
    store = worker_store(settings)
    owner_id, is_admin = _owner(store, owner)
    job = new_import_job(owner_id, file_format, on_conflict, owner_is_admin=is_admin)
    with path.open("rb") as source:  # streamed into GridFS, like an upload
        job["params"]["file_id"] = store.files.upload_from_stream(
            upload_filename(job), source, metadata=file_metadata(job)
        )
    store.jobs.insert_one(job)
    with click.progressbar(length=1, label=f"Importing {path.name}") as bar:

        def show(done: int, total: int | None) -> None:
            bar.length = max(total or 0, 1)
            bar.update(done - bar.pos)

        execute_job(store, str(job["_id"]), on_progress=show)
    finished = store.jobs.find_one({"_id": job["_id"]})
    assert finished is not None, "the job record vanished"
    return finished


def _report(job: StoredJob) -> None:
    if job["state"] != "succeeded" or job["result"] is None:
        raise click.ClickException(f"the import failed: {job['error']}")
    result = job["result"]
    click.echo(
        f"job {job['_id']}: inserted {result['inserted']}, updated {result['updated']}, "
        f"skipped {result['skipped']}, failed {result['failed']}"
    )
    errors = result["errors"]
    for error in errors[:10] if isinstance(errors, list) else []:
        click.echo(f"  line {error['line']}: {error['error']}")


@click.command("import-books")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--owner", required=True, help="Email of the user the books belong to.")
@click.option(
    "--on-conflict",
    type=click.Choice(["skip", "update"]),
    default="skip",
    show_default=True,
    help="A book whose ISBN exists: keep it (skip) or change it to the row (update).",
)
@click.pass_obj
def import_books(settings: Config, path: Path, owner: str, on_conflict: OnConflict) -> None:
    """Import a CSV or JSON Lines file of books, with a progress bar."""
    _report(import_file(settings, path, owner, on_conflict))


@click.command("demo-books")
@click.argument("count", type=click.IntRange(1, 10_000_000))
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help=f"Write a file ({SUFFIXES}) instead of importing.",
)
@click.option("--owner", help="Email of the owner, when importing into the database.")
@click.option("--seed", default=1, show_default=True, help="Same seed, same books.")
@click.pass_obj
def demo_books_command(
    settings: Config, count: int, out: Path | None, owner: str | None, seed: int
) -> None:
    """Generate COUNT realistic demo books with valid ISBNs."""
    if out is not None:
        file_format = format_for_path(out)
        if file_format is None:
            raise click.UsageError(f"--out must end in one of {SUFFIXES}")
        with out.open("w", encoding="utf-8") as target:
            written = write_books(demo_books(count, seed), file_format, target)
        click.echo(f"wrote {written} books to {out}")
        return
    if owner is None:
        raise click.UsageError("give --out FILE, or --owner EMAIL to import into the database")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "demo-books.jsonl"
        with path.open("w", encoding="utf-8") as target:
            write_books(demo_books(count, seed), JSON_LINES, target)
        _report(import_file(settings, path, owner, "skip"))
