"""The session aggregate: a user who passed the checks of CreateSession."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from keyhook.errors import NotFound


@dataclass
class Session:
    id: str
    user_id: str = ""
    user_name: str = ""
    org_id: str = ""
    sequence: int = 0
    exists: bool = False

    def apply(self, event_type: str, data: dict[str, Any], sequence: int, owner: str) -> None:
        self.sequence = sequence
        if event_type == "session.added":
            self.exists = True
            self.user_id = data["userId"]
            self.user_name = data["userName"]
            self.org_id = owner
        elif event_type == "session.removed":
            self.exists = False

    def ensure_exists(self) -> None:
        if not self.exists:
            raise NotFound(
                f"session {self.id} does not exist",
                details=[{"field": "sessionId", "problem": "unknown"}],
            )
