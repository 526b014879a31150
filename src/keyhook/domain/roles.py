"""Administrator roles and the permissions they grant: the one table.

Role and permission names are ZITADEL's where ZITADEL has them (its default
``InternalAuthZ.RolePermissionMappings``), narrowed to what Keyhook's operations
need; ``action.delivery.*`` and the two roles marked below are Keyhook's own. Every
operation in the API registry names the permission it needs (``Operation.permission``);
the authorize step of the interceptor chain grants it when a role of the caller
holds it. No I/O here.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import MappingProxyType

from keyhook.errors import field_error

# What each permission lets a caller do, for the documentation's table.
PERMISSIONS: MappingProxyType[str, str] = MappingProxyType(
    {
        "iam.web_key.write": "rotate the token signing key",
        "iam.member.read": "list administrators",
        "iam.member.write": "make users administrators, change their roles",
        "iam.member.delete": "remove administrators",
        "org.member.read": "list an organization's administrators",
        "org.member.write": "make users administrators of an organization, change their roles",
        "org.member.delete": "remove an organization's administrators",
        "policy.read": "read settings such as the lockout policy",
        "policy.write": "change settings such as the lockout policy",
        "user.read": "read and search users",
        "user.write": "create and change users, lock and unlock them, set passwords, metadata "
        "and secrets",
        "user.delete": "delete users",
        "session.read": "read sessions",
        "session.write": "create sessions (check a user's password)",
        "session.delete": "end sessions",
        "events.read": "read the event log",
        "project.read": "read projects and their applications",
        "project.create": "create projects",
        "project.delete": "delete projects",
        "project.app.write": "create applications (OAuth clients)",
        "project.app.delete": "delete applications",
        "action.target.read": "read targets",
        "action.target.write": "create and change targets, rotate their keys",
        "action.target.delete": "delete targets",
        "action.execution.read": "read executions and what a condition may name",
        "action.execution.write": "set and remove executions",
        "action.delivery.read": "read the delivery log and the call log (Keyhook's)",
        "action.delivery.write": "retry, replay, pause and resume deliveries (Keyhook's)",
    }
)

_ACTIONS_READ = ("action.target.read", "action.execution.read", "action.delivery.read")
_ACTIONS_WRITE = (
    "action.target.write",
    "action.target.delete",
    "action.execution.write",
    "action.delivery.write",
)
_USERS_READ = ("user.read", "session.read", "policy.read")
_USERS_WRITE = ("user.write", "user.delete", "session.write", "session.delete")
_PROJECTS_READ = ("project.read",)
_PROJECTS_WRITE = ("project.create", "project.delete", "project.app.write", "project.app.delete")


def _all() -> tuple[str, ...]:
    return tuple(PERMISSIONS)


# Instance roles (IAM_*) apply to every organization of the instance; organization roles
# (ORG_*) to one organization's users, projects and sessions.
INSTANCE_ROLES: MappingProxyType[str, frozenset[str]] = MappingProxyType(
    {
        "IAM_OWNER": frozenset(_all()),
        "IAM_OWNER_VIEWER": frozenset(
            p for p in PERMISSIONS if p.endswith(".read") and p != "iam.web_key.write"
        ),
        "IAM_USER_MANAGER": frozenset((*_USERS_READ, *_USERS_WRITE, "project.read")),
        # Keyhook's: a CI job that wires its own hooks, nothing else.
        "IAM_ACTIONS_MANAGER": frozenset((*_ACTIONS_READ, *_ACTIONS_WRITE)),
        # Keyhook's: on-call reads what was sent and answered.
        "IAM_DELIVERY_VIEWER": frozenset(
            ("action.target.read", "action.execution.read", "action.delivery.read")
        ),
    }
)
ORG_ROLES: MappingProxyType[str, frozenset[str]] = MappingProxyType(
    {
        "ORG_OWNER": frozenset(
            (
                *_USERS_READ,
                *_USERS_WRITE,
                *_PROJECTS_READ,
                *_PROJECTS_WRITE,
                "policy.write",
                "org.member.read",
                "org.member.write",
                "org.member.delete",
            )
        ),
        "ORG_OWNER_VIEWER": frozenset((*_USERS_READ, *_PROJECTS_READ, "org.member.read")),
        "ORG_USER_MANAGER": frozenset((*_USERS_READ, *_USERS_WRITE, "project.read")),
    }
)


def permissions_of(roles: frozenset[str]) -> frozenset[str]:
    """Every permission the roles grant together."""
    granted: set[str] = set()
    for role in roles:
        granted |= INSTANCE_ROLES.get(role, frozenset()) | ORG_ROLES.get(role, frozenset())
    return frozenset(granted)


def checked_roles(level: str, roles: Iterable[object], field_name: str = "roles") -> frozenset[str]:
    """The roles of an administrator of the instance (``level`` "instance") or of an
    organization ("organization"): at least one, each known and of that level."""
    table = INSTANCE_ROLES if level == "instance" else ORG_ROLES
    other = ORG_ROLES if level == "instance" else INSTANCE_ROLES
    theirs, ours = (
        ("an organization", "the instance")
        if level == "instance"
        else ("the instance", "an organization")
    )
    allowed = ", ".join(table)
    given = list(roles)
    if not given:
        raise field_error(field_name, "is empty", f"one or more of {allowed}")
    for i, role in enumerate(given):
        if not isinstance(role, str) or role not in table:
            where = f"{field_name}[{i}]"
            if isinstance(role, str) and role in other:
                raise field_error(
                    where,
                    f"{role} is a role of {theirs}, not of {ours}",
                    allowed,
                )
            raise field_error(where, f"{role!r} is not a role", allowed)
    return frozenset(str(role) for role in given)
