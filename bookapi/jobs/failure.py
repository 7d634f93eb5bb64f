"""The error a job ends with when its input cannot be processed at all."""

from __future__ import annotations


class JobFailedError(Exception):
    """The job cannot succeed (e.g. a CSV header with unknown columns); says why."""
