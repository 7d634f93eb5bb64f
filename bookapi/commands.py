"""CLI commands: `quart --app bookapi create-admin EMAIL`."""

from __future__ import annotations

import asyncio
import sys

import click
from pydantic import ValidationError
from quart import Quart

from .mongo import close_client, create_client, database_name
from .repos import users as users_repo
from .schemas.auth import RegisterIn


def _read_password() -> str:
    if sys.stdin.isatty():
        password: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        return password
    return sys.stdin.readline().rstrip("\n")


async def _make_admin(app: Quart, email: str) -> str:
    config = app.config
    client = create_client(config["MONGO_URI"], config["MONGO_DRIVER"], config["MONGO_TIMEOUT_MS"])
    db = client[database_name(config["MONGO_URI"], config["MONGO_DB"])]
    try:
        await users_repo.ensure_user_indexes(db)
        if await users_repo.set_role(db, email, "admin"):
            return f"{email} is now an admin"
        try:
            account = RegisterIn(email=email, password=_read_password())
        except ValidationError as error:
            raise click.ClickException(
                "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in error.errors())
            ) from error
        await users_repo.insert_user(db, account.email, account.password, None, role="admin")
        return f"created admin {account.email}"
    finally:
        await close_client(client)


def init_app(app: Quart) -> None:
    @app.cli.command("create-admin")
    @click.argument("email")
    def create_admin(email: str) -> None:
        """Promote EMAIL to admin, or create it as an admin (password from a prompt or stdin)."""
        click.echo(asyncio.run(_make_admin(app, email)))
