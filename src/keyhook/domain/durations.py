"""Durations as the wire writes them: ``"10s"``, ``"500ms"``, ``"1m"``, ``"1.5s"``."""

from __future__ import annotations

import re

from keyhook.errors import field_error

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$")
ALLOWED = 'a number with a unit: "500ms", "10s", "1m", "2h"'


def parse_duration(text: object, field: str) -> float:
    """Seconds in ``text``; an :class:`InvalidArgument` naming ``field`` otherwise."""
    if not isinstance(text, str):
        raise field_error(field, f"must be a string, got {type(text).__name__}", ALLOWED)
    match = _PATTERN.match(text)
    if match is None:
        raise field_error(field, f"{text!r} is not a duration", ALLOWED)
    return float(match.group(1)) * _UNITS[match.group(2)]


def format_duration(seconds: float) -> str:
    if seconds < 1 and seconds * 1000 == int(seconds * 1000):
        return f"{int(seconds * 1000)}ms"
    if seconds == int(seconds):
        return f"{int(seconds)}s"
    return f"{seconds:g}s"
