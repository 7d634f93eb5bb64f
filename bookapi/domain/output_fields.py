"""Field types of the response models, which read stored documents directly: the model, not a
list of hidden fields, decides what a client sees, so a new storage field can never leak."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AliasChoices, BeforeValidator, Field, PlainSerializer

from .timestamps import to_rfc3339

# A document's `_id` (an ObjectId) shown as `id`, 24 hex characters.
ResourceId = Annotated[str, BeforeValidator(str), Field(validation_alias=AliasChoices("_id", "id"))]
# A stored datetime shown as RFC 3339 UTC (`2026-11-25T12:00:00Z`).
Timestamp = Annotated[datetime, PlainSerializer(to_rfc3339, return_type=str)]
