"""Book files on their own: what is written reads back as the same books, in both formats."""

from __future__ import annotations

import io
from pathlib import PurePath

import pytest

from bookapi.domain.books.demo import demo_books
from bookapi.domain.books.files import (
    CSV,
    JSON_LINES,
    BookFileFormat,
    count_rows,
    format_for_media_type,
    format_for_path,
    read_rows,
    write_books,
)
from bookapi.domain.errors import JobFailedError


@pytest.mark.parametrize("file_format", [CSV, JSON_LINES])
def test_written_books_read_back_the_same(file_format: BookFileFormat) -> None:
    books = list(demo_books(20, seed=9))
    out = io.StringIO()
    assert write_books(books, file_format, out) == 20
    rows = list(read_rows(io.BytesIO(out.getvalue().encode()), file_format))
    first_line = 2 if file_format is CSV else 1
    assert [line for line, _ in rows] == list(range(first_line, first_line + 20))
    # An empty CSV cell is an absent field; a JSON null is a null: both mean "no value".
    read = [
        {k: v for k, v in fields.items() if v not in (None, [])}
        for _, fields in rows
        if isinstance(fields, dict)
    ]
    assert read == [{k: v for k, v in book.items() if v not in (None, [])} for book in books]


def test_csv_with_unknown_or_missing_columns_fails_the_whole_file() -> None:
    with pytest.raises(JobFailedError, match="unknown columns: colour; missing columns: authors"):
        list(read_rows(io.BytesIO(b"isbn,title,colour\n1,2,3\n"), CSV))


def test_unreadable_rows_are_reasons_not_errors() -> None:
    text = b'{"isbn": "1"}\n\n[1, 2]\n{broken\n'
    rows = list(read_rows(io.BytesIO(text), JSON_LINES))
    assert rows[0] == (1, {"isbn": "1"})
    assert rows[1] == (3, "the line is not a JSON object")
    assert rows[2][0] == 4 and str(rows[2][1]).startswith("not valid JSON")
    wide = list(read_rows(io.BytesIO(b"isbn,title,authors\n1,2,3,4\n"), CSV))
    assert wide == [(2, "the row has more values than the header has columns")]


@pytest.mark.parametrize(
    ("data", "file_format", "rows"),
    [
        (b'{"isbn": "1"}\n\n  \n[1, 2]\n{broken\r\n{"a": 1}', JSON_LINES, 4),
        (b'isbn,title,authors\n1,2,3\n\n4,"two\nlines",5\n1,2,3,4\n6,7,8', CSV, 4),
        (b"isbn,title,authors\n" + b'1,2,"' + b"x" * 200_000 + b'"\n3,4,5\n', CSV, 2),
        (b"", JSON_LINES, 0),
        (b"isbn,title,authors\n", CSV, 0),
    ],
    ids=["json-lines", "csv", "csv-over-the-field-limit", "empty", "header-only"],
)
def test_the_import_total_counts_every_row_that_is_read(
    data: bytes, file_format: BookFileFormat, rows: int
) -> None:
    assert len(list(read_rows(io.BytesIO(data), file_format))) == rows
    assert count_rows(io.BytesIO(data), file_format) == rows


def test_counting_a_file_with_a_bad_header_fails_it_as_reading_does() -> None:
    with pytest.raises(JobFailedError, match="missing columns: authors"):
        count_rows(io.BytesIO(b"isbn,title\n1,2\n"), CSV)


def test_one_table_names_the_formats() -> None:
    assert format_for_media_type("text/csv") is CSV
    assert format_for_media_type("application/x-ndjson") is JSON_LINES
    assert format_for_media_type("application/json") is None
    assert format_for_path(PurePath("books.NDJSON")) is JSON_LINES
    assert format_for_path(PurePath("books.jsonl")) is JSON_LINES
    assert format_for_path(PurePath("books.csv")) is CSV
    assert format_for_path(PurePath("books.txt")) is None


def test_csv_cells_that_look_like_formulas_are_neutralised_and_read_back_intact() -> None:
    tricky = {
        "isbn": "9780441013593",
        "title": '=HYPERLINK("http://evil")',
        "authors": ["-Anon", "@who", "'=quoted"],
        "publisher": "+Plus",
        "description": "\tTabbed",
    }
    out = io.StringIO()
    write_books([tricky], CSV, out)
    data_line = out.getvalue().splitlines()[1]
    assert "'=HYPERLINK" in data_line and "'-Anon" in data_line and "'+Plus" in data_line
    assert not any(cell.startswith(("=", "+", "-", "@", "\t")) for cell in data_line.split(","))
    [(_, fields)] = list(read_rows(io.BytesIO(out.getvalue().encode()), CSV))
    assert fields == tricky
