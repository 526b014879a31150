from __future__ import annotations

import copy
from typing import Any

from keyhook.domain.payload import SECRET_KEYS, has_secrets, redact, restore_secrets


def add_human_request() -> dict[str, Any]:
    return {
        "user": {
            "userName": "john.doe@example.com",
            "profile": {"givenName": "John", "familyName": "Doe"},
            "email": {"email": "john.doe@example.com", "isVerified": False},
            "password": {"password": "S3cret!pass", "changeRequired": False},
            "metadata": [{"key": "department", "value": "Engineering"}],
        },
        "organizationId": "100",
    }


def test_redact_removes_secrets_at_any_depth() -> None:
    message = add_human_request()
    redacted = redact(message)
    assert "password" not in redacted["user"]
    assert redacted["user"]["profile"] == {"givenName": "John", "familyName": "Doe"}
    assert redacted["organizationId"] == "100"
    assert not has_secrets(redacted)
    # The original is not changed.
    assert message["user"]["password"]["password"] == "S3cret!pass"


def test_redact_walks_into_lists() -> None:
    message = {
        "apps": [
            {"clientId": "a", "clientSecret": "s1"},
            {"clientId": "b", "nested": [{"accessToken": "t", "keep": 1}]},
        ],
        "refreshToken": "r",
    }
    assert redact(message) == {
        "apps": [{"clientId": "a"}, {"clientId": "b", "nested": [{"keep": 1}]}],
    }


def test_every_secret_key_is_removed() -> None:
    message = {key: "value" for key in SECRET_KEYS} | {"userName": "kept"}
    assert redact(message) == {"userName": "kept"}


def test_redact_leaves_scalars_and_secret_free_messages_alone() -> None:
    assert redact("password") == "password"
    assert redact(None) is None
    assert redact([1, "token"]) == [1, "token"]
    clean = {"user": {"userName": "x", "tags": ["a", "b"]}}
    assert redact(clean) == clean


def test_has_secrets() -> None:
    assert has_secrets(add_human_request())
    assert has_secrets([{"a": [{"idToken": "x"}]}])
    assert not has_secrets({"user": {"userName": "x"}, "list": [1, {"a": 2}]})
    # A secret word as a value is not a secret member.
    assert not has_secrets({"field": "password"})


def test_restore_secrets_puts_the_callers_original_secret_back() -> None:
    original = add_human_request()
    changed = redact(original)
    changed["user"]["profile"]["givenName"] = "Johnny"
    restored = restore_secrets(original, changed)
    assert restored["user"]["profile"]["givenName"] == "Johnny"
    assert restored["user"]["password"] == {"password": "S3cret!pass", "changeRequired": False}


def test_a_target_cannot_set_or_replace_a_secret() -> None:
    original = add_human_request()
    changed = copy.deepcopy(redact(original))
    changed["user"]["password"] = {"password": "attacker-chosen"}
    changed["user"]["profile"]["token"] = "invented"
    changed["clientSecret"] = "invented"
    restored = restore_secrets(original, changed)
    assert restored["user"]["password"]["password"] == "S3cret!pass"
    assert "token" not in restored["user"]["profile"]
    assert "clientSecret" not in restored


def test_restore_secrets_in_lists_by_position() -> None:
    original = {"apps": [{"name": "a", "clientSecret": "s1"}, {"name": "b", "clientSecret": "s2"}]}
    changed = {"apps": [{"name": "A"}, {"name": "B"}, {"name": "C", "clientSecret": "new"}]}
    assert restore_secrets(original, changed) == {
        "apps": [
            {"name": "A", "clientSecret": "s1"},
            {"name": "B", "clientSecret": "s2"},
            {"name": "C"},
        ]
    }


def test_restore_secrets_when_a_target_changed_the_shape() -> None:
    original = {"user": {"password": {"password": "p"}}}
    # The target replaced an object with a scalar: nothing to restore into.
    assert restore_secrets(original, {"user": "gone"}) == {"user": "gone"}
    # And an object where the caller had none: invented secrets still dropped.
    assert restore_secrets({"user": "x"}, {"user": {"password": "p2", "a": 1}}) == {
        "user": {"a": 1}
    }
    # A whole message without any original.
    assert restore_secrets(None, {"token": "t", "keep": [{"secret": 1, "k": 2}]}) == {
        "keep": [{"k": 2}]
    }
