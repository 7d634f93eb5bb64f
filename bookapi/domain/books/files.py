"""Book files: the two formats (CSV and JSON Lines), and how books are written to and read
from them. The importer, the exporter, the uploads and the CLI all go through this table.

A file holds Book *input* fields, so exporting and importing elsewhere recreates the same
books. In CSV, `authors` and `tags` are `;`-separated and an empty cell is an absent field.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import IO, TextIO

from ..errors import JobFailedError
from .book_schemas import BOOK_FIELDS, LIST_FIELDS, REQUIRED_FIELDS

INT_FIELDS = ("published_year", "pages")
# ASCII digits only ("²" or "٣" are digits to str.isdigit, not to int()); any other cell
# stays text, which the row's validation then refuses as "not an integer".
INTEGER = re.compile(r"-?[0-9]{1,18}")
# (line number, the row's fields or the reason it cannot be read)
Row = tuple[int, dict[str, object] | str]


@dataclass(frozen=True)
class BookFileFormat:
    name: str  # as job parameters and `POST /exports` name it
    media_type: str
    suffixes: tuple[str, ...]  # the first one names exported files


CSV = BookFileFormat("csv", "text/csv", (".csv",))
JSON_LINES = BookFileFormat("jsonl", "application/x-ndjson", (".jsonl", ".ndjson"))
FORMATS = {file_format.name: file_format for file_format in (CSV, JSON_LINES)}


def format_for_media_type(media_type: str) -> BookFileFormat | None:
    return next((f for f in FORMATS.values() if f.media_type == media_type), None)


def format_for_path(path: PurePath) -> BookFileFormat | None:
    suffix = path.suffix.lower()
    return next((f for f in FORMATS.values() if suffix in f.suffixes), None)


# Spreadsheets run a cell that starts with one of these as a formula (OWASP: CSV
# injection), so an exported cell that does gets a leading `'`, which the importer takes off
# again: exporting and importing stays lossless.
FORMULA = re.compile(r"'*[=+\-@\t\r]")  # quotes (ours, or the author's) before a formula start


def neutralise_cell(text: str) -> str:
    return "'" + text if FORMULA.match(text) else text


def restore_cell(text: str) -> str:
    return text[1:] if text.startswith("'") and FORMULA.match(text[1:]) else text


# Writing


def header_line(file_format: BookFileFormat) -> str:
    """What a file starts with: the column names for CSV, nothing for JSON Lines."""
    return ",".join(BOOK_FIELDS) + "\n" if file_format is CSV else ""


def book_line(book: Mapping[str, object], file_format: BookFileFormat) -> str:
    """One book's input fields as one line of the file."""
    if file_format is JSON_LINES:
        return json.dumps({name: book.get(name) for name in BOOK_FIELDS}, ensure_ascii=False) + "\n"
    cells = []
    for name in BOOK_FIELDS:
        value = book.get(name)
        if name in LIST_FIELDS and isinstance(value, list):
            value = ";".join(str(item) for item in value)
        if isinstance(value, str):
            value = neutralise_cell(value)
        cells.append("" if value is None else value)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(cells)
    return out.getvalue()


def write_books(
    books: Iterable[Mapping[str, object]], file_format: BookFileFormat, out: TextIO
) -> int:
    """Write a whole file of `books`; return how many were written."""
    out.write(header_line(file_format))
    count = 0
    for book in books:
        out.write(book_line(book, file_format))
        count += 1
    return count


# Reading


def _csv_fields(row: dict[str | None, str | None]) -> dict[str, object] | str:
    if None in row:
        return "the row has more values than the header has columns"
    fields: dict[str, object] = {}
    for name, raw in row.items():
        if name is None or raw is None or raw.strip() == "":
            continue  # an empty cell is an absent field
        value = restore_cell(raw)
        if name in LIST_FIELDS:
            fields[name] = [part.strip() for part in value.split(";") if part.strip()]
        elif name in INT_FIELDS and INTEGER.fullmatch(value.strip()):
            fields[name] = int(value)
        else:
            fields[name] = value
    return fields


def _csv_reader(text: TextIO) -> csv.DictReader[str]:
    """A reader past the file's header, once the header names every required column and
    only known ones."""
    reader = csv.DictReader(text)
    columns = reader.fieldnames or []
    unknown = sorted(set(columns) - set(BOOK_FIELDS))
    missing = [name for name in REQUIRED_FIELDS if name not in columns]
    if unknown or missing:
        problems = [f"unknown columns: {', '.join(unknown)}"] if unknown else []
        problems += [f"missing columns: {', '.join(missing)}"] if missing else []
        raise JobFailedError(f"bad CSV header ({'; '.join(problems)})")
    return reader


def _csv_rows(text: TextIO) -> Iterator[Row]:
    reader = _csv_reader(text)
    first_line = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:  # a cell past the field limit, say: this row only
            yield first_line, f"the row cannot be read: {error}"
        else:
            yield first_line, _csv_fields(row)
        first_line = reader.line_num + 1


def _json_lines_rows(text: TextIO) -> Iterator[Row]:
    for number, line in enumerate(text, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError as error:
            yield number, f"not valid JSON: {error}"
            continue
        except RecursionError:
            yield number, "not valid JSON: nested too deeply"
            continue
        yield number, value if isinstance(value, dict) else "the line is not a JSON object"


def _text(stream: IO[bytes]) -> TextIO:
    return io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")


def read_rows(stream: IO[bytes], file_format: BookFileFormat) -> Iterator[Row]:
    """Each data row of a file, read as a stream (never whole in memory)."""
    text = _text(stream)
    try:
        yield from _csv_rows(text) if file_format is CSV else _json_lines_rows(text)
    finally:
        text.close()


def _csv_row_count(reader: csv.DictReader[str]) -> int:
    count = 0
    while True:
        try:
            row = next(reader.reader)  # the cells only: no dict, no values restored
        except StopIteration:
            return count
        except csv.Error:
            count += 1  # read_rows reports this row as unreadable: still a row
        else:
            count += 1 if row else 0  # as DictReader, a blank line is no row


def count_rows(stream: IO[bytes], file_format: BookFileFormat) -> int:
    """How many rows read_rows yields for the file, without parsing a value: the import's
    total, found in a fraction of the time the rows take to read."""
    with _text(stream) as text:
        if file_format is CSV:
            return _csv_row_count(_csv_reader(text))
        return sum(1 for line in text if line.strip())
