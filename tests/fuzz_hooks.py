"""Schemathesis hooks for tests/test_fuzz.py (loaded through SCHEMATHESIS_HOOKS).

- Every case gets a freshly signed token (a refresh token for `/auth/refresh`): a fuzzed
  `POST /auth/logout` revokes the token it was sent with, which would otherwise turn
  every later case into a 401.
- Positive cases learn the two rules no JSON Schema can state (and which the document
  states in words): an ISBN's check digit, and that a cursor is only ever one the server
  gave out (a made-up one is a 400, by design). So a positive case gets its ISBNs' check
  digits corrected, drops a made-up `cursor` or ETag (`If-Match`, `If-None-Match`: a
  made-up one is a 412 or a miss, by design), and puts `year_min`/`year_max` in order.
  Negative cases are left alone.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from typing import Any

import jwt
import schemathesis
from schemathesis.generation.modes import GenerationMode

from bookapi.domain.books.isbn import isbn10_check_digit, isbn13_check_digit
from bookapi.web.security.signing_keys import key_id

ISBN_DIGITS = re.compile(r"[0-9Xx]")


def signed_token(token_type: str) -> str:
    key = os.environ["FUZZ_JWT_SECRET_KEY"]
    now = int(time.time())
    claims = {
        "iss": "bookapi",
        "aud": "bookapi",
        "sub": os.environ["FUZZ_USER_ID"],
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
        "type": token_type,
        "user_claims": {"role": "user"},
    }
    return jwt.encode(claims, key, algorithm="HS256", headers={"kid": key_id(key)})


# An NDJSON upload is text on the wire, as text/plain is.
schemathesis.serializer.alias("application/x-ndjson", "text/plain")


@schemathesis.auth(refresh_interval=None)
class FreshAccessToken:
    def get(self, case: Any, context: Any) -> str:
        # `/auth/refresh` takes a refresh token; every other route an access token.
        refreshing = case.operation.path.endswith("/auth/refresh")
        return signed_token("refresh" if refreshing else "access")

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


def with_check_digit(isbn: str) -> str:
    """`isbn` with its last digit replaced by the right check digit (the form kept)."""
    digits = [match for match in ISBN_DIGITS.finditer(isbn)]
    values = "".join(match.group() for match in digits[:-1])
    check = isbn13_check_digit(values) if len(digits) == 13 else isbn10_check_digit(values)
    last = digits[-1]
    return isbn[: last.start()] + check + isbn[last.end() :]


def is_positive(case: Any) -> bool:
    meta = getattr(case, "meta", None)
    return meta is not None and meta.generation.mode == GenerationMode.POSITIVE


def year(value: object) -> float | None:
    try:
        return float(str(value))
    except ValueError:
        return None


def order_years(values: dict[str, Any]) -> None:
    low, high = year(values.get("year_min")), year(values.get("year_max"))
    if low is not None and high is not None and low > high:
        values["year_min"], values["year_max"] = values["year_max"], values["year_min"]


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Runs on every case of every phase, just before it is sent."""
    if not is_positive(case):
        return
    if isinstance(case.body, dict):
        if isinstance(case.body.get("isbn"), str):
            case.body["isbn"] = with_check_digit(case.body["isbn"])
        order_years(case.body)
    if isinstance(case.query, dict):
        case.query.pop("cursor", None)
        order_years(case.query)
    if isinstance(case.headers, dict):
        case.headers.pop("If-Match", None)
        case.headers.pop("If-None-Match", None)
