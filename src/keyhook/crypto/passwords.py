"""Password hashing with argon2id; parameters from settings, rehash when they change.

argon2 is slow on purpose (tens of milliseconds). In the server, use the ``a…``
variants: they run it on a worker thread (argon2's C code releases the GIL), so
password checks do not stall the event loop. At most ``max_concurrent`` run at
once in the process (default: one core fewer than the machine has), so a burst
of checks — wrong client secrets from anyone — cannot take every core from the
event loop serving everything else; the rest wait their turn.
"""

from __future__ import annotations

import asyncio
import os

from argon2 import PasswordHasher, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from keyhook.config import PasswordHashing

# The most an imported hash may ask of a password check: an imported hash with
# m=4 GiB or t=2^32 would hold a hashing slot for hours at every sign-in attempt
# (anyone may attempt), so it is refused at import. Above OWASP's and argon2-cffi's
# own defaults (m=64 MiB, t=3, p=4) with room to spare.
MAX_IMPORTED_MEMORY_KIB = 256 * 1024
MAX_IMPORTED_TIME_COST = 10
MAX_IMPORTED_PARALLELISM = 8
MAX_IMPORTED_HASH_CHARS = 512


def is_password_hash(encoded: str) -> bool:
    """Whether ``encoded`` is an argon2 PHC string (argon2id, argon2i or argon2d) that
    :meth:`Passwords.verify` can check at a bounded cost (:data:`MAX_IMPORTED_MEMORY_KIB`
    and the other caps); one with other parameters than the configured ones is
    rehashed at the next sign-in."""
    if len(encoded) > MAX_IMPORTED_HASH_CHARS:
        return False
    try:
        params = extract_parameters(encoded)
    except (InvalidHashError, ValueError):
        return False
    return (
        encoded.startswith(("$argon2id$", "$argon2i$", "$argon2d$"))
        and params.memory_cost <= MAX_IMPORTED_MEMORY_KIB
        and params.time_cost <= MAX_IMPORTED_TIME_COST
        and params.parallelism <= MAX_IMPORTED_PARALLELISM
    )


class Passwords:
    def __init__(self, params: PasswordHashing) -> None:
        self._hasher = PasswordHasher(
            time_cost=params.time_cost,
            memory_cost=params.memory_kib,
            parallelism=params.parallelism,
        )
        self.max_concurrent = params.max_concurrent or max(1, (os.cpu_count() or 2) - 1)
        self._slots = asyncio.Semaphore(self.max_concurrent)

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, encoded: str, password: str) -> bool:
        try:
            return self._hasher.verify(encoded, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, encoded: str) -> bool:
        return self._hasher.check_needs_rehash(encoded)

    async def ahash(self, password: str) -> str:
        async with self._slots:
            return await asyncio.to_thread(self.hash, password)

    async def averify(self, encoded: str, password: str) -> bool:
        async with self._slots:
            return await asyncio.to_thread(self.verify, encoded, password)
