"""Messages as targets see them: secrets left out, and put back after a change.

A target can neither read nor set a secret: :func:`redact` removes every
member named in :data:`SECRET_KEYS` at any depth before a payload leaves, and
:func:`restore_secrets` copies the caller's original values into a message a
target returned (and drops any the target invented).
"""

from __future__ import annotations

from typing import Any

SECRET_KEYS = frozenset(
    {
        "password",
        "hashedPassword",
        "newPassword",
        "currentPassword",
        "clientSecret",
        "signingKey",
        "token",
        "sessionToken",
        "accessToken",
        "refreshToken",
        "idToken",
        "secret",
        "code",
        "verificationCode",
        "headers",
        "tokenHash",
        "sealedSigningKeys",
        "sealedHeaders",
        "sealedKeyCheck",
        "sealedPrivateKey",
        "clientSecretHash",
        "hashedSecret",
        "codeHash",
        "refreshTokenHash",
        "previousRefreshTokenHash",
    }
)


def redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items() if k not in SECRET_KEYS}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def has_secrets(value: Any) -> bool:
    if isinstance(value, dict):
        return any(k in SECRET_KEYS or has_secrets(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_secrets(v) for v in value)
    return False


def restore_secrets(original: Any, modified: Any) -> Any:
    """``modified`` with every secret member taken from ``original`` (or dropped)."""
    if isinstance(modified, dict):
        result = {k: v for k, v in modified.items() if k not in SECRET_KEYS}
        source = original if isinstance(original, dict) else {}
        for key, value in result.items():
            result[key] = restore_secrets(source.get(key), value)
        for key in SECRET_KEYS & source.keys():
            result[key] = source[key]
        return result
    if isinstance(modified, list):
        source_list = original if isinstance(original, list) else []
        return [
            restore_secrets(source_list[i] if i < len(source_list) else None, v)
            for i, v in enumerate(modified)
        ]
    return modified


def event_payload(
    *,
    event_type: str,
    position: int,
    sequence: int,
    created_at: str,
    instance_id: str,
    resource_owner: str,
    aggregate_type: str,
    aggregate_id: str,
    creator: str,
    data: dict[str, Any],
) -> dict[str, Any]:
    """What an event execution's target receives (DESIGN.md §3.4): the seed's form plus
    ``eventID``, ``sequence``, ``createdAt``, ``aggregateType`` and ``aggregateID``.

    ``userID`` is the user the event is about: the aggregate for user events, the
    ``userId`` member of the data if there is one, else whoever caused the event.
    """
    user_id = aggregate_id if aggregate_type == "user" else str(data.get("userId") or creator)
    return {
        "event": event_type,
        "eventID": str(position),
        "sequence": str(sequence),
        "createdAt": created_at,
        "instanceID": instance_id,
        "orgID": resource_owner,
        "userID": user_id,
        "aggregateType": aggregate_type,
        "aggregateID": aggregate_id,
        "eventData": redact(data),
    }
