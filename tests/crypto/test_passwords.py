"""At most ``max_concurrent`` argon2 checks run at once in the process."""

from __future__ import annotations

import asyncio
import os
import threading
import time

import pytest

from keyhook.config import PasswordHashing
from keyhook.crypto.passwords import Passwords


async def test_checks_beyond_the_bound_wait_their_turn() -> None:
    passwords = Passwords(PasswordHashing(memory_kib=1024, time_cost=1, max_concurrent=2))
    running, most = 0, 0
    lock = threading.Lock()

    def verify(encoded: str, password: str) -> bool:  # stands in for argon2, on the thread
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return False

    passwords.verify = verify  # type: ignore[method-assign]
    results = await asyncio.gather(*(passwords.averify("x", "y") for _ in range(8)))
    assert results == [False] * 8
    assert most == 2


def test_the_default_bound_leaves_a_core_for_the_event_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for cores, bound in ((8, 7), (2, 1), (1, 1), (None, 1)):
        monkeypatch.setattr(os, "cpu_count", lambda cores=cores: cores)
        assert Passwords(PasswordHashing()).max_concurrent == bound
    assert Passwords(PasswordHashing(max_concurrent=5)).max_concurrent == 5


def test_an_imported_hash_must_be_cheap_enough_to_check() -> None:
    """A hash whose parameters would hold a hashing slot for hours at each sign-in
    attempt (anyone may attempt one) is not a hash Keyhook takes."""
    from argon2 import PasswordHasher

    from keyhook.crypto.passwords import is_password_hash

    usual = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1).hash("pw")
    assert is_password_hash(usual)
    salt_and_hash = usual.rsplit("$", 2)[1:]
    for params in (
        "m=4294967295,t=2,p=1",
        "m=19456,t=4294967295,p=1",
        "m=19456,t=2,p=16777215",
        "m=524288,t=2,p=1",
    ):
        costly = f"$argon2id$v=19${params}${salt_and_hash[0]}${salt_and_hash[1]}"
        assert not is_password_hash(costly), params
    assert not is_password_hash(usual + "A" * 600)
