"""Request and response models of the books resource (they also feed the OpenAPI document)."""

from __future__ import annotations

from typing import Annotated, Literal, TypedDict, cast

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from ..output_fields import ResourceId, Timestamp
from ..paging import PageQuery
from ..text_rules import MULTI_LINE, ONE_LINE, ONE_LINE_NOT_BLANK
from .isbn import normalize_isbn

# The form of an ISBN; its check digit (which no pattern can state) is checked on top.
ISBN_FORM = r"^(?:97[89][ -]?(?:[0-9][ -]?){9}[0-9]|(?:[0-9][ -]?){9}[0-9Xx])$"
Isbn = Annotated[
    str,
    StringConstraints(min_length=10, max_length=20, pattern=ISBN_FORM),
    AfterValidator(normalize_isbn),
    Field(
        description="ISBN-10 or ISBN-13 (978 or 979) with a correct check digit, single "
        "hyphens or spaces between digits allowed; stored as ISBN-13"
    ),
]


def one_line(max_length: int) -> StringConstraints:
    """A stripped, non-empty line of at most `max_length` characters."""
    return StringConstraints(
        strip_whitespace=True, min_length=1, max_length=max_length, pattern=ONE_LINE_NOT_BLANK
    )


Title = Annotated[str, one_line(500)]
Name = Annotated[str, one_line(200)]
Authors = Annotated[list[Name], Field(min_length=1, max_length=20)]
Tag = Annotated[str, one_line(50)]
Tags = Annotated[list[Tag], Field(max_length=20)]


def integral(value: object) -> object:
    """JSON has one number type: 1965.0 is the integer 1965 (as JSON Schema agrees), 1965.5
    is not; strict validation still refuses strings such as "1965"."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Year = Annotated[int, Field(ge=0, le=2100), BeforeValidator(integral)]
Publisher = Annotated[str, one_line(200)]
# A BCP 47-style language tag such as "en" or "pt-BR".
Language = Annotated[
    str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$", max_length=12)
]
Pages = Annotated[int, Field(ge=1, le=100_000), BeforeValidator(integral)]
Description = Annotated[str, StringConstraints(max_length=10_000, pattern=MULTI_LINE)]

REQUIRED_FIELDS = ("isbn", "title", "authors")
LIST_FIELDS = ("authors", "tags")
SortKey = Literal[
    "title", "-title", "published_year", "-published_year", "created_at", "-created_at"
]


class BookFields(TypedDict, total=False):
    """The input fields of a book, as BookIn / BookPatch validate them."""

    isbn: str
    title: str
    authors: list[str]
    published_year: int | None
    publisher: str | None
    language: str | None
    pages: int | None
    tags: list[str]
    description: str | None


class BookIn(BaseModel):
    """A book as clients create or fully replace it."""

    # strict: "1965" is not a year; forbid: unknown fields and `$`-keys are errors.
    model_config = ConfigDict(extra="forbid", strict=True)

    isbn: Isbn
    title: Title
    authors: Authors
    published_year: Year | None = None
    publisher: Publisher | None = None
    language: Language | None = None
    pages: Pages | None = None
    tags: Tags = []
    description: Description | None = None

    def fields(self) -> BookFields:
        return cast(BookFields, self.model_dump())


# The input fields in their order: the import and export file columns, and what a file holds.
BOOK_FIELDS = tuple(BookIn.model_fields)


class BookPatch(BaseModel):
    """Some fields of a book; the others keep their values. `null` clears an optional field."""

    # At least one field (a model validator says so too); the required fields of a book
    # take no null (the validator refuses it), so their schema leaves null out.
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"minProperties": 1})

    isbn: Isbn | SkipJsonSchema[None] = None
    title: Title | SkipJsonSchema[None] = None
    authors: Authors | SkipJsonSchema[None] = None
    published_year: Year | None = None
    publisher: Publisher | None = None
    language: Language | None = None
    pages: Pages | None = None
    tags: Tags | None = None
    description: Description | None = None

    @model_validator(mode="after")
    def _required_fields_not_null(self) -> BookPatch:
        if not self.model_fields_set:
            raise ValueError("give at least one field to change")
        for name in REQUIRED_FIELDS:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self

    def changes(self) -> BookFields:
        """The given fields only; a `null` tags list means no tags."""
        values = self.model_dump(include=self.model_fields_set)
        if "tags" in values and values["tags"] is None:
            values["tags"] = []
        return cast(BookFields, values)


class Book(BaseModel):
    """A book as the API returns it."""

    id: ResourceId
    isbn: str
    title: str
    authors: list[str]
    published_year: int | None = None
    publisher: str | None = None
    language: str | None = None
    pages: int | None = None
    tags: list[str] = []
    description: str | None = None
    created_by: str
    created_at: Timestamp
    updated_at: Timestamp


class BookPage(BaseModel):
    """One page of books; pass `next_cursor` as `cursor` to get the next (null: last page)."""

    items: list[Book]
    next_cursor: str | None


class BookFilters(BaseModel):
    """The filters and order of a book list, shared by listing and exporting."""

    model_config = ConfigDict(extra="forbid")

    q: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=ONE_LINE)] | None = (
        Field(None, description="Case-insensitive literal substring of the title or an author")
    )
    author: Name | None = Field(None, description="An author's exact name (case-insensitive)")
    tag: Tag | None = None
    language: Language | None = None
    year_min: Year | None = None
    year_max: Year | None = None
    sort: SortKey = "-created_at"

    @model_validator(mode="after")
    def _year_range_in_order(self) -> BookFilters:
        if (
            self.year_min is not None
            and self.year_max is not None
            and self.year_min > self.year_max
        ):
            raise ValueError("year_min must not be greater than year_max")
        return self


class BookListQuery(BookFilters, PageQuery):
    """Filters, order and page of the book list."""

    model_config = ConfigDict(extra="forbid")
