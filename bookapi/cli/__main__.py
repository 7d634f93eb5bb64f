"""`python -m bookapi.cli COMMAND`: the service's command-line tools, a process of their own.

The CLI runs jobs through the worker's own code (`import-books`), so it is neither the API
process nor the worker; it reads the same settings as both.
"""

from __future__ import annotations

import sys

import click

from settings import ConfigError, load_settings

from .account_commands import create_admin, create_user
from .book_commands import demo_books_command, import_books
from .schema_command import schema


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def cli(context: click.Context) -> None:
    """bookapi's tools: accounts and bulk data, on the database the settings name."""
    try:
        context.obj = load_settings()
    except ConfigError as error:
        click.echo(f"bookapi: configuration error: {error}", err=True)
        sys.exit(2)


for command in (create_admin, create_user, import_books, demo_books_command, schema):
    cli.add_command(command)


if __name__ == "__main__":
    cli(prog_name="python -m bookapi.cli")
