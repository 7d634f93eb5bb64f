"""Opaque keyset-pagination cursors: the position after the last item of a page."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from bson import ObjectId

from .errors import APIError


def fingerprint(query: dict[str, Any]) -> str:
    """A short digest of the filters and order, so a cursor cannot be replayed on another query."""
    canonical = json.dumps(query, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def encode_cursor(position: dict[str, Any]) -> str:
    raw = json.dumps(position, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, expected_fingerprint: str) -> dict[str, Any]:
    """The position a cursor holds (its `i`, the last item's id, as an ObjectId); 400 if it
    is damaged or belongs to another query."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        position = json.loads(raw)
    except (binascii.Error, ValueError) as error:
        raise invalid_cursor("the cursor is damaged") from error
    if not isinstance(position, dict) or position.get("f") != expected_fingerprint:
        raise invalid_cursor("the cursor belongs to a different query")
    if not isinstance(position.get("i"), str) or not ObjectId.is_valid(position["i"]):
        raise invalid_cursor("the cursor is damaged")
    return {**position, "i": ObjectId(position["i"])}


def invalid_cursor(detail: str) -> APIError:
    return APIError(
        400,
        detail,
        code="invalid-cursor",
        errors=[{"loc": ["query", "cursor"], "msg": detail}],
    )
