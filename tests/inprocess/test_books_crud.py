"""Every books route of the contract, against a real MongoDB-protocol server, with both drivers."""

from __future__ import annotations

import asyncio
from typing import Any

from quart.typing import TestClientProtocol as Client

from tests.helpers import BOTH_DRIVERS, DUNE, OWNER_ID, MintToken

DUNE_ISBN13 = "9780441013593"

pytestmark = BOTH_DRIVERS


async def create(client: Client, headers: dict[str, str], **fields: Any) -> Any:
    response = await client.post("/api/v1/books", json={**DUNE, **fields}, headers=headers)
    assert response.status_code == 201, await response.get_data()
    return response


async def test_create_returns_book_with_location_and_normalised_isbn(
    client: Client, auth_header: dict[str, str]
) -> None:
    response = await create(
        client,
        auth_header,
        published_year=1965,
        publisher="Chilton Books",
        language="en",
        pages=412,
        tags=["science-fiction"],
        description="Spice.",
    )
    book = await response.get_json()
    assert response.headers["Location"] == f"/api/v1/books/{book['id']}"
    assert book["isbn"] == DUNE_ISBN13
    assert book["created_by"] == OWNER_ID
    assert book["created_at"].endswith("Z") and book["created_at"] == book["updated_at"]
    assert {k: book[k] for k in ("title", "authors", "published_year", "pages", "tags")} == {
        "title": "Dune",
        "authors": ["Frank Herbert"],
        "published_year": 1965,
        "pages": 412,
        "tags": ["science-fiction"],
    }
    assert "_id" not in book and "version" not in book and "title_key" not in book


async def test_created_by_comes_from_the_token_not_the_body(
    client: Client, auth_header: dict[str, str]
) -> None:
    response = await client.post(
        "/api/v1/books", json={**DUNE, "created_by": "b" * 24}, headers=auth_header
    )
    assert response.status_code == 400


async def test_get_by_id_with_etag_and_304(client: Client, auth_header: dict[str, str]) -> None:
    book = await (await create(client, auth_header)).get_json()
    response = await client.get(f"/api/v1/books/{book['id']}")
    assert response.status_code == 200
    assert await response.get_json() == book
    etag = response.headers["ETag"]
    not_modified = await client.get(f"/api/v1/books/{book['id']}", headers={"If-None-Match": etag})
    assert not_modified.status_code == 304
    assert not_modified.headers["ETag"] == etag
    other = await client.get(f"/api/v1/books/{book['id']}", headers={"If-None-Match": '"x-1"'})
    assert other.status_code == 200


async def test_unknown_and_malformed_ids_are_404(client: Client) -> None:
    for book_id in ("0" * 24, "not-an-id", "abcdefghijkl", "A" * 24):
        response = await client.get(f"/api/v1/books/{book_id}")
        assert response.status_code == 404, book_id
        assert response.mimetype == "application/problem+json"


async def test_isbn10_and_isbn13_forms_of_one_book_conflict(
    client: Client, auth_header: dict[str, str]
) -> None:
    first = await (await create(client, auth_header)).get_json()
    response = await client.post(
        "/api/v1/books", json={**DUNE, "isbn": "978 0 441 01359 3"}, headers=auth_header
    )
    assert response.status_code == 409
    problem = await response.get_json()
    assert first["id"] in problem["detail"]
    assert problem["status"] == 409


async def test_wrong_check_digit_is_400(client: Client, auth_header: dict[str, str]) -> None:
    for isbn in ("0-441-01359-8", "9780441013594", "12345", "97804410135931"):
        response = await client.post(
            "/api/v1/books", json={**DUNE, "isbn": isbn}, headers=auth_header
        )
        assert response.status_code == 400, isbn
        problem = await response.get_json()
        assert problem["errors"][0]["loc"] == ["body", "isbn"]


async def test_twenty_concurrent_posts_of_one_isbn_give_one_201(
    client: Client, auth_header: dict[str, str]
) -> None:
    responses = await asyncio.gather(
        *(client.post("/api/v1/books", json=DUNE, headers=auth_header) for _ in range(20))
    )
    codes = sorted(response.status_code for response in responses)
    assert codes == [201] + [409] * 19
    listing = await (await client.get("/api/v1/books")).get_json()
    assert len(listing["items"]) == 1


async def test_put_replaces_every_input_field(client: Client, auth_header: dict[str, str]) -> None:
    created = await create(client, auth_header, pages=412, tags=["sf"])
    book = await created.get_json()
    replacement = {"isbn": "978-0-14-303943-3", "title": "Dune Messiah", "authors": ["F. H."]}
    response = await client.put(
        f"/api/v1/books/{book['id']}", json=replacement, headers=auth_header
    )
    assert response.status_code == 200
    replaced = await response.get_json()
    assert replaced["title"] == "Dune Messiah" and replaced["isbn"] == "9780143039433"
    assert replaced["pages"] is None and replaced["tags"] == []
    assert replaced["created_at"] == book["created_at"]
    assert replaced["updated_at"] >= book["updated_at"]
    current = await client.get(f"/api/v1/books/{book['id']}")
    assert response.headers["ETag"] == current.headers["ETag"] != created.headers["ETag"]


async def test_patch_changes_only_given_fields(client: Client, auth_header: dict[str, str]) -> None:
    book = await (await create(client, auth_header, pages=412, language="en")).get_json()
    response = await client.patch(
        f"/api/v1/books/{book['id']}", json={"pages": 500, "language": None}, headers=auth_header
    )
    assert response.status_code == 200
    patched = await response.get_json()
    assert patched["pages"] == 500 and patched["language"] is None
    assert patched["title"] == "Dune" and patched["isbn"] == DUNE_ISBN13


async def test_patch_rejects_null_required_field_and_empty_body(
    client: Client, auth_header: dict[str, str]
) -> None:
    book = await (await create(client, auth_header)).get_json()
    for body in ({"title": None}, {}):
        response = await client.patch(f"/api/v1/books/{book['id']}", json=body, headers=auth_header)
        assert response.status_code == 400, body
    unchanged = await (await client.get(f"/api/v1/books/{book['id']}")).get_json()
    assert unchanged == book


async def test_patch_with_stale_if_match_is_412_and_changes_nothing(
    client: Client, auth_header: dict[str, str]
) -> None:
    book = await (await create(client, auth_header)).get_json()
    url = f"/api/v1/books/{book['id']}"
    first_etag = (await client.get(url)).headers["ETag"]
    fresh = await client.patch(
        url, json={"pages": 1}, headers={**auth_header, "If-Match": first_etag}
    )
    assert fresh.status_code == 200
    assert fresh.headers["ETag"] != first_etag
    stale = await client.patch(
        url, json={"pages": 2}, headers={**auth_header, "If-Match": first_etag}
    )
    assert stale.status_code == 412
    assert (await stale.get_json())["status"] == 412
    assert (await (await client.get(url)).get_json())["pages"] == 1


async def test_patch_duplicate_isbn_is_409(client: Client, auth_header: dict[str, str]) -> None:
    await create(client, auth_header)
    other = await (await create(client, auth_header, isbn="9780143039433")).get_json()
    response = await client.patch(
        f"/api/v1/books/{other['id']}", json={"isbn": DUNE_ISBN13}, headers=auth_header
    )
    assert response.status_code == 409


async def test_delete_then_gone(client: Client, auth_header: dict[str, str]) -> None:
    book = await (await create(client, auth_header)).get_json()
    url = f"/api/v1/books/{book['id']}"
    response = await client.delete(url, headers=auth_header)
    assert response.status_code == 204
    assert (await client.get(url)).status_code == 404
    assert (await client.delete(url, headers=auth_header)).status_code == 404


async def test_writes_need_an_access_token(client: Client) -> None:
    missing = await client.post("/api/v1/books", json=DUNE)
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    garbage = await client.post(
        "/api/v1/books", json=DUNE, headers={"Authorization": "Bearer not.a.jwt"}
    )
    assert garbage.status_code == 401
    assert (await client.get("/api/v1/books")).status_code == 200


async def test_other_user_gets_403_and_admin_may_change(
    client: Client, auth_header: dict[str, str], mint_token: MintToken
) -> None:
    book = await (await create(client, auth_header)).get_json()
    url = f"/api/v1/books/{book['id']}"
    stranger = {"Authorization": f"Bearer {await mint_token('c' * 24)}"}
    for method, body in (("PUT", DUNE), ("PATCH", {"pages": 9}), ("DELETE", None)):
        response = await client.open(url, method=method, json=body, headers=stranger)
        assert response.status_code == 403, method
    assert await (await client.get(url)).get_json() == book
    admin = {"Authorization": f"Bearer {await mint_token('d' * 24, role='admin')}"}
    patched = await client.patch(url, json={"pages": 9}, headers=admin)
    assert patched.status_code == 200
    assert (await client.delete(url, headers=admin)).status_code == 204


async def test_put_and_delete_honour_if_match(client: Client, auth_header: dict[str, str]) -> None:
    book = await (await create(client, auth_header)).get_json()
    url = f"/api/v1/books/{book['id']}"
    first = (await client.get(url)).headers["ETag"]
    replaced = await client.put(url, json=DUNE, headers={**auth_header, "If-Match": first})
    assert replaced.status_code == 200
    stale_put = await client.put(url, json=DUNE, headers={**auth_header, "If-Match": first})
    assert stale_put.status_code == 412
    stale_delete = await client.delete(url, headers={**auth_header, "If-Match": first})
    assert stale_delete.status_code == 412
    assert (await client.get(url)).status_code == 200
    current = (await client.get(url)).headers["ETag"]
    deleted = await client.delete(url, headers={**auth_header, "If-Match": current})
    assert deleted.status_code == 204
