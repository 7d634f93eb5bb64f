"""What the MongoDB-protocol server in use does differently: the only place that asks
"is this FerretDB?".

Production runs MongoDB; development and the tests may run FerretDB v1, which differs in
ways the code must respect. Where they differ, MongoDB's behaviour is the design and the
FerretDB path is the documented workaround.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pymongo.errors import DuplicateKeyError, OperationFailure

# FerretDB v1 reports an update that breaks a unique index with its backend's message.
FERRETDB_DUPLICATE_MARKS = ("UNIQUE constraint failed", "SQLSTATE 23505")
# ...and a backend that did not answer in time as an internal error with Go's words for it.
FERRETDB_TIMEOUT_MARKS = ("i/o timeout", "context deadline exceeded")


@dataclass(frozen=True)
class ServerQuirks:
    """The quirks of one server, read once from its `buildInfo`."""

    ferretdb: bool

    @classmethod
    def from_build_info(cls, build_info: Mapping[str, object]) -> ServerQuirks:
        # FerretDB adds its own version to buildInfo; MongoDB has no such field.
        return cls(ferretdb="ferretdbVersion" in build_info)

    @property
    def atomic_find_and_modify(self) -> bool:
        """MongoDB applies findAndModify atomically; FerretDB v1 does not under concurrency
        (racing takes of one job both "won" in tests), so takers there need a lock."""
        return not self.ferretdb

    @property
    def fast_bulk_updates(self) -> bool:
        """FerretDB v1 runs a bulk of updates orders of magnitude slower than the same
        updates one by one (100 took minutes), so there they go one at a time."""
        return not self.ferretdb

    @property
    def indexed_id_lists(self) -> bool:
        """MongoDB answers `$in` on `_id` from the primary key's index; FerretDB v1 pushes
        down only an `_id` equality and scans the whole collection for `$in` (66 ms for one
        id among 2,000 books, against 2.5 ms by equality), so there books are read one by one."""
        return not self.ferretdb


def is_duplicate_key(error: OperationFailure) -> bool:
    """A unique-index violation, however the server reports it.

    MongoDB says DuplicateKeyError (code 11000); FerretDB v1 says so on insert but
    reports an update that breaks a unique index as an internal error (code 1) carrying
    its backend's message: SQLite's, or PostgreSQL's unique_violation (SQLSTATE 23505).
    """
    if isinstance(error, DuplicateKeyError) or error.code == 11000:
        return True
    return error.code == 1 and any(mark in str(error) for mark in FERRETDB_DUPLICATE_MARKS)


def is_backend_timeout(error: OperationFailure) -> bool:
    """A server that did not answer in time, however it reports it.

    MongoDB stops an operation at its time limit with MaxTimeMSExpired (ExecutionTimeout,
    a 503 already); FerretDB v1, when its PostgreSQL does not answer in time, reports an
    internal error (code 1) naming a timeout, which was answered with a 500 in the soak."""
    return error.code == 1 and any(mark in str(error) for mark in FERRETDB_TIMEOUT_MARKS)
