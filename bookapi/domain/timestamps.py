"""UTC timestamps as MongoDB stores them (milliseconds) and as the API prints them (RFC 3339)."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    # MongoDB keeps milliseconds; truncating here means what we return equals what we stored.
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def to_rfc3339(moment: datetime) -> str:
    # isoformat, not strftime: this runs for every timestamp of every response.
    moment = moment.astimezone(UTC)
    timespec = "milliseconds" if moment.microsecond else "seconds"
    return moment.replace(tzinfo=None).isoformat(timespec=timespec) + "Z"


def from_rfc3339(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
