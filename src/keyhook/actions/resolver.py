"""Host names to the addresses a call may connect to, under the network policy.

``PolicyResolver`` asks an inner resolver (by default the system's, through the
event loop) for A and AAAA records and keeps only the addresses
``NetworkPolicy.address_allowed`` allows; a name with none left is an error
that says which switch would open it. Answers are remembered for a few seconds
(as aiohttp's resolver cache did), per name and port. What it touches: DNS.
"""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import dataclass
from typing import Protocol

from keyhook.domain.netpolicy import NetworkPolicy

# How long a name's allowed addresses are reused before it is resolved again. Only
# new connections resolve; pooled ones stay with the address they connected to.
CACHE_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class ResolvedAddress:
    host: str  # the address as text ("%scope" added for a scoped IPv6 address)
    port: int
    family: socket.AddressFamily
    sockaddr: tuple[str, int] | tuple[str, int, int, int]


class NameResolver(Protocol):
    async def resolve(
        self, host: str, port: int, family: socket.AddressFamily
    ) -> list[ResolvedAddress]: ...


class SystemResolver:
    """``getaddrinfo`` through the running loop (in its thread pool)."""

    async def resolve(
        self, host: str, port: int, family: socket.AddressFamily
    ) -> list[ResolvedAddress]:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, family=family, type=socket.SOCK_STREAM, flags=socket.AI_ADDRCONFIG
        )
        found: list[ResolvedAddress] = []
        for info_family, _, _, _, sockaddr in infos:
            address = str(sockaddr[0])
            if info_family == socket.AF_INET6 and len(sockaddr) == 4 and sockaddr[3]:
                address = f"{address}%{sockaddr[3]}"
            if info_family not in (socket.AF_INET, socket.AF_INET6):
                continue
            found.append(
                ResolvedAddress(address, port, socket.AddressFamily(info_family), sockaddr)  # type: ignore[arg-type]
            )
        return found


class PolicyResolver:
    """Resolves names (A and AAAA), then keeps only the addresses the policy allows."""

    def __init__(self, policy: NetworkPolicy, inner: NameResolver | None = None) -> None:
        self._policy = policy
        self._inner = inner or SystemResolver()
        self._cache: dict[tuple[str, int], tuple[float, list[ResolvedAddress]]] = {}

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_UNSPEC
    ) -> list[ResolvedAddress]:
        key = (host, port)
        cached = self._cache.get(key)
        now = time.monotonic()
        if cached is not None and cached[0] > now and family == socket.AF_UNSPEC:
            return cached[1]
        found = await self._inner.resolve(host, port, family)
        allowed = [r for r in found if self._policy.address_allowed(host, r.host)]
        if not allowed:
            raise OSError(
                f"{host} resolves only to non-public addresses; start with --dev (KEYHOOK_DEV=1) "
                "or list the host in KEYHOOK_ACTIONS_ALLOW_HOSTS"
            )
        if family == socket.AF_UNSPEC:
            if len(self._cache) >= 4096:  # names come from targets: a bounded number, but still
                self._cache.clear()
            self._cache[key] = (now + CACHE_SECONDS, allowed)
        return allowed
