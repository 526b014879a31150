"""Form helpers: a Keyhook error's problems by field, for the form fields beside which
they show; a ``datetime-local`` field's value as a time in UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from keyhook.errors import KeyhookError

# What a datetime-local field holds (seconds optional); the console reads it as UTC.
LOCAL_FORMAT = "YYYY-MM-DDTHH:MM, in UTC"


def utc_moment(text: str) -> datetime | None:
    """A ``datetime-local`` field's value (no zone: read as UTC); None if it is none."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def field_errors(error: KeyhookError) -> dict[str, str]:
    found: dict[str, str] = {}
    for detail in error.details:
        name = str(detail.get("field", ""))
        if name:
            problem = str(detail.get("problem", ""))
            allowed = detail.get("allowed")
            found[name] = f"{problem} (allowed: {allowed})" if allowed else problem
    return found
