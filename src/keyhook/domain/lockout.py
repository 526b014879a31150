"""The lockout policy: how many failed password checks in a row lock a user.

Pure rules, no I/O. The count lives on the user aggregate (folded from
``user.human.password.check.failed`` / ``.succeeded`` and ``user.unlocked``);
the limit is the instance's lockout policy (``instance.lockout.policy.changed``).
"""

from __future__ import annotations

from dataclasses import dataclass

from keyhook.errors import field_error

DEFAULT_MAX_PASSWORD_ATTEMPTS = 5
MAX_PASSWORD_ATTEMPTS_LIMIT = 100
# The reason of the ``user.locked`` event the policy appends (DESIGN.md §1, §3.4).
LOCKOUT_REASON = "Too many failed login attempts"


@dataclass(frozen=True)
class FailedCheck:
    """What one more failed check means: the new count, and whether it locks the user."""

    failed_attempts: int
    locks: bool


def after_failed_check(previous_failures: int, max_attempts: int) -> FailedCheck:
    """The count after one more failure; ``max_attempts`` 0 never locks."""
    attempts = previous_failures + 1
    return FailedCheck(attempts, locks=max_attempts > 0 and attempts >= max_attempts)


def validate_max_attempts(value: int, field_name: str = "maxPasswordAttempts") -> int:
    if value < 0 or value > MAX_PASSWORD_ATTEMPTS_LIMIT:
        raise field_error(
            field_name,
            f"{value} is out of range",
            f"0 to {MAX_PASSWORD_ATTEMPTS_LIMIT}; 0 never locks a user",
        )
    return value
