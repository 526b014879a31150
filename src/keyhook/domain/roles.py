"""Administrator roles and the permissions they grant: the one table.

Role and permission names are ZITADEL's where ZITADEL has them (its default
``InternalAuthZ.RolePermissionMappings``), narrowed to what Keyhook's operations
need; ``action.delivery.*`` and the two roles marked below are Keyhook's own. Every
operation in the API registry names the permission it needs (``Operation.permission``);
the authorize step of the interceptor chain grants it when a role of the caller
holds it. No I/O here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from keyhook.errors import PermissionDenied, field_error

# What each permission lets a caller do, for the documentation's table.
PERMISSIONS: MappingProxyType[str, str] = MappingProxyType(
    {
        "iam.web_key.read": "list the web keys (token signing keys)",
        "iam.web_key.write": "create and activate web keys, rotate the token signing key",
        "iam.web_key.delete": "delete web keys that are not active",
        "iam.member.read": "list administrators",
        "iam.member.write": "make users administrators, change their roles",
        "iam.member.delete": "remove administrators",
        "org.read": "read organizations",
        "org.create": "create organizations",
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
_USERS_READ = ("user.read", "session.read", "policy.read", "org.read")
_USERS_WRITE = ("user.write", "user.delete", "session.write", "session.delete")
_PROJECTS_READ = ("project.read",)
_PROJECTS_WRITE = ("project.create", "project.delete", "project.app.write", "project.app.delete")


# What an organization's administrator may do within its organization: the operations
# marked ``org_scoped`` in the registry (users, their tokens, the organization's
# administrators). Sessions, projects and settings are the instance's in Keyhook.
_ORG_USERS_READ = ("user.read", "org.read")
_ORG_USERS_WRITE = ("user.write", "user.delete")


def _all() -> tuple[str, ...]:
    return tuple(PERMISSIONS)


# Instance roles (IAM_*) apply to every organization of the instance; organization roles
# (ORG_*) to one organization's users and administrators.
INSTANCE_ROLES: MappingProxyType[str, frozenset[str]] = MappingProxyType(
    {
        "IAM_OWNER": frozenset(_all()),
        "IAM_OWNER_VIEWER": frozenset(p for p in PERMISSIONS if p.endswith(".read")),
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
                *_ORG_USERS_READ,
                *_ORG_USERS_WRITE,
                "org.member.read",
                "org.member.write",
                "org.member.delete",
            )
        ),
        "ORG_OWNER_VIEWER": frozenset((*_ORG_USERS_READ, "org.member.read")),
        "ORG_USER_MANAGER": frozenset((*_ORG_USERS_READ, *_ORG_USERS_WRITE)),
    }
)


# What each role is for, for the documentation's table.
ROLE_PURPOSES: MappingProxyType[str, str] = MappingProxyType(
    {
        "IAM_OWNER": "everything (the first administrators have it)",
        "IAM_OWNER_VIEWER": "read everything, change nothing",
        "IAM_USER_MANAGER": "the support desk: users, sessions and their settings",
        "IAM_ACTIONS_MANAGER": "Keyhook's: a CI job wiring its hooks — targets, executions, "
        "deliveries, nothing else",
        "IAM_DELIVERY_VIEWER": "Keyhook's: on-call — read targets, executions and the "
        "delivery and call logs",
        "ORG_OWNER": "one organization's users and administrators",
        "ORG_OWNER_VIEWER": "read one organization's users and administrators",
        "ORG_USER_MANAGER": "one organization's users",
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


@dataclass(frozen=True)
class Grants:
    """A user's roles as permissions: on the whole instance, and per organization."""

    instance: frozenset[str] = frozenset()
    orgs: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @staticmethod
    def of(memberships: Iterable[tuple[str, str, frozenset[str]]]) -> Grants:
        """From (resource type "instance" or "org", resource id, roles) rows."""
        instance: set[str] = set()
        orgs: dict[str, frozenset[str]] = {}
        for resource_type, resource_id, roles in memberships:
            if resource_type == "instance":
                instance |= permissions_of(roles)
            else:
                orgs[resource_id] = permissions_of(roles) | orgs.get(resource_id, frozenset())
        return Grants(frozenset(instance), MappingProxyType(orgs))


def covers(holder: Grants, other: Grants) -> bool:
    """Whether ``holder`` holds every permission ``other`` holds, where it holds it: an
    instance permission on the instance, an organization's on the instance or in that
    organization. A caller may manage (change, lock, give credentials to) only a user it
    covers, and grant only roles it covers: no one raises anyone above themselves."""
    if not other.instance <= holder.instance:
        return False
    return all(
        granted <= holder.instance | holder.orgs.get(org, frozenset())
        for org, granted in other.orgs.items()
    )


def holds_in(grants: Grants, permission: str, org_id: str) -> bool:
    """Whether ``grants`` hold ``permission`` on the instance or in ``org_id``."""
    return permission in grants.instance or permission in grants.orgs.get(org_id, frozenset())


def may_read_some_users(grants: Grants) -> bool:
    """Whether ``grants`` hold ``user.read`` anywhere: on the instance or in some
    organization."""
    return "user.read" in grants.instance or any("user.read" in g for g in grants.orgs.values())


def authorized_orgs(
    grants: Grants, permission: str, org_permission: str | None
) -> frozenset[str] | None:
    """The organizations a caller with ``grants`` may make a call in that needs
    ``permission`` of an instance role, or ``org_permission`` of an organization's
    role (None: no organization's role grants the call): None for all of them (an
    instance role grants it), else the organizations whose roles grant it. Refused
    with the permission named."""
    if permission in grants.instance:
        return None
    if org_permission is not None:
        orgs = frozenset(org for org, granted in grants.orgs.items() if org_permission in granted)
        if orgs:
            return orgs
    raise PermissionDenied(
        f"this call needs the permission {permission}, which none of the caller's roles "
        f"grants (roles that do: {roles_granting(permission, org_permission)})",
        details=[{"permission": permission}],
    )


def roles_granting(permission: str, org_permission: str | None = None) -> str:
    """The roles that grant a call needing ``permission`` (or ``org_permission`` of an
    organization's role), for a message."""
    names = [r for r, granted in INSTANCE_ROLES.items() if permission in granted]
    if org_permission is not None:
        names += [r for r, granted in ORG_ROLES.items() if org_permission in granted]
    return ", ".join(names) or "none"


OWNER = "IAM_OWNER"


@dataclass(frozen=True)
class Resource:
    """What an administrator administers: the instance, or one organization."""

    level: str  # "instance" or "organization" (checked_roles' levels)
    org_id: str = ""

    @staticmethod
    def instance() -> Resource:
        return Resource("instance")

    @staticmethod
    def organization(org_id: str) -> Resource:
        return Resource("organization", org_id)

    @property
    def is_instance(self) -> bool:
        return self.level == "instance"

    def describe(self) -> str:
        return "the instance" if self.is_instance else f"organization {self.org_id}"
