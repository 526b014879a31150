"""Where targets may point: HTTPS and public addresses, unless opened.

The relay endpoint (``relay:``, a ``keyhook listen`` attached over a WebSocket) is
always allowed: its calls travel over a connection the listener opened.

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
from urllib.parse import SplitResult, urlsplit, urlunsplit

from keyhook.domain.addresses import is_public, legacy_ipv4, non_public_reason
from keyhook.domain.hostnames import ascii_host
from keyhook.domain.target import RELAY_ENDPOINT
from keyhook.errors import InvalidArgument, field_error

__all__ = ["NetworkPolicy", "legacy_ipv4"]

_SWITCHES = "start with --dev (KEYHOOK_DEV=1) or list the host in KEYHOOK_ACTIONS_ALLOW_HOSTS"

# Checked on the ASCII form (IDNs as xn--): letters, digits, "_", "-", "." and ":" (IPv6).
_HOST = re.compile(r"[A-Za-z0-9_.:-]+")


def _with_host(parts: SplitResult, url: str, host: str) -> str:
    """``url`` with its host written as ``host`` (unchanged when it already is)."""
    shown = f"[{host}]" if ":" in host else host
    netloc = shown if parts.port is None else f"{shown}:{parts.port}"
    if netloc == parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=netloc))


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

    @functools.cached_property
    def _listed_names(self) -> frozenset[str]:
        """The allow-list's names in the ASCII form hosts are judged in."""
        names = set()
        for entry in self.allow_hosts:
            try:
                names.add(ascii_host(entry.strip("[]")))
            except ValueError:
                continue
        return frozenset(names)

    def host_listed(self, host: str) -> bool:
        host = host.lower().strip("[]")
        if host in self._listed_names:
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
        if is_public(ip):
            return True
        return self.host_listed(host) or any(ip in net for net in self._networks())

    def refusal(self, url: str) -> str | None:
        """Why a call to ``url`` is refused, or None; remembered, as it is asked per call."""
        return _refusal(self, url)

    def check_endpoint(self, url: str, field: str = "endpoint") -> str:
        """``url`` with its host in the ASCII form that is judged and called (store that);
        an error naming ``field``, and the switch that would open ``url``, if it is refused."""
        if not isinstance(url, str) or not url:
            raise field_error(field, "is required", "an https:// URL")
        if url == RELAY_ENDPOINT:  # Keyhook's own relay: nothing is sent over the network
            return url
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
        if parts.username is not None or parts.password is not None:
            raise field_error(field, "must not carry credentials; use headers instead")
        try:
            host = ascii_host(parts.hostname)
        except ValueError as exc:
            raise field_error(field, str(exc), "a host name or IP address") from None
        if not _HOST.fullmatch(host):
            raise field_error(field, f"{parts.hostname!r} is not a host name or IP address")
        normalised = _with_host(parts, url, host)
        if self.dev or self.host_listed(host):
            return normalised
        if parts.scheme != "https":
            raise field_error(
                field, f"plain http:// is refused for {host}; {_SWITCHES}", "https:// URLs"
            )
        self._check_host(host, field)
        return normalised

    def _check_host(self, host: str, field: str) -> None:
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            ip = None
        if ip is not None:
            reason = non_public_reason(ip)
            if reason is not None:
                raise field_error(field, f"{host} {reason}; {_SWITCHES}", "public addresses")
            return
        if ":" in host:
            raise field_error(field, f"{host!r} is not a valid IPv6 address")
        legacy = legacy_ipv4(host)
        if legacy is not None and not is_public(legacy):
            raise field_error(
                field, f"{host} is {legacy}, not a public address; {_SWITCHES}", "public addresses"
            )
        name = host.rstrip(".")  # "localhost." is the same name as "localhost"
        if name == "localhost" or name.endswith((".localhost", ".local", ".internal")):
            raise field_error(field, f"{host} is a local name; {_SWITCHES}", "public hosts")


@functools.lru_cache(maxsize=4096)
def _refusal(policy: NetworkPolicy, url: str) -> str | None:
    try:
        policy.check_endpoint(url)
    except InvalidArgument as error:
        return error.message
    return None
