"""Event types: names, aggregates, and what their ``eventData`` holds.

Types are named ``<aggregate>.<entity>.<past tense>`` and never renamed once
stored. The table below is the single source for the list of events an
execution may name, for event groups, and for ``docs/events.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class EventType:
    name: str
    aggregate_type: str
    description: str
    data_fields: dict[str, str] = field(default_factory=dict)


_USER_REF = {"userId": "the user's id", "userName": "the user's login name"}

EVENT_TYPES: dict[str, EventType] = {
    e.name: e
    for e in (
        EventType(
            "instance.added",
            "instance",
            "The instance was set up at first start.",
            {"instanceId": "id", "name": "instance name"},
        ),
        EventType(
            "org.added",
            "org",
            "An organization was created.",
            {"orgId": "id", "name": "organization name"},
        ),
        EventType(
            "user.human.added",
            "user",
            "A human user was created.",
            {
                **_USER_REF,
                "email": "email address",
                "givenName": "given name",
                "familyName": "family name",
                "displayName": "display name",
            },
        ),
        EventType(
            "user.human.changed",
            "user",
            "A human user's profile, email or phone changed.",
            {**_USER_REF, "changed": "the fields that changed and their new values"},
        ),
        EventType(
            "user.machine.added",
            "user",
            "A machine user was created.",
            {**_USER_REF, "name": "display name"},
        ),
        EventType(
            "user.pat.added",
            "user",
            "A personal access token was issued to a machine user.",
            {**_USER_REF, "tokenId": "token id", "expirationDate": "expiry or null"},
        ),
        EventType(
            "user.locked",
            "user",
            "A user was locked.",
            {
                **_USER_REF,
                "lockedAt": "RFC 3339 time",
                "reason": "`Too many failed login attempts` or `Locked by administrator`",
            },
        ),
        EventType("user.unlocked", "user", "A user was unlocked.", dict(_USER_REF)),
        EventType("user.deactivated", "user", "A user was deactivated.", dict(_USER_REF)),
        EventType("user.reactivated", "user", "A user was reactivated.", dict(_USER_REF)),
        EventType("user.removed", "user", "A user was deleted.", dict(_USER_REF)),
        EventType(
            "user.human.password.changed", "user", "A user's password was set.", dict(_USER_REF)
        ),
        EventType(
            "user.metadata.set",
            "user",
            "User metadata was set.",
            {**_USER_REF, "key": "metadata key", "value": "metadata value (string)"},
        ),
        EventType(
            "user.metadata.removed",
            "user",
            "User metadata was removed.",
            {**_USER_REF, "key": "metadata key"},
        ),
        EventType(
            "target.added",
            "target",
            "A target was created.",
            {"targetId": "id", "name": "target name", "endpoint": "URL"},
        ),
        EventType(
            "target.changed",
            "target",
            "A target was changed.",
            {"targetId": "id", "changed": "names of the changed fields"},
        ),
        EventType(
            "target.removed",
            "target",
            "A target was deleted.",
            {"targetId": "id", "name": "target name"},
        ),
        EventType(
            "execution.set",
            "execution",
            "An execution was set.",
            {"condition": "the condition", "targets": "target ids in order"},
        ),
        EventType(
            "execution.removed",
            "execution",
            "An execution was removed.",
            {"condition": "the condition"},
        ),
    )
}


def event_groups() -> list[str]:
    """Every dotted prefix of an event type (``user``, ``user.human``, …)."""
    groups: set[str] = set()
    for name in EVENT_TYPES:
        parts = name.split(".")
        for i in range(1, len(parts)):
            groups.add(".".join(parts[:i]))
    return sorted(groups)
