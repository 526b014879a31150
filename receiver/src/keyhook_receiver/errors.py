"""The one exception the library raises for a call it refuses, with a machine-readable
reason and a message saying what to do."""

from __future__ import annotations

from typing import Literal

Reason = Literal[
    "missing_header",
    "malformed_header",
    "timestamp_too_old",
    "timestamp_too_new",
    "no_matching_signature",
    "body_reserialised",
    "body_not_bytes",
    "body_not_json",
    "duplicate",
]


class VerificationError(Exception):
    """A call that is not Keyhook's as sent, or cannot be read: ``reason`` says which
    (for logs and metrics), the message what to do."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason: Reason = reason
        self.message = message

    def __str__(self) -> str:
        return f"{self.reason}: {self.message}"
