"""ISBN-10 / ISBN-13 validation and normalisation to the 13-digit form."""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s-]")
_ISBN10 = re.compile(r"\d{9}[\dX]")
_ISBN13 = re.compile(r"\d{13}")


class InvalidISBNError(ValueError):
    pass


def isbn10_check_digit(first_nine: str) -> str:
    total = sum((10 - position) * int(digit) for position, digit in enumerate(first_nine))
    check = (11 - total % 11) % 11
    return "X" if check == 10 else str(check)


def isbn13_check_digit(first_twelve: str) -> str:
    total = sum(
        int(digit) * (3 if position % 2 else 1) for position, digit in enumerate(first_twelve)
    )
    return str((10 - total % 10) % 10)


def normalize_isbn(raw: str) -> str:
    """Return the ISBN-13 of an ISBN-10 or ISBN-13 (hyphens/spaces allowed); raise if invalid."""
    compact = _SEPARATORS.sub("", raw).upper()
    if _ISBN13.fullmatch(compact):
        if not compact.startswith(("978", "979")):
            raise InvalidISBNError("an ISBN-13 starts with 978 or 979")
        if isbn13_check_digit(compact[:12]) != compact[12]:
            raise InvalidISBNError("the ISBN-13 check digit is wrong")
        return compact
    if _ISBN10.fullmatch(compact):
        if isbn10_check_digit(compact[:9]) != compact[9]:
            raise InvalidISBNError("the ISBN-10 check digit is wrong")
        body = "978" + compact[:9]
        return body + isbn13_check_digit(body)
    raise InvalidISBNError("an ISBN has 10 or 13 digits (hyphens and spaces allowed)")
