from __future__ import annotations

import re

import pytest

from keyhook.domain.events import EVENT_TYPES, event_groups

EXPECTED_AGGREGATES = {
    "instance.added": "instance",
    "org.added": "org",
    "user.human.added": "user",
    "user.human.changed": "user",
    "user.machine.added": "user",
    "user.machine.changed": "user",
    "user.machine.secret.set": "user",
    "user.machine.secret.removed": "user",
    "user.pat.added": "user",
    "user.pat.removed": "user",
    "instance.member.added": "instance",
    "instance.member.changed": "instance",
    "instance.member.removed": "instance",
    "org.member.added": "org",
    "org.member.changed": "org",
    "org.member.removed": "org",
    "user.locked": "user",
    "user.unlocked": "user",
    "user.deactivated": "user",
    "user.reactivated": "user",
    "user.removed": "user",
    "user.human.password.changed": "user",
    "user.metadata.set": "user",
    "user.metadata.removed": "user",
    "target.added": "target",
    "target.changed": "target",
    "target.removed": "target",
    "execution.set": "execution",
    "execution.removed": "execution",
    "user.human.password.check.succeeded": "user",
    "user.human.password.check.failed": "user",
    "user.human.password.hash.updated": "user",
    "session.added": "session",
    "session.removed": "session",
    "instance.lockout.policy.changed": "instance",
    "target.paused": "target",
    "target.resumed": "target",
    "target.delivery.failed": "target",
    "target.public_key.added": "target",
    "target.public_key.activated": "target",
    "target.public_key.deactivated": "target",
    "target.public_key.removed": "target",
    "project.added": "project",
    "project.removed": "project",
    "application.oidc.added": "application",
    "application.oidc.changed": "application",
    "application.removed": "application",
    "instance.oidc.key.added": "instance",
    "instance.oidc.key.retired": "instance",
    "instance.web_key.added": "instance",
    "instance.web_key.activated": "instance",
    "instance.web_key.deactivated": "instance",
    "instance.web_key.removed": "instance",
    "auth_request.added": "auth_request",
    "auth_request.session.linked": "auth_request",
    "auth_request.code.added": "auth_request",
    "auth_request.code.exchanged": "auth_request",
    "auth_request.failed": "auth_request",
    "oidc_session.added": "oidc_session",
    "oidc_session.access_token.added": "oidc_session",
    "oidc_session.refresh_token.added": "oidc_session",
    "oidc_session.refresh_token.renewed": "oidc_session",
    "oidc_session.access_token.revoked": "oidc_session",
    "oidc_session.revoked": "oidc_session",
}
# ZITADEL's own names have underscores (auth_request.added, oidc_session.added).
_NAME = re.compile(r"^[a-z_]+(\.[a-z_]+)+$")


def test_the_event_table_holds_exactly_the_known_types() -> None:
    # Stored types are never renamed: a change to this list must be deliberate.
    assert set(EVENT_TYPES) == set(EXPECTED_AGGREGATES)


@pytest.mark.parametrize(("name", "aggregate"), sorted(EXPECTED_AGGREGATES.items()))
def test_each_event_type_has_its_aggregate_and_a_dotted_name(name: str, aggregate: str) -> None:
    event = EVENT_TYPES[name]
    assert event.name == name
    assert event.aggregate_type == aggregate
    assert name.split(".")[0] == aggregate
    assert _NAME.match(name)
    assert event.description.endswith(".")


@pytest.mark.parametrize("name", sorted(n for n in EXPECTED_AGGREGATES if n.startswith("user.")))
def test_user_events_name_the_user(name: str) -> None:
    fields = EVENT_TYPES[name].data_fields
    assert "userId" in fields
    assert "userName" in fields


def test_user_locked_data_has_the_seed_fields() -> None:
    assert set(EVENT_TYPES["user.locked"].data_fields) == {
        "userId",
        "userName",
        "lockedAt",
        "reason",
    }


def test_event_groups_are_every_proper_dotted_prefix() -> None:
    assert event_groups() == [
        "application",
        "application.oidc",
        "auth_request",
        "auth_request.code",
        "auth_request.session",
        "execution",
        "instance",
        "instance.lockout",
        "instance.lockout.policy",
        "instance.member",
        "instance.oidc",
        "instance.oidc.key",
        "instance.web_key",
        "oidc_session",
        "oidc_session.access_token",
        "oidc_session.refresh_token",
        "org",
        "org.member",
        "project",
        "session",
        "target",
        "target.delivery",
        "target.public_key",
        "user",
        "user.human",
        "user.human.password",
        "user.human.password.check",
        "user.human.password.hash",
        "user.machine",
        "user.machine.secret",
        "user.metadata",
        "user.pat",
    ]


def test_no_group_is_also_an_event_name() -> None:
    assert not set(event_groups()) & set(EVENT_TYPES)


def test_docs_events_md_is_generated_from_this_table() -> None:
    from pathlib import Path

    from keyhook.domain.events import events_markdown

    docs = Path(__file__).parents[2] / "docs" / "events.md"
    assert docs.read_text() == events_markdown(), "run: keyhook events-doc > docs/events.md"
