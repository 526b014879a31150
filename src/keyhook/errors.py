"""The one exception tree of Keyhook.

Every error a caller can see is a :class:`KeyhookError`. Foreign errors (driver,
HTTP client, validation library) are translated where they enter (``raise …
from exc``) and mapped to HTTP in one table in ``keyhook.api.errors``. This
module imports nothing of Keyhook.
"""

from __future__ import annotations

from typing import Any

Detail = dict[str, Any]


class KeyhookError(Exception):
    """Base of every error Keyhook raises on purpose.

    ``code`` is a stable snake-case name (the Connect protocol's codes),
    ``message`` a sentence for a human, ``details`` machine-readable items such
    as ``{"field": "timeout", "problem": "...", "allowed": "..."}``.
    """

    code = "internal"

    def __init__(self, message: str, *, details: list[Detail] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: list[Detail] = details or []


class InvalidArgument(KeyhookError):
    code = "invalid_argument"


class NotFound(KeyhookError):
    code = "not_found"


class AlreadyExists(KeyhookError):
    code = "already_exists"


class FailedPrecondition(KeyhookError):
    code = "failed_precondition"


class PasswordChangeRequired(FailedPrecondition):
    """The password was right, and the user must choose a new one before signing in."""


class Unauthenticated(KeyhookError):
    code = "unauthenticated"


class PermissionDenied(KeyhookError):
    code = "permission_denied"


class Conflict(KeyhookError):
    """A concurrent write changed the aggregate first; the caller may retry."""

    code = "aborted"


class TargetError(KeyhookError):
    """A target of an execution failed and its ``interruptOnError`` is set.

    ``status`` is the HTTP status the caller receives: the target's own 4xx, 502
    for a 5xx or unreadable answer, 504 for a timeout.
    """

    code = "target_failed"

    def __init__(
        self, message: str, *, status: int, target_id: str, details: list[Detail] | None = None
    ) -> None:
        super().__init__(message, details=details)
        self.status = status
        self.target_id = target_id


class OAuthError(KeyhookError):
    """An OAuth 2.0 / OpenID Connect error (RFC 6749 §5.2, RFC 6750 §3).

    ``error`` is the registered code (``invalid_grant``, ``invalid_client``, …) the
    client library branches on; the message becomes ``error_description``.
    """

    code = "oauth_error"

    def __init__(self, error: str, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.error = error
        self.status = status


class TooManyAttempts(KeyhookError):
    """Too many failed authentication attempts for a client, user or address of late:
    refused without checking, for ``retry_after`` seconds (HTTP 429, ``Retry-After``)."""

    code = "resource_exhausted"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Internal(KeyhookError):
    code = "internal"


class DeadlineExceeded(KeyhookError):
    """The caller's deadline (the Connect form's ``Connect-Timeout-Ms``) passed while
    targets were being waited for; the operation itself was not run, or ran whole."""

    code = "deadline_exceeded"


def field_error(field: str, problem: str, allowed: str | None = None) -> InvalidArgument:
    """An :class:`InvalidArgument` about one field, with a message naming it."""
    detail: Detail = {"field": field, "problem": problem}
    message = f"{field}: {problem}"
    if allowed is not None:
        detail["allowed"] = allowed
        message += f" (allowed: {allowed})"
    return InvalidArgument(message, details=[detail])
