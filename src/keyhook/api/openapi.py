"""OpenAPI 3.1 generated from the operation registry."""

from __future__ import annotations

import re
from typing import Any

from keyhook import __version__
from keyhook.api.registry import Registry

_PARAM = re.compile(r"{(\w+)}")
ERROR_SCHEMA = {
    "type": "object",
    "required": ["code", "message", "details"],
    "properties": {
        "code": {"type": "string"},
        "message": {"type": "string"},
        "details": {"type": "array", "items": {"type": "object"}},
    },
}


def build_openapi(registry: Registry) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {"Error": ERROR_SCHEMA}
    for op in registry:
        schema = op.request_model.model_json_schema(
            by_alias=True, ref_template="#/components/schemas/{model}"
        )
        schemas.update(schema.pop("$defs", {}))
        model_name = op.request_model.__name__
        schemas[model_name] = schema
        for http_method, path in (*op.routes, ("POST", op.full_method)):
            params = _PARAM.findall(path)
            kind = "rpc" if path == op.full_method else "rest"
            operation: dict[str, Any] = {
                "operationId": f"{op.name}_{http_method}_{kind}",
                "summary": op.summary,
                "tags": [op.service],
                "x-full-method": op.full_method,
                # What the authorize step requires (docs/api.md, who may do what).
                "x-permission": op.permission,
                "x-org-permission": op.org_permission,
                # In the Actions API's recovery set: never wrapped by request or response
                # executions (docs/api.md, the recovery set).
                "x-recovery": op.recovery,
                "security": [{"bearer": []}],
                "parameters": [
                    {
                        "name": p,
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "pattern": "^[0-9]{1,19}$"},
                    }
                    for p in params
                ],
                "responses": {
                    "200": {
                        "description": "success",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    "default": {
                        "description": "error",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                        },
                    },
                },
            }
            if http_method in {"POST", "PUT", "PATCH"}:
                operation["requestBody"] = {
                    "required": False,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": f"#/components/schemas/{model_name}"}
                        }
                    },
                }
            paths.setdefault(path, {})[http_method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "Keyhook API", "version": __version__},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
