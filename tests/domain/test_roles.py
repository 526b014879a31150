"""The roles' table: each role grants what its name promises."""

from __future__ import annotations

import pytest

from keyhook.domain.roles import (
    INSTANCE_ROLES,
    ORG_ROLES,
    PERMISSIONS,
    checked_roles,
    permissions_of,
)
from keyhook.errors import InvalidArgument


def test_the_roles_grant_what_their_names_promise() -> None:
    owner = permissions_of(frozenset({"IAM_OWNER"}))
    assert owner == set(PERMISSIONS)
    viewer = permissions_of(frozenset({"IAM_OWNER_VIEWER"}))
    assert viewer and all(p.endswith(".read") for p in viewer)
    actions = permissions_of(frozenset({"IAM_ACTIONS_MANAGER"}))
    assert {p.split(".")[0] for p in actions} == {"action"}, "actions, nothing else"
    assert "action.delivery.write" in actions and "user.write" not in actions
    on_call = permissions_of(frozenset({"IAM_DELIVERY_VIEWER"}))
    assert "action.delivery.read" in on_call and not any(p.endswith("write") for p in on_call)
    for role, granted in {**INSTANCE_ROLES, **ORG_ROLES}.items():
        assert granted <= set(PERMISSIONS), role
    assert permissions_of(frozenset({"NO_SUCH_ROLE"})) == frozenset()


def test_roles_of_an_administrator_are_known_and_of_its_level() -> None:
    assert checked_roles("instance", ["IAM_OWNER", "IAM_OWNER"]) == {"IAM_OWNER"}
    assert checked_roles("organization", ["ORG_USER_MANAGER"]) == {"ORG_USER_MANAGER"}
    cases: list[tuple[str, list[object], str, str]] = [
        ("instance", [], "roles: is empty", "IAM_OWNER"),
        ("instance", ["IAM_KING"], "roles[0]: 'IAM_KING' is not a role", "IAM_OWNER_VIEWER"),
        ("instance", ["ORG_OWNER"], "roles[0]: ORG_OWNER is a role of an organization", "IAM"),
        (
            "organization",
            ["ORG_OWNER", "IAM_OWNER"],
            "roles[1]: IAM_OWNER is a role of the instance",
            "ORG",
        ),
        ("organization", [3], "roles[0]: 3 is not a role", "ORG_OWNER"),
    ]
    for level, roles, said, allowed in cases:
        with pytest.raises(InvalidArgument) as refused:
            checked_roles(level, roles)
        assert refused.value.message.startswith(said), refused.value.message
        assert allowed in refused.value.details[0]["allowed"]


def test_a_holder_covers_only_what_it_holds_where_it_holds_it() -> None:
    from keyhook.domain.roles import Grants, covers

    owner = Grants.of([("instance", "i", frozenset({"IAM_OWNER"}))])
    user_manager = Grants.of([("instance", "i", frozenset({"IAM_USER_MANAGER"}))])
    org_owner_a = Grants.of([("org", "a", frozenset({"ORG_OWNER"}))])
    org_manager_a = Grants.of([("org", "a", frozenset({"ORG_USER_MANAGER"}))])
    org_manager_b = Grants.of([("org", "b", frozenset({"ORG_USER_MANAGER"}))])
    nobody = Grants()
    assert covers(owner, owner) and covers(owner, org_manager_b) and covers(owner, nobody)
    assert not covers(user_manager, owner), "a user manager cannot manage an owner"
    assert covers(user_manager, org_manager_a), "an instance permission covers every org's"
    assert not covers(org_owner_a, user_manager), "no org role covers an instance role"
    assert covers(org_owner_a, org_manager_a)
    assert not covers(org_owner_a, org_manager_b), "not in another organization"
    assert not covers(org_manager_a, org_owner_a), "not more than it holds"
    assert covers(nobody, nobody) and not covers(nobody, org_manager_a)
