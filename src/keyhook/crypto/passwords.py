"""Password hashing with argon2id; parameters from settings, rehash when they change.

argon2 is slow on purpose (tens of milliseconds). In the server, use the ``a…``
variants: they run it on a worker thread (argon2's C code releases the GIL), so
password checks neither stall the event loop nor wait for each other.
"""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from keyhook.config import PasswordHashing


class Passwords:
    def __init__(self, params: PasswordHashing) -> None:
        self._hasher = PasswordHasher(
            time_cost=params.time_cost,
            memory_cost=params.memory_kib,
            parallelism=params.parallelism,
        )

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
        return await asyncio.to_thread(self.hash, password)

    async def averify(self, encoded: str, password: str) -> bool:
        return await asyncio.to_thread(self.verify, encoded, password)
