"""Every operation in the registry declares the permission it needs, from the roles'
table (issue 11): a new operation without one fails here."""

from __future__ import annotations

from pathlib import Path

import httpx

from keyhook.api.server import build_registry
from keyhook.bootstrap import assemble
from keyhook.config import from_environment
from keyhook.domain.roles import PERMISSIONS


async def test_every_operation_declares_a_known_permission(tmp_path: Path) -> None:
    core = await assemble(from_environment({}, data_dir=tmp_path))
    try:
        registry = build_registry(core)
    finally:
        await core.stop()
    missing = [op.full_method for op in registry if not op.permission]
    assert missing == [], "operations without a permission"
    unknown = {op.full_method: op.permission for op in registry if op.permission not in PERMISSIONS}
    assert unknown == {}
    used = {op.permission for op in registry}
    assert used <= set(PERMISSIONS)
    org_used = {op.org_permission for op in registry if op.org_permission}
    assert org_used <= set(PERMISSIONS)
    assert set(PERMISSIONS) == used | org_used, "every permission is used by an operation"


async def test_openapi_names_each_operations_permission(
    tmp_path: Path, http: httpx.AsyncClient
) -> None:
    core = await assemble(from_environment({}, data_dir=tmp_path))
    try:
        registry = build_registry(core)
    finally:
        await core.stop()
    document = (await http.get("/openapi.json")).json()
    seen: dict[str, tuple[str, str | None]] = {}
    for methods in document["paths"].values():
        for operation in methods.values():
            seen[operation["x-full-method"]] = (
                operation["x-permission"],
                operation["x-org-permission"],
            )
    assert seen == {op.full_method: (op.permission, op.org_permission) for op in registry}
