"""CLI for bulk data: `import-books` (the worker's code path, with a progress bar) and
`demo-books` (realistic books with valid ISBNs, to a file or straight into the database).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import click
from gridfs import GridFSBucket
from quart import Quart

from settings import Config

from .jobs.connections import worker_connections
from .jobs.demo import demo_books, write_csv, write_ndjson
from .jobs.runner import execute_job
from .repos import jobs as jobs_repo
from .repos.users import email_key

FORMATS_BY_SUFFIX = {".csv": "csv", ".ndjson": "ndjson", ".jsonl": "ndjson"}


def _owner_id(db: Any, email: str) -> str:
    user = db["users"].find_one({"email_key": email_key(email)}, {"_id": 1})
    if user is None:
        raise click.ClickException(f"no user with email {email}: register one first")
    return str(user["_id"])


def import_file(settings: Config, path: Path, owner: str, on_conflict: str) -> dict[str, Any]:
    """Import `path` as a job of `owner` through the same code the worker runs."""
    file_format = FORMATS_BY_SUFFIX.get(path.suffix.lower())
    if file_format is None:
        raise click.ClickException("the file must end in .csv, .ndjson or .jsonl")
    db, redis = worker_connections(settings)
    job = jobs_repo.new_job(
        "import", _owner_id(db, owner), {"on_conflict": on_conflict, "format": file_format}
    )
    with path.open("rb") as source:  # streamed into GridFS, like an upload
        job["params"]["file_id"] = GridFSBucket(db).upload_from_stream(
            path.name, source, metadata={"job_id": job["_id"]}
        )
    db["jobs"].insert_one(job)
    with click.progressbar(length=1, label=f"Importing {path.name}") as bar:

        def show(done: int, total: int | None) -> None:
            bar.length = max(total or 0, 1)
            bar.update(done - bar.pos)

        execute_job(db, redis, settings, str(job["_id"]), on_progress=show)
    finished: dict[str, Any] = db["jobs"].find_one({"_id": job["_id"]})
    return finished


def _report(job: dict[str, Any]) -> None:
    if job["state"] != "succeeded":
        raise click.ClickException(f"the import failed: {job['error']}")
    result = job["result"]
    click.echo(
        f"job {job['_id']}: inserted {result['inserted']}, updated {result['updated']}, "
        f"skipped {result['skipped']}, failed {result['failed']}"
    )
    for error in result["errors"][:10]:
        click.echo(f"  line {error['line']}: {error['error']}")


def init_app(app: Quart) -> None:
    settings: Config = app.extensions["settings"]

    @app.cli.command("import-books")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--owner", required=True, help="Email of the user the books belong to.")
    @click.option("--on-conflict", type=click.Choice(["skip", "update"]), default="skip")
    def import_books(path: Path, owner: str, on_conflict: str) -> None:
        """Import a CSV or NDJSON file of books, with a progress bar."""
        _report(import_file(settings, path, owner, on_conflict))

    @app.cli.command("demo-books")
    @click.argument("count", type=click.IntRange(1, 10_000_000))
    @click.option(
        "--out",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Write a .csv or .ndjson file instead of importing.",
    )
    @click.option("--owner", help="Email of the owner, when importing into the database.")
    @click.option("--seed", default=1, show_default=True, help="Same seed, same books.")
    def demo_books_command(count: int, out: Path | None, owner: str | None, seed: int) -> None:
        """Generate COUNT realistic demo books with valid ISBNs."""
        if out is not None:
            writer = write_csv if out.suffix.lower() == ".csv" else write_ndjson
            with out.open("w", encoding="utf-8") as target:
                written = writer(demo_books(count, seed), target)
            click.echo(f"wrote {written} books to {out}")
            return
        if owner is None:
            raise click.UsageError("give --out FILE, or --owner EMAIL to import into the database")
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "demo-books.ndjson"
            with path.open("w", encoding="utf-8") as target:
                write_ndjson(demo_books(count, seed), target)
            _report(import_file(settings, path, owner, "skip"))
