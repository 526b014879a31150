"""Is an IP address public? Seeing through the IPv6 forms that carry an IPv4 address.

``ipaddress``'s ``is_global`` judges an IPv6 address by its own prefix, so
``::127.0.0.1`` or ``64:ff9b::a9fe:a9fe`` (NAT64 to 169.254.169.254, cloud
metadata) count as global although a host or a NAT64 gateway delivers them to
the IPv4 address inside. Here the embedded IPv4 address is unwrapped and judged
instead; the ranges whose embedding is chosen by the network operator (local-use
NAT64) or hides a tunnel end (Teredo) are refused outright.
"""

from __future__ import annotations

import ipaddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_V6 = ipaddress.IPv6Network
# (network, name): the IPv4 address is the last 32 bits.
_LOW_32 = (
    (_V6("::ffff:0:0/96"), "IPv4-mapped"),
    (_V6("::ffff:0:0:0/96"), "IPv4-translated"),
    (_V6("64:ff9b::/96"), "NAT64"),
    (_V6("::/96"), "IPv4-compatible"),
)
# Refused whatever they carry.
_REFUSED = (
    (_V6("64:ff9b:1::/48"), "local-use NAT64, RFC 8215"),
    (_V6("2001::/32"), "Teredo tunnel"),
    (_V6("fec0::/10"), "site-local"),
)


def embedded_ipv4(address: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, str] | None:
    """The IPv4 address an IPv6 address carries, and the form's name; None if none."""
    if int(address) <= 1:
        return None  # :: and ::1 are IPv6's own unspecified and loopback addresses
    for network, name in _LOW_32:
        if address in network:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF), name
    if address.sixtofour is not None:
        return address.sixtofour, "6to4"
    return None


def _plainly_public(address: IPAddress) -> bool:
    return address.is_global and not address.is_multicast


def non_public_reason(address: IPAddress) -> str | None:
    """None for a public address; otherwise why it is not, ending in "not a public address"."""
    if isinstance(address, ipaddress.IPv6Address):
        for network, name in _REFUSED:
            if address in network:
                return f"is in {network} ({name}), not a public address"
        found = embedded_ipv4(address)
        if found is not None:
            inner, name = found
            if _plainly_public(inner):
                return None
            return f"carries {inner} ({name}), not a public address"
    return None if _plainly_public(address) else "is not a public address"


def is_public(address: IPAddress) -> bool:
    return non_public_reason(address) is None


def legacy_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The address of the numeric forms C's ``inet_aton`` accepts (``127.1``,
    ``2130706433``, ``0x7f.1``), which resolvers turn into addresses too."""
    parts = host.rstrip(".").split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers: list[int] = []
    for part in parts:
        if not (part.isascii() and part.isalnum()):
            return None  # int() would also read other scripts' digits, "_", "+" and spaces
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
