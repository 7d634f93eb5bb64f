"""`python -m bookapi.cli schema [--output FILE]`: the OpenAPI document, as /openapi.json serves
it, without a running server or database (for client generators and CI checks)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import click

from settings import Config

from ..web.app import create_app
from ..web.http.paths import OPENAPI_PATH


async def openapi_document(settings: Config) -> dict[str, object]:
    """The document the app serves; no connection is opened for it (the app is not started)."""
    app = create_app(settings)
    async with app.app_context():
        answer = await app.test_client().get(OPENAPI_PATH)
        document: dict[str, object] = await answer.get_json()
    return document


@click.command("schema")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the document to this file instead of standard output.",
)
@click.pass_obj
def schema(settings: Config, output: Path | None) -> None:
    """Print the OpenAPI document (JSON) that /openapi.json serves."""
    settings.LOG_LEVEL = "WARNING"  # the document alone on standard output
    text = json.dumps(asyncio.run(openapi_document(settings)), indent=2)
    if output is None:
        click.echo(text)
    else:
        output.write_text(text + "\n")
        click.echo(f"wrote {output}")
