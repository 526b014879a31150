"""The Connect form's errors: Connect's codes and HTTP statuses, Keyhook's details inside.

One case per kind of Keyhook error, through a real server where a call can provoke it,
and the whole table for every error class (a new kind cannot go unmapped). ZITADEL's
own client reads them (the last test).
"""

from __future__ import annotations

import asyncio
import base64
import importlib
import pkgutil
import secrets
from typing import Any

import pytest

from keyhook import errors
from keyhook.api.connect import (
    CONNECT_STATUS,
    Unimplemented,
    connect_code,
    connect_error,
)
from keyhook.api.errors import PayloadTooLarge
from keyhook.storage.connection import ExpectationFailed, IntegrityError
from tests.support.api import Api, Reply
from tests.support.receiver import Answer, Receiver, answer
from tests.support.server import KeyhookServer
from tests.support.zitadel_client import run_plan

CREATE_TARGET = "/zitadel.action.v2beta.ActionService/CreateTarget"
GET_TARGET = "/zitadel.action.v2beta.ActionService/GetTarget"
ADD_HUMAN = "/zitadel.user.v2.UserService/AddHumanUser"
LIST_USERS = "/zitadel.user.v2.UserService/ListUsers"
CONNECT = {"Connect-Protocol-Version": "1"}


def _all_error_classes() -> set[type[errors.KeyhookError]]:
    """Every error class of the server (the client CLI's own, ``keyhook.client``, never
    reach an answer)."""
    found: set[type[errors.KeyhookError]] = set()
    todo: list[type[errors.KeyhookError]] = [errors.KeyhookError]
    while todo:
        cls = todo.pop()
        if not cls.__module__.startswith("keyhook.client"):
            found.add(cls)
        todo.extend(cls.__subclasses__())
    return found


TABLE: list[tuple[errors.KeyhookError, str, int]] = [
    (errors.KeyhookError("x"), "internal", 500),
    (errors.InvalidArgument("x"), "invalid_argument", 400),
    (errors.NotFound("x"), "not_found", 404),
    (errors.AlreadyExists("x"), "already_exists", 409),
    (errors.FailedPrecondition("x"), "failed_precondition", 400),
    (errors.PasswordChangeRequired("x"), "failed_precondition", 400),
    (errors.Unauthenticated("x"), "unauthenticated", 401),
    (errors.PermissionDenied("x"), "permission_denied", 403),
    (errors.Conflict("x"), "aborted", 409),
    (errors.TooManyAttempts("x", retry_after=7), "resource_exhausted", 429),
    (errors.Internal("x"), "internal", 500),
    (IntegrityError("x"), "internal", 500),
    (ExpectationFailed("x"), "internal", 500),
    (errors.OAuthError("invalid_token", "x", status=401), "unauthenticated", 401),
    (PayloadTooLarge("x"), "resource_exhausted", 429),
    (errors.DeadlineExceeded("x"), "deadline_exceeded", 504),
    (Unimplemented("x"), "unimplemented", 501),
    (errors.TargetError("x", status=400, target_id="1"), "invalid_argument", 400),
    (errors.TargetError("x", status=401, target_id="1"), "unauthenticated", 401),
    (errors.TargetError("x", status=403, target_id="1"), "permission_denied", 403),
    (errors.TargetError("x", status=404, target_id="1"), "not_found", 404),
    (errors.TargetError("x", status=409, target_id="1"), "already_exists", 409),
    (errors.TargetError("x", status=418, target_id="1"), "failed_precondition", 400),
    (errors.TargetError("x", status=429, target_id="1"), "resource_exhausted", 429),
    (errors.TargetError("x", status=502, target_id="1"), "unavailable", 503),
    (errors.TargetError("x", status=504, target_id="1"), "deadline_exceeded", 504),
]


@pytest.mark.parametrize(("error", "code", "status"), TABLE, ids=lambda v: repr(v)[:40])
def test_each_kind_of_error_has_its_connect_code_and_status(
    error: errors.KeyhookError, code: str, status: int
) -> None:
    response = connect_error(error)
    assert connect_code(error) == code
    assert response.status_code == status == CONNECT_STATUS[code]


def test_every_error_class_is_in_the_table() -> None:
    import keyhook

    # Every module of the server, so every error class it can raise is defined here.
    for module in pkgutil.walk_packages(keyhook.__path__, "keyhook."):
        if not module.name.startswith(
            ("keyhook.client", "keyhook.storage.migrations", "keyhook.__main__")
        ):
            importlib.import_module(module.name)
    assert _all_error_classes() == {type(e) for e, _, _ in TABLE}


def test_details_are_connect_details_holding_keyhook_s() -> None:
    detail = {"field": "timeout", "problem": "is out of range", "allowed": "1ms to 270s"}
    nested = {"list": [1, 2.5, True, None, "x"], "inner": {"a": "b"}}
    response = connect_error(errors.InvalidArgument("bad", details=[detail, nested]))
    import orjson

    body = orjson.loads(response.body)
    assert body["code"] == "invalid_argument"
    assert [d["type"] for d in body["details"]] == ["google.protobuf.Struct"] * 2
    assert [d["debug"] for d in body["details"]] == [detail, nested]
    # The value is the Struct in protobuf's binary form: the member names are in it.
    raw = base64.b64decode(body["details"][0]["value"])
    assert b"timeout" in raw and b"1ms to 270s" in raw


def _connect_shape(reply: Reply, code: str) -> dict[str, Any]:
    assert reply.status == CONNECT_STATUS[code], reply.raw
    assert reply.body["code"] == code, reply.body
    for detail in reply.body["details"]:
        assert set(detail) == {"type", "value", "debug"}
    return reply.body  # type: ignore[no-any-return]


async def test_keyhook_errors_through_the_connect_form(
    api: Api, keyhook: KeyhookServer, clean_actions: Api
) -> None:
    bad = await api.post(
        CREATE_TARGET,
        {"name": "x", "endpoint": "http://127.0.0.1:1/", "timeout": "0s", "restAsync": {}},
        headers=CONNECT,
    )
    body = _connect_shape(bad, "invalid_argument")
    assert body["details"][0]["debug"]["field"] == "timeout"

    missing = await api.post(GET_TARGET, {"id": "1"}, headers=CONNECT)
    _connect_shape(missing, "not_found")

    name = f"dup-{secrets.token_hex(3)}"
    target = {"name": name, "endpoint": "http://127.0.0.1:1/", "timeout": "5s", "restAsync": {}}
    (await api.post(CREATE_TARGET, target, headers=CONNECT)).ok()
    _connect_shape(await api.post(CREATE_TARGET, target, headers=CONNECT), "already_exists")

    nobody = await api.post(GET_TARGET, {"id": "1"}, token="kh_not-a-token", headers=CONNECT)
    assert _connect_shape(nobody, "unauthenticated")
    assert nobody.body["message"]

    user_id = await api.add_machine_user(f"robot-{secrets.token_hex(4)}", "Robot")
    token = (await api.post(f"/v2/users/{user_id}/pats", {})).ok()["token"]
    refused = await api.post(CREATE_TARGET, target, token=token, headers=CONNECT)
    body = _connect_shape(refused, "permission_denied")
    assert body["details"][0]["debug"] == {"permission": "action.target.write"}

    me = (await api.post("/v2/users/search", {"text": "admin"})).ok()["result"]
    admin = next(u for u in me if u["username"] == "admin")["userId"]
    itself = await api.post(
        "/zitadel.user.v2.UserService/LockUser", {"userId": admin}, headers=CONNECT
    )
    _connect_shape(itself, "failed_precondition")

    huge = await api.post(
        CREATE_TARGET, raw=b'{"name":"' + b"x" * (1024 * 1024 + 10) + b'"}', headers=CONNECT
    )
    _connect_shape(huge, "resource_exhausted")

    # 300 levels of notQuery (JSON text: a client's own encoder may refuse so deep).
    deep = (
        b'{"queries":['
        + b'{"notQuery":{"query":' * 300
        + b'{"userNameQuery":{"userName":"x"}}'
        + b"}}" * 300
        + b"]}"
    )
    nested = await api.post(LIST_USERS, raw=deep, headers=CONNECT)
    assert _connect_shape(nested, "invalid_argument")["details"][0]["debug"]["field"] == "body"
    shallow: dict[str, Any] = {"userNameQuery": {"userName": "x"}}
    for _ in range(10):  # 10 levels of notQuery: 24 of JSON, within the 32 allowed
        shallow = {"notQuery": {"query": shallow}}
    (await api.post(LIST_USERS, {"queries": [shallow]}, headers=CONNECT)).ok()
    many = {"andQuery": {"queries": [{"inUserIdsQuery": {"userIds": ["1"] * 1000}}] * 3}}
    _connect_shape(
        await api.post(LIST_USERS, {"queries": [many]}, headers=CONNECT), "invalid_argument"
    )
    long = await api.post(LIST_USERS, {"query": {"offset": "1" * 5000}}, headers=CONNECT)
    _connect_shape(long, "invalid_argument")

    unknown = await api.post("/zitadel.user.v2.UserService/RegisterPasskey", {}, headers=CONNECT)
    assert "not served by Keyhook" in _connect_shape(unknown, "unimplemented")["message"]


async def test_what_the_connect_form_does_not_speak(api: Api) -> None:
    for content_type in ("application/proto", "application/grpc", "application/grpc-web+proto"):
        reply = await api.post(GET_TARGET, raw=b"\x0a\x011", headers={"Content-Type": content_type})
        assert reply.status == 415
        assert "application/json" in reply.body["message"]
        assert content_type in reply.body["message"]
    version = await api.post(GET_TARGET, {"id": "1"}, headers={"Connect-Protocol-Version": "2"})
    body = _connect_shape(version, "invalid_argument")
    assert body["details"][0]["debug"]["field"] == "Connect-Protocol-Version"
    timeout = await api.post(GET_TARGET, {"id": "1"}, headers={"Connect-Timeout-Ms": "soon"})
    body = _connect_shape(timeout, "invalid_argument")
    assert body["details"][0]["debug"]["field"] == "Connect-Timeout-Ms"
    # The REST form is not the Connect form: its errors stay Keyhook's plain ones.
    rest = await api.get("/v2/actions/targets/1")
    assert rest.status == 404 and rest.body["details"] == [{"field": "id", "problem": "unknown"}]


async def test_failing_targets_and_deadlines(
    api: Api, clean_actions: Api, receiver: Receiver
) -> None:
    async def slow(_: Any) -> Answer:
        await asyncio.sleep(1.5)
        return Answer(200)

    path = f"/connect-fail-{secrets.token_hex(3)}"
    for handler, timeout, code in (
        (answer(500, {"status": "error", "message": "down"}), "5s", "unavailable"),
        (slow, "300ms", "deadline_exceeded"),
    ):
        target = await api.create_target(
            receiver.endpoint(path + code, handler), interrupt=True, timeout=timeout
        )
        await api.set_execution({"request": {"method": ADD_HUMAN}}, [target["id"]])
        email = f"x-{secrets.token_hex(3)}@example.com"
        user = {
            "user": {"profile": {"givenName": "A", "familyName": "B"}, "email": {"email": email}}
        }
        reply = await api.post(ADD_HUMAN, user, headers=CONNECT)
        body = _connect_shape(reply, code)
        assert {
            "targetId": target["id"],
            "targetStatus": body["details"][-1]["debug"]["targetStatus"],
        } == body["details"][-1]["debug"]

    # Connect-Timeout-Ms bounds the whole call, targets included.
    target = await api.create_target(receiver.endpoint(path + "slow", slow), interrupt=True)
    await api.set_execution({"request": {"method": ADD_HUMAN}}, [target["id"]])
    email = f"late-{secrets.token_hex(3)}@example.com"
    user = {"user": {"profile": {"givenName": "A", "familyName": "B"}, "email": {"email": email}}}
    late = await api.post(ADD_HUMAN, user, headers={**CONNECT, "Connect-Timeout-Ms": "300"})
    assert "Connect-Timeout-Ms" in _connect_shape(late, "deadline_exceeded")["message"]
    await asyncio.sleep(1.5)  # the target has answered by now; the call was not carried on
    found = (await api.post("/v2/users/search", {"text": email})).ok()
    assert found.get("result", []) == []

    # Past the deadline while a response target is awaited, the operation has run whole.
    await api.set_execution({"request": {"method": ADD_HUMAN}}, [])
    await api.set_execution({"response": {"method": ADD_HUMAN}}, [target["id"]])
    email = f"written-{secrets.token_hex(3)}@example.com"
    user = {"user": {"profile": {"givenName": "A", "familyName": "B"}, "email": {"email": email}}}
    late = await api.post(ADD_HUMAN, user, headers={**CONNECT, "Connect-Timeout-Ms": "300"})
    _connect_shape(late, "deadline_exceeded")
    found = (await api.post("/v2/users/search", {"text": email})).ok()
    assert len(found["result"]) == 1


async def test_zitadel_s_client_reads_the_errors(keyhook: KeyhookServer, api: Api) -> None:
    results = await run_plan(
        keyhook.url,
        keyhook.token,
        [
            {"name": "missing", "method": GET_TARGET, "request": {"id": "1"}},
            {
                "name": "bad",
                "method": CREATE_TARGET,
                "request": {"name": "x", "endpoint": "ftp://x", "timeout": "5s", "restAsync": {}},
            },
            {
                "name": "unserved",
                "method": "/zitadel.user.v2.UserService/RegisterPasskey",
                "request": {"userId": "1"},
            },
        ],
    )
    assert results["missing"]["code"] == "not_found"
    assert results["missing"]["message"] == "target 1 does not exist"
    assert results["missing"]["decoded"] == [{"field": "id", "problem": "unknown"}]
    assert results["bad"]["code"] == "invalid_argument"
    assert results["bad"]["decoded"][0]["field"] == "endpoint"
    assert results["unserved"]["code"] == "unimplemented"
