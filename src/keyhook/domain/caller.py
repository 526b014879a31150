"""Who makes a call: the authenticated user, their org and the instance, and the
organizations the call may act in."""

from __future__ import annotations

from dataclasses import dataclass

from keyhook.domain.roles import Grants


@dataclass(frozen=True)
class Caller:
    instance_id: str
    user_id: str
    org_id: str
    default_org_id: str
    # The organizations this call may act in, as the authorize step found them: None
    # for every organization (an instance role, or Keyhook itself calling).
    orgs: frozenset[str] | None = None
    # The caller's roles as permissions, as the authorize step found them: None for
    # Keyhook itself calling (first start, the login page), which may do anything.
    grants: Grants | None = None

    def sees_org(self, org_id: str) -> bool:
        """Whether an object of ``org_id`` is within this call's reach; outside it, an
        object is answered as if it did not exist."""
        return self.orgs is None or org_id in self.orgs

    def home_org(self) -> str:
        """Where an object created without naming its organization goes: the instance's
        default organization, or for an organization's administrator its own."""
        if self.orgs is None or self.default_org_id in self.orgs:
            return self.default_org_id
        if self.org_id in self.orgs:
            return self.org_id
        return min(self.orgs) if self.orgs else self.default_org_id
