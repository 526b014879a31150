"""The client CLI's table of operations, generated from the registry.

``keyhook.client`` may import nothing of the server, yet its resource commands
must say what the server serves: ``keyhook operations-spec`` prints this module's
JSON, committed as ``src/keyhook/client/operations.json``, and a test checks the
committed file is what the registry gives now. It may touch nothing but the
registry it is given.
"""

from __future__ import annotations

import json
from typing import Any

from keyhook.api.registry import Registry


def _kind(schema: dict[str, Any]) -> str:
    """A JSON type for a field's schema: ``string``, ``integer``, ``boolean``,
    ``number``, ``array`` or ``object`` (a nullable field's non-null type)."""
    if "anyOf" in schema:
        kinds = [_kind(s) for s in schema["anyOf"] if s.get("type") != "null"]
        return kinds[0] if len(kinds) == 1 else "any"
    if "$ref" in schema:
        return "object"
    if "enum" in schema:
        return "string"
    kind = schema.get("type", "any")
    return kind if isinstance(kind, str) else "any"


def operations_spec(registry: Registry) -> str:
    """Every operation: its routes, path fields, permission, summary and top-level
    request fields (wire name, JSON type, required, choices, description)."""
    spec: dict[str, Any] = {}
    for op in sorted(registry, key=lambda op: op.full_method):
        schema = op.request_model.model_json_schema(by_alias=True)
        required = set(schema.get("required", []))
        fields = []
        for name, prop in schema.get("properties", {}).items():
            fields.append(
                {
                    "name": name,
                    "type": _kind(prop),
                    "required": name in required,
                    "choices": [v for v in prop.get("enum", []) if v is not None]
                    or [
                        v for s in prop.get("anyOf", []) for v in s.get("enum", []) if v is not None
                    ],
                    "description": prop.get("description", ""),
                }
            )
        spec[op.full_method] = {
            "routes": [list(route) for route in op.routes],
            "pathFields": sorted(op.path_fields),
            "permission": op.permission,
            "summary": op.summary,
            "fields": fields,
        }
    return json.dumps(spec, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
