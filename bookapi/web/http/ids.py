"""Resource ids in URLs: 24 lower-case hex characters (a MongoDB ObjectId)."""

from __future__ import annotations

import re

from bson import ObjectId

from ...domain.errors import NotFoundError

OBJECT_ID = re.compile(r"[0-9a-f]{24}")


def parse_id(raw: str, what: str) -> ObjectId:
    # A malformed id names nothing: 404, as the contract says, not 400.
    if not OBJECT_ID.fullmatch(raw):
        raise NotFoundError(what)
    return ObjectId(raw)
