"""Development tooling (not shipped): local servers, the dev stack and its reload, demo data."""

from __future__ import annotations

from .demo_data import DEMO_BOOKS, DEMO_EMAIL, DEMO_PASSWORD, offer_demo_data
from .mongo_server import start_mongo
from .processes import VAR_DIR, DevStackError, Server, free_port, start_redis

__all__ = [
    "DEMO_BOOKS",
    "DEMO_EMAIL",
    "DEMO_PASSWORD",
    "VAR_DIR",
    "DevStackError",
    "Server",
    "free_port",
    "offer_demo_data",
    "start_mongo",
    "start_redis",
]
