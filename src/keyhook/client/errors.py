"""The client's errors, each with the exit code docs/cli.md documents.

They are :class:`keyhook.errors.KeyhookError` s (the one tree), raised where a
failure is seen (HTTP status, socket, file) with a message that says what to do;
``keyhook.client.commands`` turns them into one line on stderr and the exit code.
"""

from __future__ import annotations

from keyhook.errors import KeyhookError

EXIT_OK = 0
EXIT_OTHER = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_NOT_FOUND = 4
EXIT_SERVER = 5


class ClientError(KeyhookError):
    """A failure the user can act on; ``exit_code`` is what the command exits with."""

    exit_code = EXIT_OTHER


class UsageProblem(ClientError):
    code = "invalid_argument"
    exit_code = EXIT_USAGE


class AuthProblem(ClientError):
    code = "unauthenticated"
    exit_code = EXIT_AUTH


class TokenRefused(AuthProblem):
    """The server does not know the token (401): wrong, expired or revoked."""


class NotFoundProblem(ClientError):
    code = "not_found"
    exit_code = EXIT_NOT_FOUND


class ServerProblem(ClientError):
    """The server answered 5xx, or could not be reached at all."""

    code = "unavailable"
    exit_code = EXIT_SERVER
