"""The console at `/`: one HTML page, a stylesheet and a script from `api/console/`, with no
build step and nothing fetched from elsewhere (the Content-Security-Policy says so too)."""

from __future__ import annotations

from pathlib import Path

from quart import Quart, Response, send_from_directory
from quart_schema import hide

from ..http.problems import APIError

FOLDER = Path(__file__).parent / "console"
# The page's scripts (ES modules) and stylesheet: every .js and .css file beside index.html.
ASSETS = frozenset(path.name for path in FOLDER.iterdir() if path.suffix in (".js", ".css"))
# Only this origin: its scripts, styles, API and websockets. No inline code, no framing.
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def init_app(app: Quart) -> None:
    @app.get("/")
    @hide
    async def console() -> Response:
        response = await send_from_directory(FOLDER, "index.html")
        response.headers["Content-Security-Policy"] = POLICY
        response.headers["Cache-Control"] = "no-cache"
        return response

    @app.get("/console/<name>")
    @hide
    async def console_asset(name: str) -> Response:
        if name not in ASSETS:
            raise APIError(404, f"There is no console asset {name!r}.", code="not-found")
        response = await send_from_directory(FOLDER, name)
        response.headers["Cache-Control"] = "no-cache"  # small; a new version shows at once
        return response
