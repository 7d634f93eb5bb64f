"""Realistic demo books with valid ISBNs, for trying the API, the tests and benchmarks."""

from __future__ import annotations

import io
import random
from collections.abc import Iterator

from .book_schemas import BookFields
from .files import BookFileFormat, write_books
from .isbn import isbn13_check_digit

FIRST_NAMES = [
    "Ada",
    "Chinua",
    "Ursula",
    "Gabriel",
    "Toni",
    "Haruki",
    "Jorge",
    "Virginia",
    "Fyodor",
    "Octavia",
    "Italo",
    "Wisława",
    "Naguib",
    "Clarice",
    "Stanisław",
]
LAST_NAMES = [
    "Lovelace",
    "Achebe",
    "Le Guin",
    "García Márquez",
    "Morrison",
    "Murakami",
    "Borges",
    "Woolf",
    "Dostoevsky",
    "Butler",
    "Calvino",
    "Szymborska",
    "Mahfouz",
    "Lispector",
    "Lem",
]
TITLE_WORDS = [
    "Shadow",
    "River",
    "Winter",
    "Garden",
    "Machine",
    "Silence",
    "City",
    "Memory",
    "Atlas",
    "Harbor",
    "Orchard",
    "Signal",
    "Lantern",
    "Desert",
    "Archive",
    "Tide",
]
TAGS = [
    "fiction",
    "science-fiction",
    "history",
    "poetry",
    "mystery",
    "classic",
    "fantasy",
    "essays",
    "travel",
    "philosophy",
]
PUBLISHERS = ["Penguin", "Faber & Faber", "Gallimard", "Vintage", "Tor", "Picador", "Knopf"]
LANGUAGES = ["en", "en", "en", "fr", "de", "es", "pt-BR", "ja", "pl"]


def demo_isbn(serial: int) -> str:
    body = f"979{serial % 10**9:09d}"
    return body + isbn13_check_digit(body)


def demo_books(count: int, seed: int = 1, first_serial: int | None = None) -> Iterator[BookFields]:
    """`count` distinct books, the same for the same seed; each seed has its own ISBNs
    (serials from `first_serial`, by default seed x 10 million)."""
    rng = random.Random(seed)
    if first_serial is None:
        first_serial = seed * 10_000_000 % 10**9
    for serial in range(first_serial, first_serial + count):
        authors = [
            f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
            for _ in range(rng.choice([1, 1, 1, 2]))
        ]
        title = f"The {rng.choice(TITLE_WORDS)} of {rng.choice(TITLE_WORDS)}"
        yield {
            "isbn": demo_isbn(serial),
            "title": title,
            "authors": authors,
            "published_year": rng.randint(1850, 2026),
            "publisher": rng.choice(PUBLISHERS),
            "language": rng.choice(LANGUAGES),
            "pages": rng.randint(80, 1200),
            "tags": rng.sample(TAGS, rng.randint(0, 3)),
            "description": f"A demo book about {title.lower()[4:]}.",
        }


def demo_file(
    count: int, file_format: BookFileFormat, seed: int = 1, first_serial: int | None = None
) -> bytes:
    """A whole demo import file in memory (for tests and benchmarks of modest size)."""
    out = io.StringIO()
    write_books(demo_books(count, seed, first_serial), file_format, out)
    return out.getvalue().encode()
