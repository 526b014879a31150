"""A Keyhook error's problems by field, for the form fields beside which they show."""

from __future__ import annotations

from keyhook.errors import KeyhookError


def field_errors(error: KeyhookError) -> dict[str, str]:
    found: dict[str, str] = {}
    for detail in error.details:
        name = str(detail.get("field", ""))
        if name:
            problem = str(detail.get("problem", ""))
            allowed = detail.get("allowed")
            found[name] = f"{problem} (allowed: {allowed})" if allowed else problem
    return found
