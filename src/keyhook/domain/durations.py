"""Durations as the wire writes them: ``"10s"``, ``"500ms"``, ``"1m"``, ``"1.5s"``.

ASCII digits only, nothing around them: ``\\d`` would also read other scripts'
digits, ``\\s`` spaces and ``$`` a trailing newline, none of which a client
means or another parser of the same value would agree with.
"""

from __future__ import annotations

import re

from keyhook.errors import field_error

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_PATTERN = re.compile(r"([0-9]{1,12})(?:\.([0-9]{1,9}))?(ms|s|m|h)")
ALLOWED = 'a number of ASCII digits and a unit, no spaces: "500ms", "10s", "1.5s", "1m", "2h"'
# Far above any lifetime, retention or delay Keyhook takes; keeps every caller's
# timedelta and arithmetic finite.
MAX_SECONDS = 10 * 365 * 24 * 3600.0
TEN_YEARS = "at most 87600h (10 years)"


def parse_duration(
    text: object,
    field: str,
    *,
    at_least: float = 0.0,
    at_most: float = MAX_SECONDS,
    allowed: str = TEN_YEARS,
) -> float:
    """Seconds in ``text``, within the bounds; an :class:`InvalidArgument` naming
    ``field`` (and ``allowed``, the bounds in words) otherwise."""
    if not isinstance(text, str):
        raise field_error(field, f"must be a string, got {type(text).__name__}", ALLOWED)
    match = _PATTERN.fullmatch(text)
    if match is None:
        raise field_error(field, f"{text!r} is not a duration", ALLOWED)
    whole, fraction, unit = match.groups()
    seconds = float(f"{whole}.{fraction or 0}") * _UNITS[unit]
    if not at_least <= seconds <= at_most:
        raise field_error(field, f"{text!r} is out of range", allowed)
    return seconds


def format_duration(seconds: float) -> str:
    if seconds < 1 and seconds * 1000 == int(seconds * 1000):
        return f"{int(seconds * 1000)}ms"
    if seconds == int(seconds):
        return f"{int(seconds)}s"
    return f"{seconds:g}s"
