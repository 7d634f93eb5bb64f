"""Request and response models of the jobs resources (imports, exports, job status)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from .books import Language, Name, SortKey, Tag, Year

JobState = Literal["queued", "running", "succeeded", "failed"]


class ImportQuery(BaseModel):
    """How an import treats a book whose ISBN already exists."""

    model_config = ConfigDict(extra="forbid")

    on_conflict: Literal["skip", "update"] = "skip"


class ExportIn(BaseModel):
    """What to export: a file format and any of the book list filters."""

    model_config = ConfigDict(extra="forbid", strict=True)

    format: Literal["csv", "jsonl"]
    q: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    author: Name | None = None
    tag: Tag | None = None
    language: Language | None = None
    year_min: Year | None = None
    year_max: Year | None = None
    sort: SortKey = "-created_at"

    @model_validator(mode="after")
    def _year_range_in_order(self) -> ExportIn:
        if self.year_min is not None and self.year_max is not None:
            if self.year_min > self.year_max:
                raise ValueError("year_min must not be greater than year_max")
        return self


class JobListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: Annotated[int, Field(ge=1, le=100)] = 20
    cursor: Annotated[str, StringConstraints(max_length=1000)] | None = None


class Progress(BaseModel):
    done: int
    total: int | None


class Job(BaseModel):
    """A background job and how far it got."""

    id: str
    kind: Literal["import", "export"]
    state: JobState
    progress: Progress
    result: dict[str, Any] | None
    error: str | None
    created_by: str
    created_at: str
    updated_at: str


class JobPage(BaseModel):
    items: list[Job]
    next_cursor: str | None
