"""The roles' table: each role grants what its name promises."""

from __future__ import annotations

from keyhook.domain.roles import INSTANCE_ROLES, ORG_ROLES, PERMISSIONS, permissions_of


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
