"""Function executions (complement_token, preaccesstoken, preuserinfo): the engine part.

The OIDC provider that calls them is issue 4; these tests drive ``run_function``
directly, in-process, against real receivers on 127.0.0.1.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from keyhook.actions.engine import FunctionContext, run_function
from keyhook.bootstrap import Core, assemble
from keyhook.command.executions import ExecutionCommands
from keyhook.command.targets import TargetCommands
from keyhook.config import from_environment
from keyhook.domain.caller import Caller
from keyhook.domain.claims import log_claim
from keyhook.errors import TargetError
from tests.support.receiver import Answer, Received, Receiver, answer


@dataclass
class Engine:
    core: Core
    admin: Caller

    async def target(
        self, endpoint: str, *, interrupt: bool = False, name: str | None = None
    ) -> dict[str, Any]:
        return await TargetCommands(self.core.writer).create(
            self.admin,
            {
                "name": name or f"fn-{secrets.token_hex(3)}",
                "endpoint": endpoint,
                "timeout": "2s",
                "restCall": {"interruptOnError": interrupt},
            },
        )

    async def on(self, function: str, *target_ids: str) -> None:
        await ExecutionCommands(self.core.writer, [], []).set(
            self.admin, {"condition": {"function": {"name": function}}, "targets": list(target_ids)}
        )
        self.core.engine.catalog.invalidate()


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[Engine]:
    core = await assemble(from_environment({}, data_dir=tmp_path, dev=True))
    async with core.db.read() as conn:
        row = (await conn.execute("SELECT * FROM instances")).one()
    yield Engine(core, Caller(row.id, row.admin_user_id, row.default_org_id, row.default_org_id))
    await core.stop()


def context(**claims: Any) -> FunctionContext:
    return FunctionContext(
        instance_id="1",
        org_id="2",
        user_id="3",
        client_id="app",
        scopes=("openid", "email"),
        user={"userName": "john@example.com", "password": "never sent"},
        user_metadata=[{"key": "team", "value": "blue"}],
        claims={"sub": "3", "iss": "https://keyhook.example", **claims},
    )


async def test_seed_enrich_token_claims(engine: Engine, receiver: Receiver) -> None:
    async def enrich(received: Received) -> Answer:
        return Answer(
            200,
            {
                "status": "success",
                "claims": {
                    "department": "Engineering",
                    "employee_id": "E-42",
                    "manager_email": "boss@example.com",
                },
            },
        )

    hook = f"/enrich-{secrets.token_hex(3)}"
    target = await engine.target(receiver.endpoint(hook, enrich))
    await engine.on("complement_token", target["id"])
    result = await run_function(engine.core.engine, "complement_token", context())
    assert result.claims == {
        "department": "Engineering",
        "employee_id": "E-42",
        "manager_email": "boss@example.com",
    }
    sent = (await receiver.wait_for(hook))[0].json
    assert sent["function"] == "complement_token"
    assert sent["userID"] == "3" and sent["clientID"] == "app"
    assert sent["scopes"] == ["openid", "email"]
    assert sent["claims"]["sub"] == "3"
    assert "password" not in sent["user"]


async def test_zitadel_form_claims_metadata_and_log(engine: Engine, receiver: Receiver) -> None:
    name = f"zitadel-{secrets.token_hex(3)}"
    target = await engine.target(
        receiver.endpoint(
            f"/{name}",
            answer(
                200,
                {
                    "append_claims": [{"key": "roles", "value": ["admin"]}],
                    "set_user_metadata": [{"key": "last_login_app", "value": "app"}],
                    "append_log_claims": ["looked the user up in the CRM"],
                },
            ),
        ),
        name=name,
    )
    await engine.on("preaccesstoken", target["id"])
    result = await run_function(engine.core.engine, "preaccesstoken", context())
    assert result.claims == {"roles": ["admin"]}
    assert result.metadata == [("last_login_app", "app")]
    assert result.logs == {log_claim(name): ["looked the user up in the CRM"]}


async def test_reserved_claims_are_never_overwritten(engine: Engine, receiver: Receiver) -> None:
    name = f"override-{secrets.token_hex(3)}"
    target = await engine.target(
        receiver.endpoint(
            f"/{name}",
            answer(
                200,
                {
                    "claims": {"sub": "someone else", "iss": "https://evil.example", "ok": 1},
                    "append_claims": [{"key": "urn:zitadel:iam:org:id", "value": "x"}],
                },
            ),
        ),
        name=name,
    )
    await engine.on("complement_token", target["id"])
    result = await run_function(engine.core.engine, "complement_token", context())
    assert result.claims == {"ok": 1}
    lines = result.logs[log_claim(name)]
    assert any("'sub'" in line for line in lines)
    assert any("'iss'" in line for line in lines)
    assert any("urn:zitadel:iam:org:id" in line for line in lines)


async def test_targets_run_in_order_and_see_the_claims_so_far(
    engine: Engine, receiver: Receiver
) -> None:
    first_hook, second_hook = f"/first-{secrets.token_hex(3)}", f"/second-{secrets.token_hex(3)}"
    first = await engine.target(
        receiver.endpoint(first_hook, answer(200, {"claims": {"tier": "gold"}}))
    )
    second = await engine.target(
        receiver.endpoint(second_hook, answer(200, {"claims": {"tier": "platinum", "extra": True}}))
    )
    await engine.on("preuserinfo", first["id"], second["id"])
    result = await run_function(engine.core.engine, "preuserinfo", context())
    assert result.claims == {"tier": "platinum", "extra": True}
    assert (await receiver.wait_for(second_hook))[0].json["claims"]["tier"] == "gold"


async def test_failures_interrupt_only_when_asked(engine: Engine, receiver: Receiver) -> None:
    failing = await engine.target(
        receiver.endpoint(f"/down-{secrets.token_hex(3)}", answer(503)), interrupt=True
    )
    await engine.on("complement_token", failing["id"])
    with pytest.raises(TargetError) as caught:
        await run_function(engine.core.engine, "complement_token", context())
    assert caught.value.status == 502
    tolerant = await engine.target(
        receiver.endpoint(f"/down2-{secrets.token_hex(3)}", answer(503)), interrupt=False
    )
    await engine.on("complement_token", tolerant["id"])
    result = await run_function(engine.core.engine, "complement_token", context())
    assert result.claims == {} and result.metadata == []


async def test_no_execution_calls_nothing(engine: Engine) -> None:
    result = await run_function(engine.core.engine, "complement_token", context())
    assert (result.claims, result.metadata, result.logs) == ({}, [], {})


async def test_any_exception_in_a_call_is_the_targets_error(tmp_path: Path) -> None:
    """Whatever breaks inside a call (here the transport itself) fails that target only."""
    from keyhook.actions.transport import MockTransport, OutboundRequest, OutboundResponse

    async def broken(_: OutboundRequest) -> OutboundResponse:
        raise RuntimeError("something nobody foresaw")

    core = await assemble(
        from_environment({}, data_dir=tmp_path, dev=True), transport=MockTransport(broken)
    )
    try:
        async with core.db.read() as conn:
            row = (await conn.execute("SELECT * FROM instances")).one()
        engine = Engine(
            core, Caller(row.id, row.admin_user_id, row.default_org_id, row.default_org_id)
        )
        lenient = await engine.target("http://127.0.0.1:9/lenient")
        await engine.on("complement_token", lenient["id"])
        assert (await run_function(core.engine, "complement_token", context())).claims == {}
        strict = await engine.target("http://127.0.0.1:9/strict", interrupt=True)
        await engine.on("complement_token", strict["id"])
        with pytest.raises(TargetError) as caught:
            await run_function(core.engine, "complement_token", context())
        assert caught.value.status == 502
        assert "the call failed" in caught.value.message
    finally:
        await core.stop()
