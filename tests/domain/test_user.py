from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from keyhook.domain.lockout import (
    DEFAULT_MAX_PASSWORD_ATTEMPTS,
    LOCKOUT_REASON,
    FailedCheck,
    after_failed_check,
    validate_max_attempts,
)
from keyhook.domain.user import (
    User,
    UserState,
    validate_email,
    validate_machine_name,
    validate_metadata_key,
    validate_password,
    validate_user_name,
)
from keyhook.errors import FailedPrecondition, InvalidArgument, NotFound

ORG = "200"


def fold(*events: tuple[str, dict[str, Any]]) -> User:
    user = User(id="300")
    for sequence, (event_type, data) in enumerate(events, start=1):
        user.apply(event_type, data, sequence, ORG)
    return user


ADDED = ("user.human.added", {"userId": "300", "userName": "john"})


def test_a_user_without_events_does_not_exist() -> None:
    user = User(id="300")
    assert not user.exists
    with pytest.raises(NotFound) as caught:
        user.ensure_exists()
    assert caught.value.details[0]["field"] == "userId"


def test_human_added_creates_an_active_human_in_the_owner_org() -> None:
    user = fold(ADDED)
    assert user.exists
    assert user.org_id == ORG
    assert user.user_name == "john"
    assert user.kind == "human"
    assert user.state is UserState.ACTIVE
    assert user.sequence == 1
    user.ensure_exists()
    user.ensure_human()


def test_machine_added_creates_a_machine_user() -> None:
    user = fold(("user.machine.added", {"userName": "robot"}))
    assert user.kind == "machine"
    with pytest.raises(FailedPrecondition, match="machine user"):
        user.ensure_human()


def test_user_name_change_and_other_profile_changes() -> None:
    user = fold(
        ADDED,
        ("user.human.changed", {"changed": {"givenName": "Johnny"}}),
        ("user.human.changed", {"changed": {"userName": "johnny"}}),
    )
    assert user.user_name == "johnny"
    assert user.sequence == 3


def test_state_transitions() -> None:
    assert fold(ADDED, ("user.locked", {})).state is UserState.LOCKED
    assert fold(ADDED, ("user.locked", {}), ("user.unlocked", {})).state is UserState.ACTIVE
    assert fold(ADDED, ("user.deactivated", {})).state is UserState.INACTIVE
    assert fold(ADDED, ("user.deactivated", {}), ("user.reactivated", {})).state is UserState.ACTIVE
    assert fold(ADDED, ("user.removed", {})).state is UserState.DELETED


def test_metadata_set_overwrite_and_remove() -> None:
    user = fold(
        ADDED,
        ("user.metadata.set", {"key": "department", "value": "Sales"}),
        ("user.metadata.set", {"key": "department", "value": "Engineering"}),
        ("user.metadata.set", {"key": "floor", "value": "3"}),
        ("user.metadata.removed", {"key": "floor"}),
        ("user.metadata.removed", {"key": "never-set"}),
    )
    assert user.metadata == {"department": "Engineering"}
    assert user.sequence == 6


def test_unrelated_events_only_advance_the_sequence() -> None:
    user = fold(ADDED, ("user.pat.added", {"tokenId": "1"}), ("user.human.password.changed", {}))
    assert user.sequence == 3
    assert user.state is UserState.ACTIVE
    assert user.user_name == "john"


def test_a_removed_user_no_longer_exists() -> None:
    user = fold(ADDED, ("user.removed", {}))
    with pytest.raises(NotFound):
        user.ensure_exists()
    with pytest.raises(NotFound):
        user.check_lock()


Check = Callable[[User], None]
STATES: dict[str, tuple[tuple[str, dict[str, Any]], ...]] = {
    "active": (ADDED,),
    "locked": (ADDED, ("user.locked", {})),
    "inactive": (ADDED, ("user.deactivated", {})),
}


@pytest.mark.parametrize(
    ("check", "allowed_in"),
    [
        (User.check_lock, "active"),
        (User.check_unlock, "locked"),
        (User.check_deactivate, "active"),
        (User.check_reactivate, "inactive"),
    ],
)
def test_each_check_allows_exactly_one_state(check: Check, allowed_in: str) -> None:
    for state, events in STATES.items():
        user = fold(*events)
        if state == allowed_in:
            check(user)
        else:
            with pytest.raises(FailedPrecondition):
                check(user)
    with pytest.raises(NotFound):
        check(User(id="404"))


@pytest.mark.parametrize("email", ["john@example.com", " john.doe+tag@sub.example.org "])
def test_valid_emails(email: str) -> None:
    assert validate_email(email) == email.strip()


@pytest.mark.parametrize(
    "email", ["", "john", "john@", "@example.com", "john@example", "jo hn@example.com"]
)
def test_invalid_emails_name_the_field(email: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        validate_email(email)
    assert caught.value.details[0]["field"] == "user.email.email"


def test_user_name_and_metadata_key_and_password_rules() -> None:
    assert validate_user_name(" john ") == "john"
    for bad in ("", "   ", "john doe", "x" * 201):
        with pytest.raises(InvalidArgument):
            validate_user_name(bad)
    assert validate_metadata_key("k", "metadata.key") == "k"
    with pytest.raises(InvalidArgument) as caught:
        validate_metadata_key("", "metadata[0].key")
    assert caught.value.details[0]["field"] == "metadata[0].key"
    assert validate_password("12345678", "password") == "12345678"
    for bad in ("1234567", "x" * 257):
        with pytest.raises(InvalidArgument):
            validate_password(bad, "user.password.password")


# --- failed password checks and the lockout rule --------------------------------------


def failed(count: int) -> tuple[str, dict[str, Any]]:
    return ("user.human.password.check.failed", {"failedAttempts": count})


SUCCEEDED: tuple[str, dict[str, Any]] = ("user.human.password.check.succeeded", {})


def test_failed_checks_are_counted_from_the_events() -> None:
    assert fold(ADDED).failed_attempts == 0
    assert fold(ADDED, failed(1), failed(2), failed(3)).failed_attempts == 3


def test_a_failed_check_without_a_count_adds_one() -> None:
    assert fold(ADDED, failed(1), ("user.human.password.check.failed", {})).failed_attempts == 2


@pytest.mark.parametrize(
    "reset",
    [
        SUCCEEDED,
        ("user.unlocked", {}),
        ("user.human.password.changed", {"hashedPassword": "$argon2id$new"}),
    ],
)
def test_success_unlock_and_a_new_password_reset_the_count(
    reset: tuple[str, dict[str, Any]],
) -> None:
    assert fold(ADDED, failed(1), failed(2), reset).failed_attempts == 0


def test_lock_and_reactivate_keep_the_count() -> None:
    assert fold(ADDED, failed(1), failed(2), ("user.locked", {})).failed_attempts == 2
    user = fold(ADDED, failed(1), ("user.deactivated", {}), ("user.reactivated", {}))
    assert user.failed_attempts == 1


def test_the_password_hash_follows_added_changed_and_rehashed() -> None:
    added = ("user.human.added", {"userName": "john", "hashedPassword": "h1"})
    assert fold(added).password_hash == "h1"
    assert fold(ADDED).password_hash is None
    changed = ("user.human.password.changed", {"hashedPassword": "h2"})
    rehashed = ("user.human.password.hash.updated", {"hashedPassword": "h3"})
    assert fold(added, changed).password_hash == "h2"
    assert fold(added, changed, rehashed).password_hash == "h3"
    assert "h1" not in repr(fold(added))


def test_a_locked_or_deactivated_user_cannot_sign_in() -> None:
    fold(ADDED).check_can_sign_in()
    with pytest.raises(FailedPrecondition, match="is locked; an administrator must unlock it"):
        fold(ADDED, ("user.locked", {})).check_can_sign_in()
    with pytest.raises(FailedPrecondition, match="is deactivated"):
        fold(ADDED, ("user.deactivated", {})).check_can_sign_in()
    with pytest.raises(NotFound):
        fold(ADDED, ("user.removed", {})).check_can_sign_in()


def test_a_password_check_needs_a_human_with_a_password() -> None:
    added = ("user.human.added", {"userName": "john", "hashedPassword": "h1"})
    assert fold(added).check_has_password() == "h1"
    with pytest.raises(FailedPrecondition, match="has no password"):
        fold(ADDED).check_has_password()
    with pytest.raises(FailedPrecondition, match="machine user"):
        fold(("user.machine.added", {"userName": "robot"})).check_has_password()


MACHINE = ("user.machine.added", {"userId": "300", "userName": "robot", "name": "Robot"})


def test_the_secret_hash_follows_set_replaced_and_removed() -> None:
    assert fold(MACHINE).secret_hash is None
    first = ("user.machine.secret.set", {"userName": "robot", "hashedSecret": "$argon2id$a"})
    second = ("user.machine.secret.set", {"userName": "robot", "hashedSecret": "$argon2id$b"})
    removed = ("user.machine.secret.removed", {"userName": "robot"})
    assert fold(MACHINE, first).secret_hash == "$argon2id$a"
    assert fold(MACHINE, first, second).secret_hash == "$argon2id$b"
    assert fold(MACHINE, first, removed).secret_hash is None
    assert fold(MACHINE, first, removed, second).secret_hash == "$argon2id$b"
    assert "argon2" not in repr(fold(MACHINE, first)), "the hash stays out of logs"


def test_client_secrets_are_for_existing_machine_users_only() -> None:
    fold(MACHINE).ensure_machine()
    with pytest.raises(FailedPrecondition, match="human user"):
        fold(ADDED).ensure_machine()
    with pytest.raises(NotFound):
        User(id="300").ensure_machine()
    with pytest.raises(NotFound):
        fold(MACHINE, ("user.removed", {})).ensure_machine()
    with pytest.raises(FailedPrecondition, match="has no client secret"):
        fold(MACHINE).check_has_secret()
    fold(MACHINE, ("user.machine.secret.set", {"hashedSecret": "h"})).check_has_secret()


def test_machine_display_name_rule() -> None:
    assert validate_machine_name(" Robot ") == "Robot"
    for bad in ("", "   ", "x" * 201):
        with pytest.raises(InvalidArgument) as caught:
            validate_machine_name(bad)
        assert caught.value.details[0]["field"] == "name"


@pytest.mark.parametrize(
    ("previous", "limit", "count", "locks"),
    [
        (0, 5, 1, False),
        (3, 5, 4, False),
        (4, 5, 5, True),
        (7, 5, 8, True),  # the limit was lowered below an existing count
        (2, 3, 3, True),
        (0, 1, 1, True),
        (99, 0, 100, False),  # 0 never locks
    ],
)
def test_lockout_rule(previous: int, limit: int, count: int, locks: bool) -> None:
    assert after_failed_check(previous, limit) == FailedCheck(count, locks)


def test_lockout_limit_range() -> None:
    assert validate_max_attempts(0) == 0
    assert validate_max_attempts(100) == 100
    for bad in (-1, 101):
        with pytest.raises(InvalidArgument) as caught:
            validate_max_attempts(bad)
        assert caught.value.details[0]["field"] == "maxPasswordAttempts"
    assert DEFAULT_MAX_PASSWORD_ATTEMPTS == 5
    assert LOCKOUT_REASON == "Too many failed login attempts"
