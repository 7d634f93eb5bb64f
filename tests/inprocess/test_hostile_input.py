"""Hostile input never escapes its row or its request: a tampered cursor, an oversized CSV
cell, deep nesting anywhere a client's JSON is parsed, a binary upload, an address typed in
another Unicode form."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import pytest
from quart.testing.connections import WebsocketDisconnectError
from quart.typing import TestClientProtocol as Client

from bookapi.domain.books.files import CSV, JSON_LINES, read_rows
from bookapi.worker.importer import validate_row
from tests.helpers import AUTH, NDJSON, PASSWORD, login, register
from tests.helpers import CSV as CSV_HEADERS

BOOKS = "/api/v1/books"
DEEP = "[" * 100_000 + "]" * 100_000


def cursor(position: dict[str, Any]) -> str:
    raw = json.dumps(position, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


async def test_every_tampered_cursor_is_a_400(client: Client) -> None:
    page = await (await client.get(f"{BOOKS}?sort=published_year&limit=1")).get_json()
    fingerprint = "x"
    if page["next_cursor"]:
        fingerprint = json.loads(base64.urlsafe_b64decode(page["next_cursor"] + "==="))["f"]
    for value in (
        2**70,
        -(2**70),
        {"t": "9999-12-31T23:59:59-23:59"},
        {"t": "0001-01-01T00:00:00+23:59"},
    ):
        tampered = cursor({"f": fingerprint, "i": "a" * 24, "v": value})
        answer = await client.get(f"{BOOKS}?sort=published_year&limit=1&cursor={tampered}")
        assert answer.status_code == 400, (value, answer.status_code)
    nested = base64.urlsafe_b64encode(DEEP.encode()).decode().rstrip("=")[:1000]
    assert (await client.get(f"{BOOKS}?cursor={nested}")).status_code == 400


def test_a_cell_past_the_csv_field_limit_fails_its_row_only() -> None:
    huge = "x" * 200_000
    text = f"isbn,title,authors\n0-441-01359-7,{huge},Frank Herbert\n0-441-01359-7,Dune,Frank\n"
    rows = list(read_rows(io.BytesIO(text.encode()), CSV))
    assert len(rows) == 2
    assert isinstance(rows[0][1], str) and "cannot be read" in rows[0][1]
    assert not isinstance(validate_row(rows[1][1]), str)


def test_a_deeply_nested_json_line_fails_its_row_only() -> None:
    text = DEEP + '\n{"isbn": "0-441-01359-7", "title": "Dune", "authors": ["F"]}\n'
    rows = list(read_rows(io.BytesIO(text.encode()), JSON_LINES))
    assert rows[0][1] == "not valid JSON: nested too deeply"
    assert isinstance(rows[1][1], dict)


async def test_a_deeply_nested_first_websocket_message_closes_with_1008(client: Client) -> None:
    async with client.websocket(f"/api/v1/jobs/{'a' * 24}/events") as socket:
        await socket.send(DEEP)
        with pytest.raises(WebsocketDisconnectError) as closed:
            await socket.receive()
    assert closed.value.args == (1008,), "a bad first message is a policy violation, not an end"


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "NUL"),
        (b'{"isbn": "\xff\xfe"}\n', "UTF-8"),
    ],
)
async def test_an_upload_that_is_not_text_is_refused_at_once(
    client: Client, auth_header: dict[str, str], body: bytes, why: str
) -> None:
    for kind in (CSV_HEADERS, NDJSON):
        answer = await client.post("/api/v1/imports", data=body, headers={**auth_header, **kind})
        assert answer.status_code == 400
        assert why in (await answer.get_json())["detail"]
    jobs = await (await client.get("/api/v1/jobs", headers=auth_header)).get_json()
    assert jobs["items"] == [], "no job was made of it"


@pytest.mark.parametrize(
    ("registered", "typed"),
    [
        ("Jose\u0301@example.com", "Jose\u0301@example.com"),  # a decomposed accent
        ("Jose\u0301@example.com", "José@example.com"),  # the composed one
        ("ada@ｅｘａｍｐｌｅ.com", "ada@ｅｘａｍｐｌｅ.com"),  # full-width letters in the domain
        ("ada@ｅｘａｍｐｌｅ.com", "ADA@example.com"),
    ],
)
async def test_an_address_logs_in_as_it_was_registered(
    client: Client, registered: str, typed: str
) -> None:
    assert (await register(client, registered)).status_code == 201
    assert (await login(client, typed, PASSWORD)).status_code == 200
    duplicate = await client.post(f"{AUTH}/register", json={"email": typed, "password": PASSWORD})
    assert duplicate.status_code == 409
