"""Where targets may point: HTTPS and public addresses, unless opened.

``--dev`` (``KEYHOOK_DEV=1``) opens plain HTTP and every address; the allow-list
``KEYHOOK_ACTIONS_ALLOW_HOSTS`` (host names and CIDRs) opens them for the hosts
and networks it names. The same policy is applied when a target is saved (to
the URL) and when it is called (to every address the name resolves to).
"""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from keyhook.errors import InvalidArgument, field_error

_SWITCHES = "start with --dev (KEYHOOK_DEV=1) or list the host in KEYHOOK_ACTIONS_ALLOW_HOSTS"

# Letters (also non-ASCII, for IDNs), digits, "-", "." and ":" (IPv6 literals).
_HOST = re.compile(r"^[\w.:-]+$")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return _is_public(address.ipv4_mapped)
    return address.is_global and not address.is_multicast


def legacy_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The address of the numeric forms C's ``inet_aton`` accepts (``127.1``,
    ``2130706433``, ``0x7f.1``), which resolvers turn into addresses too."""
    parts = host.rstrip(".").split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers: list[int] = []
    for part in parts:
        try:
            if part.lower().startswith("0x"):
                numbers.append(int(part[2:], 16))
            elif len(part) > 1 and part.startswith("0"):
                numbers.append(int(part, 8))
            else:
                numbers.append(int(part, 10))
        except ValueError:
            return None
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(numbers)):
        return None
    value = last
    for i, n in enumerate(head):
        value |= n << (8 * (3 - i))
    return ipaddress.IPv4Address(value)


@dataclass(frozen=True)
class NetworkPolicy:
    dev: bool = False
    allow_hosts: tuple[str, ...] = ()

    def _networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        nets = []
        for entry in self.allow_hosts:
            try:
                nets.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                continue
        return nets

    def host_listed(self, host: str) -> bool:
        host = host.lower().strip("[]")
        if host in {h.lower() for h in self.allow_hosts}:
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in net for net in self._networks())

    def address_allowed(self, host: str, address: str) -> bool:
        """May a call to ``host`` connect to ``address`` (one of its resolved addresses)?"""
        if self.dev:
            return True
        ip = ipaddress.ip_address(address.split("%")[0])
        if _is_public(ip):
            return True
        return self.host_listed(host) or any(ip in net for net in self._networks())

    def refusal(self, url: str) -> str | None:
        """Why a call to ``url`` is refused, or None; remembered, as it is asked per call."""
        return _refusal(self, url)

    def check_endpoint(self, url: str, field: str = "endpoint") -> None:
        """Raise an error naming ``field`` and the switch that would open ``url``."""
        if not isinstance(url, str) or not url:
            raise field_error(field, "is required", "an https:// URL")
        if len(url) > 2048:
            raise field_error(field, "is longer than 2048 characters")
        if any(c.isspace() or not c.isprintable() for c in url):
            raise field_error(field, "must not contain spaces or control characters")
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError for a port that is not 0-65535
        except ValueError as exc:
            raise field_error(
                field, f"{url!r} is not a valid URL: {exc}", "an https:// URL"
            ) from None
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise field_error(field, f"{url!r} is not an absolute http(s) URL", "an https:// URL")
        if not _HOST.match(parts.hostname):
            raise field_error(field, f"{parts.hostname!r} is not a host name or IP address")
        if parts.username or parts.password:
            raise field_error(field, "must not carry credentials; use headers instead")
        host = parts.hostname
        if self.dev or self.host_listed(host):
            return
        if parts.scheme != "https":
            raise field_error(
                field, f"plain http:// is refused for {host}; {_SWITCHES}", "https:// URLs"
            )
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            legacy = legacy_ipv4(host)
            if legacy is not None and not _is_public(legacy):
                raise field_error(
                    field,
                    f"{host} is {legacy}, not a public address; {_SWITCHES}",
                    "public addresses",
                ) from None
            name = host.rstrip(".")  # "localhost." is the same name as "localhost"
            if name == "localhost" or name.endswith((".localhost", ".local", ".internal")):
                raise field_error(
                    field, f"{host} is a local name; {_SWITCHES}", "public hosts"
                ) from None
            return
        if not _is_public(ip):
            raise field_error(
                field, f"{host} is not a public address; {_SWITCHES}", "public addresses"
            )


@functools.lru_cache(maxsize=4096)
def _refusal(policy: NetworkPolicy, url: str) -> str | None:
    try:
        policy.check_endpoint(url)
    except InvalidArgument as error:
        return error.message
    return None
