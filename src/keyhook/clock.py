"""Time in one place, so tests and payloads agree on its form. Imports nothing of Keyhook."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)


def aware(moment: datetime) -> datetime:
    """``moment`` with its zone: SQLite hands back naive values, which are UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def iso(moment: datetime) -> str:
    """RFC 3339 in UTC with a ``Z`` suffix, as every payload and answer uses."""
    text = aware(moment).astimezone(UTC).isoformat(timespec="microseconds")
    return text.replace("+00:00", "Z")
