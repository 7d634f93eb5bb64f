"""The OpenAPI document as tools use it: a tag and a readable, unique id for every operation,
one problem schema that every error refers to, servers, the auth flow; /docs under a CSP."""

from __future__ import annotations

import re
from typing import Any

from quart.typing import TestClientProtocol as Client

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


async def document(client: Client) -> dict[str, Any]:
    answer: dict[str, Any] = await (await client.get("/openapi.json")).get_json()
    return answer


async def test_every_operation_has_a_readable_unique_id_and_a_tag(client: Client) -> None:
    spec = await document(client)
    operations = [op for ops in spec["paths"].values() for op in ops.values()]
    ids = [op["operationId"] for op in operations]
    assert len(ids) == len(set(ids)) and all(re.fullmatch(r"[a-z][A-Za-z]+", i) for i in ids), ids
    assert {"listBooks", "getBook", "createBook", "changeBook", "submitImport"} <= set(ids)
    tags = {tag["name"] for tag in spec["tags"]}
    assert all(len(op["tags"]) == 1 and op["tags"][0] in tags for op in operations)
    assert all(tag["description"] for tag in spec["tags"])
    assert spec["servers"] and "Bearer" in spec["info"]["description"]


async def test_every_error_refers_to_the_one_problem_schema(client: Client) -> None:
    spec = await document(client)
    errors = [
        response
        for ops in spec["paths"].values()
        for op in ops.values()
        for status, response in op["responses"].items()
        if status.isdigit() and int(status) >= 400
    ]
    assert errors
    for response in errors:
        assert list(response["content"]) == ["application/problem+json"]
        assert response["content"]["application/problem+json"]["schema"] == PROBLEM_REF
    assert spec["components"]["schemas"]["Problem"]["properties"]["status"]


async def test_the_docs_page_runs_no_inline_script_under_its_policy(client: Client) -> None:
    page = await client.get("/docs")
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("style-src")[0]
    html = await page.get_data(as_text=True)
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == [], "every script is a file"
    start = await client.get("/docs/assets/bookapi-start.js")
    assert start.status_code == 200 and "SwaggerUIBundle" in await start.get_data(as_text=True)
