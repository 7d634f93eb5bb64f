"""ISBN normalisation and check digits."""

from __future__ import annotations

import pytest

from bookapi.domain.books.isbn import InvalidISBNError, normalize_isbn


@pytest.mark.parametrize(
    ("raw", "isbn13"),
    [
        ("0-441-01359-7", "9780441013593"),
        ("0441013597", "9780441013593"),
        ("978-0-441-01359-3", "9780441013593"),
        ("978 0 441 01359 3", "9780441013593"),
        ("0-8044-2957-X", "9780804429573"),
        ("0-8044-2957-x", "9780804429573"),
        ("979-10-90636-07-1", "9791090636071"),
    ],
)
def test_valid_isbns_become_isbn13(raw: str, isbn13: str) -> None:
    assert normalize_isbn(raw) == isbn13


@pytest.mark.parametrize(
    "raw",
    [
        "0-441-01359-8",
        "9780441013594",
        "977-0-441-01359-6",
        "044101359",
        "X441013597",
        "97804410135930",
        "",
        "abcdefghij",
    ],
)
def test_invalid_isbns_are_refused(raw: str) -> None:
    with pytest.raises(InvalidISBNError):
        normalize_isbn(raw)
