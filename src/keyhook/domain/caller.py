"""Who makes a call: the authenticated user, their org and the instance."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Caller:
    instance_id: str
    user_id: str
    org_id: str
    default_org_id: str
