"""When to try a failed delivery again (DESIGN.md §3.6), as a pure function.

The schedule lists the delay before each attempt: the first entry (0 s by
default) is the first attempt, so a schedule of eight entries makes eight
attempts. Each delay varies by ±``jitter``; a ``Retry-After`` is honoured but
clamped to [delay, 2 x delay]; a 429 or a timeout waits at least
``throttle_min``; a 410 Gone pauses the target instead of retrying.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from keyhook.domain.durations import parse_duration
from keyhook.errors import field_error

DEFAULT_SCHEDULE = ("0s", "5s", "5m", "30m", "2h", "5h", "10h", "10h")


@dataclass(frozen=True)
class RetryPolicy:
    delays: tuple[float, ...] = tuple(parse_duration(d, "schedule") for d in DEFAULT_SCHEDULE)
    jitter: float = 0.2
    throttle_min: float = 60.0

    @staticmethod
    def parse(schedule: str, field: str = "KEYHOOK_ACTIONS_RETRY_SCHEDULE") -> tuple[float, ...]:
        parts = [p.strip() for p in schedule.split(",") if p.strip()]
        if not parts:
            raise field_error(field, "is empty", 'durations separated by commas: "0s,5s,5m"')
        return tuple(parse_duration(p, field) for p in parts)

    @property
    def max_attempts(self) -> int:
        return len(self.delays)


@dataclass(frozen=True)
class Verdict:
    """What to do after an attempt: done, retry after ``delay`` s, give up, or pause."""

    action: str  # "done" | "retry" | "give_up" | "pause"
    delay: float = 0.0


def retry_after_seconds(value: str | None, now_epoch: float) -> float | None:
    """A ``Retry-After`` header (seconds or an HTTP date) as seconds from now."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # "²" and Arabic-Indic digits are digits to str.isdigit
        return float(min(int(value), 10**9))
    try:
        moment = parsedate_to_datetime(value)
        return max(0.0, moment.timestamp() - now_epoch)
    except (TypeError, ValueError, OverflowError, IndexError):  # a receiver's header: anything
        return None


def decide(
    policy: RetryPolicy,
    *,
    attempts_made: int,
    status: int | None,
    timed_out: bool,
    retry_after: float | None,
    rng: random.Random | None = None,
) -> Verdict:
    """The verdict after attempt number ``attempts_made`` (1 = the first) ended so."""
    if status is not None and 200 <= status < 300:
        return Verdict("done")
    if status == 410:
        return Verdict("pause")
    if attempts_made >= policy.max_attempts:
        return Verdict("give_up")
    scheduled = policy.delays[attempts_made]
    spread = (rng or random).uniform(1 - policy.jitter, 1 + policy.jitter)
    delay = scheduled * spread
    if retry_after is not None:
        delay = min(max(retry_after, scheduled), 2 * scheduled)
    if status == 429 or timed_out:
        delay = max(delay, policy.throttle_min)
    return Verdict("retry", delay)
