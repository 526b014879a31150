"""Form helpers: a Keyhook error's problems by field, for the form fields beside which
they show; a ``datetime-local`` field's value as a time in UTC; a list's pages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from keyhook.errors import KeyhookError

# What a datetime-local field holds (seconds optional); the console reads it as UTC.
LOCAL_FORMAT = "YYYY-MM-DDTHH:MM, in UTC"


def utc_moment(text: str) -> datetime | None:
    """A ``datetime-local`` field's value (no zone: read as UTC); None if it is none."""
    try:
        moment = datetime.fromisoformat(text)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):  # not a time, or one UTC cannot hold (year 0, 10000)
        return None


def field_errors(error: KeyhookError) -> dict[str, str]:
    found: dict[str, str] = {}
    for detail in error.details:
        name = str(detail.get("field", ""))
        if name:
            problem = str(detail.get("problem", ""))
            allowed = detail.get("allowed")
            found[name] = f"{problem} (allowed: {allowed})" if allowed else problem
    return found


#: Rows a list page shows; the server pages, the page's links move by this many.
PAGE_SIZE = 100
#: The furthest page a link offers (the API's offset stops at 10,000,000).
LAST_PAGE = 100_000


@dataclass(frozen=True)
class Pages:
    number: int
    count: int
    previous: str  # the link to the page before, "" on the first
    following: str  # the link to the page after, "" on the last


def page_number(q: Mapping[str, str]) -> int:
    """The page a list's query asks for (``?page=N``), 1 when none or not a number."""
    try:
        return min(max(int(q.get("page", "1")), 1), LAST_PAGE)
    except ValueError:
        return 1


def offset_of(number: int) -> int:
    return (number - 1) * PAGE_SIZE


def pages(q: Mapping[str, str], number: int, total: int | str) -> Pages:
    """Where a list stands (page N of M) and the links to its neighbours, which keep
    every filter of the query."""
    count = min(max(1, -(-int(total) // PAGE_SIZE)), LAST_PAGE)
    kept = {k: v for k, v in q.items() if k != "page"}

    def link(to: int) -> str:
        return "?" + urlencode({**kept, "page": str(to)})

    return Pages(
        number,
        count,
        link(number - 1) if number > 1 else "",
        link(number + 1) if number < count else "",
    )
