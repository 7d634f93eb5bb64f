"""Where the API lives: one prefix for every route of the JSON API."""

from __future__ import annotations

API_PREFIX = "/api/v1"
OPENAPI_PATH = "/openapi.json"
