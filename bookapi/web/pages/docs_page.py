"""The interactive API docs at /docs: Swagger UI 5 served from an installed package, no CDN.

quart-schema's own page loads Swagger UI from a CDN, which fails offline and behind strict
egress rules; the assets here come from the `swagger-ui-py` wheel (its `static` folder,
found without importing the package, whose own code targets other frameworks).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from quart import Quart, Response, send_from_directory
from quart_schema import hide

from ..http.problems import APIError

# Only what the page needs: the wheel also carries Swagger Editor (tens of MB).
ASSETS = frozenset({"swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"})
ASSET_MAX_AGE_SECONDS = 24 * 60 * 60

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>bookapi: API docs</title>
  <link rel="icon" href="/docs/assets/favicon-32x32.png">
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui" data-openapi="/openapi.json"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/assets/bookapi-start.js"></script>
</body>
</html>
"""


# The page's own script, served as a file: the policy below allows no inline script.
START_ASSET = "bookapi-start.js"
START = (
    'const root = document.getElementById("swagger-ui");\n'
    'window.ui = SwaggerUIBundle({url: root.dataset.openapi, dom_id: "#swagger-ui", '
    "deepLinking: true});\n"
)
# Only this origin: the page's scripts, its API calls ("Try it out") and images. Swagger UI
# sets style attributes as it renders, so styles allow inline ones; scripts never do.
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)


def swagger_ui_assets() -> Path:
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("swagger-ui-py is not installed: pip install -r requirements.txt")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def init_app(app: Quart) -> None:
    assets = swagger_ui_assets()

    @app.get("/docs")
    @hide
    async def docs_page() -> Response:
        return Response(
            PAGE,
            content_type="text/html; charset=utf-8",
            headers={"Content-Security-Policy": POLICY},
        )

    @app.get("/docs/assets/<name>")
    @hide
    async def docs_asset(name: str) -> Response:
        if name == START_ASSET:
            return Response(START, content_type="text/javascript; charset=utf-8")
        if name not in ASSETS:
            raise APIError(404, f"There is no docs asset {name!r}.", code="not-found")
        return await send_from_directory(assets, name, cache_timeout=ASSET_MAX_AGE_SECONDS)
