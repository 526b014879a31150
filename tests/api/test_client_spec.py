"""The client CLI's committed table of operations is what the registry gives now."""

from __future__ import annotations

import json
from pathlib import Path

from keyhook.api.client_spec import operations_spec
from keyhook.api.server import build_registry
from keyhook.bootstrap import assemble
from keyhook.config import from_environment

SPEC = Path(__file__).parents[2] / "src" / "keyhook" / "client" / "operations.json"


async def test_the_committed_operations_json_is_the_registrys(tmp_path: Path) -> None:
    core = await assemble(from_environment({}, data_dir=tmp_path))
    try:
        registry = build_registry(core)
    finally:
        await core.stop()
    generated = operations_spec(registry)
    assert SPEC.read_text() == generated, (
        "src/keyhook/client/operations.json is out of date: "
        "run `keyhook operations-spec > src/keyhook/client/operations.json`"
    )
    spec = json.loads(generated)
    assert set(spec) == set(registry.methods())
    create = spec["/zitadel.action.v2.ActionService/CreateTarget"]
    assert create["routes"] == [["POST", "/v2/actions/targets"]]
    assert {f["name"]: f["required"] for f in create["fields"]}["timeout"] is True
    # The client names operations by their short name: a name may be shared only by
    # one service's versions (v2 and v2beta), and the client takes v2's.
    by_name: dict[str, set[str]] = {}
    for method in spec:
        service, name = method.strip("/").split("/")
        package, _, kind = service.rpartition(".")
        by_name.setdefault(name, set()).add(package.rpartition(".")[0] + "." + kind)
    assert {name for name, services in by_name.items() if len(services) > 1} == set()
    from keyhook.client.spec import operations

    assert (
        operations()["CreateTarget"].full_method == "/zitadel.action.v2.ActionService/CreateTarget"
    )
    assert operations()["ListTargets"].routes == (("POST", "/v2/actions/targets/search"),)
