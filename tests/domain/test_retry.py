"""The retry rule and what a receiver's Retry-After header may say."""

from __future__ import annotations

import random

import pytest

from keyhook.domain.retry import RetryPolicy, decide, retry_after_seconds

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("99999999999999999999999", 1e9),  # clamped, never an overflow
        ("Thu, 15 Jan 2027 08:00:30 GMT", 1_800_000_030.0 - NOW),
        ("Mon, 01 Jan 1990 00:00:00 GMT", 0.0),  # in the past: now
    ],
)
def test_retry_after_in_seconds_or_as_a_date(header: str, seconds: float) -> None:
    assert retry_after_seconds(header, NOW) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "soon",
        "²",
        "\u0661\u0660",
        "\uff13",
        "-5",
        "1.5",
        "Thu, 99 Foo 99999 99:99:99 GMT",
    ],
)
def test_anything_else_a_receiver_sends_is_no_retry_after(header: str | None) -> None:
    assert retry_after_seconds(header, NOW) is None


def test_a_success_is_done_whatever_retry_after_says() -> None:
    verdict = decide(RetryPolicy(), attempts_made=1, status=200, timed_out=False, retry_after=1e9)
    assert verdict.action == "done"


def test_retry_after_is_kept_within_the_scheduled_wait_and_twice_it() -> None:
    policy = RetryPolicy(delays=(0.0, 10.0), throttle_min=0.0)
    rng = random.Random(1)
    long = decide(policy, attempts_made=1, status=503, timed_out=False, retry_after=1e9, rng=rng)
    short = decide(policy, attempts_made=1, status=503, timed_out=False, retry_after=0, rng=rng)
    assert (long.action, long.delay) == ("retry", 20.0)
    assert (short.action, short.delay) == ("retry", 10.0)
