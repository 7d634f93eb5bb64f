"""Request and response models of the jobs resources (imports, exports, job status)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from ..books.book_schemas import BookFilters
from ..output_fields import ResourceId, Timestamp
from ..paging import PageQuery
from .records import JobKind, JobState, OnConflict


class ImportQuery(BaseModel):
    """How an import treats a book whose ISBN already exists."""

    model_config = ConfigDict(extra="forbid")

    on_conflict: OnConflict = "skip"


class ExportIn(BookFilters):
    """What to export: a file format and any of the book list filters."""

    # strict: the filters come as JSON here, not as query-string text.
    model_config = ConfigDict(extra="forbid", strict=True)

    format: Literal["csv", "jsonl"]


class JobListQuery(PageQuery):
    """A page of the caller's jobs."""


class Progress(BaseModel):
    done: int
    total: int | None


class Job(BaseModel):
    """A background job and how far it got."""

    id: ResourceId
    kind: JobKind
    state: JobState
    progress: Progress
    result: dict[str, Any] | None = None
    error: str | None = None
    created_by: str
    created_at: Timestamp
    updated_at: Timestamp


class JobPage(BaseModel):
    items: list[Job]
    next_cursor: str | None


def job_json(job: object) -> dict[str, Any]:
    """A stored job as clients see it, for messages no response model renders (websocket)."""
    return Job.model_validate(job).model_dump()
