"""The back-off rule and its memory bound, with explicit times."""

from __future__ import annotations

import pytest

from keyhook.domain.backoff import ADDRESS, CLIENT, Backoff
from keyhook.errors import TooManyAttempts

KEY = (CLIENT, "app")


def test_limit_failures_in_the_window_back_off_until_the_oldest_ages_out() -> None:
    backoff = Backoff({CLIENT: 3}, window=60)
    for at in (0.0, 10.0, 20.0):
        backoff.check([KEY], at)
        backoff.failed([KEY], at)
    with pytest.raises(TooManyAttempts) as refused:
        backoff.check([KEY], 30.0)
    assert refused.value.retry_after == 30  # the failure at 0 leaves the window at 60
    assert refused.value.code == "resource_exhausted"
    backoff.check([KEY], 60.5)  # one attempt again
    backoff.failed([KEY], 60.5)
    with pytest.raises(TooManyAttempts) as again:
        backoff.check([KEY], 61.0)
    assert again.value.retry_after == 9  # now until the failure at 10 ages out


def test_keys_and_kinds_are_separate_and_zero_switches_a_kind_off() -> None:
    backoff = Backoff({CLIENT: 1, ADDRESS: 0}, window=60)
    backoff.failed([KEY, (ADDRESS, "203.0.113.1")], 0.0)
    with pytest.raises(TooManyAttempts):
        backoff.check([(CLIENT, "other"), KEY], 1.0)
    backoff.check([(CLIENT, "other"), (ADDRESS, "203.0.113.1")], 1.0)
    backoff.check([(CLIENT, "")], 1.0)  # no client id: nothing to count by


def test_memory_is_bounded() -> None:
    backoff = Backoff({CLIENT: 2, ADDRESS: 2}, window=60, max_keys=100)
    for i in range(1000):
        backoff.failed([(CLIENT, f"c{i}"), (ADDRESS, f"a{i}")], float(i) / 100)
    assert backoff.size() <= 200
    # The most recent keys are the ones kept.
    backoff.failed([(CLIENT, "c999")], 10.0)
    with pytest.raises(TooManyAttempts):
        backoff.check([(CLIENT, "c999")], 10.0)
