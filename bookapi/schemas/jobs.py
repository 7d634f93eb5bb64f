"""Request and response models of the jobs resources (imports, exports, job status)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from .books import BookFilters

JobState = Literal["queued", "running", "succeeded", "failed"]


class ImportQuery(BaseModel):
    """How an import treats a book whose ISBN already exists."""

    model_config = ConfigDict(extra="forbid")

    on_conflict: Literal["skip", "update"] = "skip"


class ExportIn(BookFilters):
    """What to export: a file format and any of the book list filters."""

    # strict: the filters come as JSON here, not as query-string text.
    model_config = ConfigDict(extra="forbid", strict=True)

    format: Literal["csv", "jsonl"]


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
