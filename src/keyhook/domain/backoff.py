"""Back-off after failed authentication: the rule, and bounded counters. No I/O.

Checking a password or client secret costs an argon2 hash (tens of milliseconds of
CPU) before the server knows it is wrong, so unauthenticated callers could keep a
server busy with wrong guesses. After ``limit`` failures within ``window`` seconds
for one key — a client id or login name *from one address*, a user, a source
address — further attempts for that key are refused at once, without a hash,
until the oldest of those failures is ``window`` old. A refused attempt is not a
failure: it neither extends the back-off nor counts towards the lockout policy
(it checked nothing).

Client ids and login names are public, so they are counted together with the
address the guesses come from: a key of its own would let anyone shut a client
or a person out with a few wrong guesses. Guessing is bounded elsewhere: client
secrets are random, passwords have the lockout policy.

Memory is bounded: at most ``max_keys`` keys per kind, each with at most ``limit``
times; when full, keys whose failures have all aged out go first, then the
oldest keys. Values are kept as 16-byte digests, whatever their length.
"""

from __future__ import annotations

import hashlib
import math
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from keyhook.errors import TooManyAttempts

# The kinds of key, and what each protects.
CLIENT = "client"  # a client id (or machine user's name) and an address (OAuth client auth)
LOGIN = "login"  # a login name as typed and an address (login page), or a user (CreateSession)
ADDRESS = "address"  # the caller's address (X-Forwarded-For from a trusted proxy)

DEFAULT_LIMITS: Mapping[str, int] = {CLIENT: 5, LOGIN: 10, ADDRESS: 30}
DEFAULT_WINDOW = 60.0
DEFAULT_MAX_KEYS = 10_000

Key = tuple[str, str]  # (kind, value)


@dataclass
class _Counter:
    limit: int
    window: float
    max_keys: int
    failures: dict[bytes, deque[float]] = field(default_factory=dict)

    def blocked_for(self, value: bytes, at: float) -> float:
        times = self.failures.get(value)
        if times is None or self.limit <= 0:
            return 0.0
        while times and times[0] <= at - self.window:
            times.popleft()
        if len(times) < self.limit:
            return 0.0
        return times[0] + self.window - at

    def fail(self, value: bytes, at: float) -> None:
        if self.limit <= 0:
            return
        times = self.failures.pop(value, None)
        if times is None:
            self._make_room(at)
            times = deque(maxlen=self.limit)
        times.append(at)
        self.failures[value] = times  # re-inserted: the dict's order is last failure's

    def _make_room(self, at: float) -> None:
        if len(self.failures) < self.max_keys:
            return
        for value in [v for v, t in self.failures.items() if not t or t[-1] <= at - self.window]:
            del self.failures[value]
        while len(self.failures) >= self.max_keys:
            del self.failures[next(iter(self.failures))]  # the least recently failed


class Backoff:
    def __init__(
        self,
        limits: Mapping[str, int] = DEFAULT_LIMITS,
        window: float = DEFAULT_WINDOW,
        max_keys: int = DEFAULT_MAX_KEYS,
    ) -> None:
        self._counters = {kind: _Counter(n, window, max_keys) for kind, n in limits.items()}

    def check(self, keys: Iterable[Key], at: float) -> None:
        """Raise :class:`TooManyAttempts` if any of ``keys`` is backed off at ``at``."""
        wait = max((self._blocked_for(key, at) for key in keys), default=0.0)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise TooManyAttempts(
                f"too many failed authentication attempts; try again in {seconds} s",
                retry_after=seconds,
            )

    def failed(self, keys: Iterable[Key], at: float) -> None:
        for kind, value in keys:
            counter = self._counters.get(kind)
            if counter is not None and value:
                counter.fail(_digest(value), at)

    def _blocked_for(self, key: Key, at: float) -> float:
        counter = self._counters.get(key[0])
        return 0.0 if counter is None or not key[1] else counter.blocked_for(_digest(key[1]), at)

    def size(self) -> int:
        """Keys held, over every kind (for tests of the memory bound)."""
        return sum(len(c.failures) for c in self._counters.values())


def _digest(value: str) -> bytes:
    return hashlib.blake2b(value.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def from_address(value: str, address: str) -> str:
    """A client id or login name counted together with the address guesses come from."""
    return f"{value}\0{address}"
