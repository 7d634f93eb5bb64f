"""`python -m bookapi.cli create-admin EMAIL` (the first admin; later admins promote others
through `PATCH /api/v1/users/{id}` or the console) and `create-user EMAIL` (an ordinary
account, as registering makes one; for scripts)."""

from __future__ import annotations

import asyncio
import sys

import click
from pydantic import ValidationError

from settings import Config

from ..domain.accounts import user_repository as users_repo
from ..domain.accounts.account_schemas import RegisterIn
from ..domain.errors import DuplicateEmailError
from ..storage.mongo import close_async_client, create_async_client, database_name


def _read_password() -> str:
    if sys.stdin.isatty():
        password: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        return password
    return sys.stdin.readline().rstrip("\n")


def _new_account(email: str) -> RegisterIn:
    """`email` and a password read from the terminal or stdin, checked as a registration."""
    try:
        return RegisterIn(email=email, password=_read_password())
    except ValidationError as error:
        raise click.ClickException(
            "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in error.errors())
        ) from error


async def make_admin(settings: Config, email: str) -> str:
    """Promote `email` to admin, or create it as one; say which happened."""
    client = create_async_client(settings)
    db = client[database_name(settings)]
    try:
        await users_repo.ensure_user_indexes(db)
        if await users_repo.set_role(db, email, "admin"):
            return f"{email} is now an admin"
        account = _new_account(email)
        await users_repo.insert_user(db, account.email, account.password, None, role="admin")
        return f"created admin {account.email}"
    finally:
        await close_async_client(client)


async def make_user(settings: Config, email: str) -> str:
    """Create `email` as an ordinary user unless it exists; say which happened."""
    client = create_async_client(settings)
    db = client[database_name(settings)]
    try:
        await users_repo.ensure_user_indexes(db)
        account = _new_account(email)
        try:
            await users_repo.insert_user(db, account.email, account.password, None)
        except DuplicateEmailError:
            return f"{account.email} exists already"
        return f"created user {account.email}"
    finally:
        await close_async_client(client)


@click.command("create-admin")
@click.argument("email")
@click.pass_obj
def create_admin(settings: Config, email: str) -> None:
    """Promote EMAIL to admin, or create it as an admin (password from a prompt or stdin)."""
    click.echo(asyncio.run(make_admin(settings, email)))


@click.command("create-user")
@click.argument("email")
@click.pass_obj
def create_user(settings: Config, email: str) -> None:
    """Create EMAIL as an ordinary user (password from a prompt or stdin)."""
    click.echo(asyncio.run(make_user(settings, email)))
