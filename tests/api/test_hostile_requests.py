"""Malformed and hostile requests: each gets a 4xx that names the problem, never a 5xx.

Every case is one request with the status it must get and the words its
message must contain (the field, and where there is a list of valid values, some
of them). Rejected creates must leave nothing behind. The endpoint policy (HTTPS
and public addresses only unless opened) is checked on servers started without
``--dev``.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.api import Api, Reply, serving
from tests.support.server import KeyhookServer

TARGETS = "/v2/actions/targets"
EXECUTIONS = "/v2/actions/executions"
USERS = "/v2/users"
MIB = 1024 * 1024
UNKNOWN_ID = "1234567890123456789"
SWITCHES = ("--dev", "KEYHOOK_DEV", "KEYHOOK_ACTIONS_ALLOW_HOSTS")
TARGET_TYPES = ("restWebhook", "restCall", "restAsync")


@dataclass(frozen=True)
class Case:
    id: str
    method: str
    path: str
    status: int
    words: tuple[str, ...]
    body: Any = None
    raw: bytes | None = None
    # "default": the admin token; None: no Authorization header; anything else: that token.
    token: str | None = "default"
    headers: dict[str, str] = field(default_factory=dict)
    code: str | None = None


def target(**fields: Any) -> dict[str, Any]:
    """A valid create-target body with ``fields`` replaced (a value of ``...`` removes it)."""
    body: dict[str, Any] = {
        "name": "hostile-{run}",
        "endpoint": "https://hooks.example.com/keyhook",
        "timeout": "5s",
        "restWebhook": {"interruptOnError": False},
    }
    body.update(fields)
    return {k: v for k, v in body.items() if v is not ...}


def execution(condition: dict[str, Any], targets: Any = ()) -> dict[str, Any]:
    return {
        "condition": condition,
        "targets": list(targets) if isinstance(targets, tuple) else targets,
    }


def user(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "profile": {"givenName": "Hostile", "familyName": "Case"},
        "email": {"email": "hostile-{run}@example.com"},
    }
    body.update(fields)
    return {"user": body}


CASES = [
    # --- the body itself -------------------------------------------------------------
    Case("invalid-json", "POST", TARGETS, 400, ("not valid JSON",), raw=b'{"name": "x",'),
    Case("json-array", "POST", TARGETS, 400, ("must be a JSON object",), raw=b"[1, 2]"),
    Case("json-number", "POST", TARGETS, 400, ("must be a JSON object",), raw=b"42"),
    Case("json-string", "POST", USERS + "/human", 400, ("JSON object",), raw=b'"user"'),
    Case(
        "body-over-1-mib",
        "POST",
        TARGETS,
        413,
        ("larger than", str(MIB)),
        raw=b'{"name": "' + b"a" * (MIB + 16) + b'"}',
        code="resource_exhausted",
    ),
    Case("nul-character", "POST", TARGETS, 400, ("name", "NUL"), body=target(name="a\x00b")),
    # --- wrong types -------------------------------------------------------------------
    Case("timeout-number", "POST", TARGETS, 400, ("timeout", "string"), body=target(timeout=5)),
    Case(
        "targets-not-a-list",
        "PUT",
        EXECUTIONS,
        400,
        ("targets", "list"),
        body=execution({"event": {"all": True}}, "{target}"),
    ),
    Case(
        "interrupt-on-error-string",
        "POST",
        TARGETS,
        400,
        ("restWebhook.interruptOnError", "boolean"),
        body=target(restWebhook={"interruptOnError": "yes"}),
    ),
    Case(
        "is-verified-number",
        "POST",
        USERS + "/human",
        400,
        ("user.email.isVerified", "boolean"),
        body=user(email={"email": "typed-{run}@example.com", "isVerified": 1}),
    ),
    Case(
        "target-type-not-an-object",
        "POST",
        TARGETS,
        400,
        ("restCall",),
        body=target(restWebhook=..., restCall=[True]),
    ),
    Case(
        "after-position-over-64-bit",
        "POST",
        "/v2/events/search",
        400,
        ("afterPosition",),
        body={"afterPosition": 2**63},
    ),
    # --- target types --------------------------------------------------------------------
    Case(
        "unknown-target-type",
        "POST",
        TARGETS,
        400,
        ("restFoo", *TARGET_TYPES),
        body=target(restWebhook=..., restFoo={}),
    ),
    Case(
        "two-target-types",
        "POST",
        TARGETS,
        400,
        ("targetType", "2 types", *TARGET_TYPES),
        body=target(restCall={"interruptOnError": True}),
    ),
    Case(
        "no-target-type",
        "POST",
        TARGETS,
        400,
        ("targetType", "missing", *TARGET_TYPES),
        body=target(restWebhook=...),
    ),
    Case(
        "async-with-interrupt",
        "POST",
        TARGETS,
        400,
        ("restAsync.interruptOnError",),
        body=target(restWebhook=..., restAsync={"interruptOnError": True}),
    ),
    # --- timeouts --------------------------------------------------------------------------
    Case(
        "timeout-zero", "POST", TARGETS, 400, ("timeout", "'0s'", "270s"), body=target(timeout="0s")
    ),
    Case(
        "timeout-negative",
        "POST",
        TARGETS,
        400,
        ("timeout", "'-1s'", "not a duration", '"10s"'),
        body=target(timeout="-1s"),
    ),
    Case(
        "timeout-over-270s",
        "POST",
        TARGETS,
        400,
        ("timeout", "'271s'", "at most 270s"),
        body=target(timeout="271s"),
    ),
    Case(
        "timeout-huge",
        "POST",
        TARGETS,
        400,
        ("timeout", "out of range", "at most 270s"),
        body=target(timeout="99999999999h"),
    ),
    Case(
        "timeout-parsecs",
        "POST",
        TARGETS,
        400,
        ("timeout", "'10 parsecs'", "not a duration", '"500ms"'),
        body=target(timeout="10 parsecs"),
    ),
    # --- names and endpoints ---------------------------------------------------------------
    Case("empty-name", "POST", TARGETS, 400, ("name", "non-empty"), body=target(name="  ")),
    Case(
        "duplicate-name",
        "POST",
        TARGETS,
        409,
        ("'{target_name}'", "already exists"),
        body=target(name="{target_name}"),
        code="already_exists",
    ),
    Case(
        "missing-endpoint",
        "POST",
        TARGETS,
        400,
        ("endpoint", "required"),
        body=target(endpoint=...),
    ),
    Case(
        "ftp-endpoint",
        "POST",
        TARGETS,
        400,
        ("endpoint", "ftp://hooks.example.com/x", "https://"),
        body=target(endpoint="ftp://hooks.example.com/x"),
    ),
    Case(
        "endpoint-with-credentials",
        "POST",
        TARGETS,
        400,
        ("endpoint", "credentials", "headers"),
        body=target(endpoint="https://admin:secret@hooks.example.com/x"),
    ),
    Case(
        "endpoint-bad-ipv6-literal",
        "POST",
        TARGETS,
        400,
        ("endpoint", "not a valid URL"),
        body=target(endpoint="https://[zz]/x"),
    ),
    Case(
        "endpoint-port-out-of-range",
        "POST",
        TARGETS,
        400,
        ("endpoint", "not a valid URL", "Port"),
        body=target(endpoint="https://hooks.example.com:99999/x"),
    ),
    Case(
        "endpoint-with-space",
        "POST",
        TARGETS,
        400,
        ("endpoint", "spaces"),
        body=target(endpoint="https://hooks.exa mple.com/x"),
    ),
    Case(
        "reserved-header",
        "POST",
        TARGETS,
        400,
        ("headers.Content-Type", "set by Keyhook"),
        body=target(headers={"Content-Type": "text/plain"}),
    ),
    Case(
        "unknown-field",
        "POST",
        TARGETS,
        400,
        ("colour", "not a field", "endpoint", "timeout"),
        body=target(colour="blue"),
    ),
    Case(
        "connect-form-bad-timeout",
        "POST",
        "/zitadel.action.v2.ActionService/CreateTarget",
        400,
        ("timeout", "'0s'"),
        body=target(timeout="0s"),
    ),
    # --- updates -----------------------------------------------------------------------------
    Case(
        "update-nothing",
        "POST",
        TARGETS + "/{target}",
        400,
        ("names nothing to change", "endpoint", "expirationSigningKey"),
        body={},
    ),
    Case(
        "update-rotation-too-long",
        "PATCH",
        TARGETS + "/{target}",
        400,
        ("expirationSigningKey", "30 days"),
        body={"expirationSigningKey": "9999h"},
    ),
    Case(
        "update-unknown-target",
        "POST",
        f"{TARGETS}/{UNKNOWN_ID}",
        404,
        (f"target {UNKNOWN_ID}", "does not exist"),
        body={"timeout": "3s"},
    ),
    # --- executions ------------------------------------------------------------------------
    Case(
        "unknown-condition-type",
        "PUT",
        EXECUTIONS,
        400,
        ("condition", "'weird'", "request, response, function, event"),
        body=execution({"weird": {"all": True}}, ("{target}",)),
    ),
    Case(
        "unknown-selector",
        "PUT",
        EXECUTIONS,
        400,
        ("condition.function.all", "not a selector", "name"),
        body=execution({"function": {"all": True}}, ("{target}",)),
    ),
    Case(
        "unknown-method",
        "PUT",
        EXECUTIONS,
        404,
        (
            "method",
            "/zitadel.user.v2.UserService/Nope",
            "/zitadel.user.v2.UserService/AddHumanUser",
        ),
        body=execution({"request": {"method": "/zitadel.user.v2.UserService/Nope"}}, ("{target}",)),
        code="not_found",
    ),
    Case(
        "unknown-service",
        "PUT",
        EXECUTIONS,
        404,
        ("service", "'zitadel.nope.v2.NopeService'", "zitadel.user.v2.UserService"),
        body=execution({"response": {"service": "zitadel.nope.v2.NopeService"}}, ("{target}",)),
    ),
    Case(
        "unknown-event",
        "PUT",
        EXECUTIONS,
        404,
        ("event", "'user.exploded'", "user.locked"),
        body=execution({"event": {"event": "user.exploded"}}, ("{target}",)),
    ),
    Case(
        "unknown-group",
        "PUT",
        EXECUTIONS,
        404,
        ("group", "'nope'", "user.human"),
        body=execution({"event": {"group": "nope"}}, ("{target}",)),
    ),
    Case(
        "unknown-function",
        "PUT",
        EXECUTIONS,
        404,
        ("function", "'mint_token'", "complement_token", "preaccesstoken"),
        body=execution({"function": {"name": "mint_token"}}, ("{target}",)),
    ),
    Case(
        "unknown-target-in-execution",
        "PUT",
        EXECUTIONS,
        404,
        (f"target {UNKNOWN_ID}", "POST /v2/actions/targets/search"),
        body=execution({"event": {"event": "user.locked"}}, ("{target}", UNKNOWN_ID)),
    ),
    Case(
        "target-listed-twice",
        "PUT",
        EXECUTIONS,
        400,
        ("targets", "more than once"),
        body=execution({"event": {"event": "user.locked"}}, ("{target}", "{target}")),
    ),
    # --- times ------------------------------------------------------------------------------
    Case(
        "time-before-year-one-in-utc",
        "POST",
        "/v2/actions/deliveries/search",
        400,
        ("from", "out of range"),
        body={"from": "0001-01-01T00:00:00+00:01"},
    ),
    Case(
        "time-without-offset",
        "POST",
        "/v2/actions/deliveries/search",
        400,
        ("to",),
        body={"to": "2026-01-01T00:00:00"},
    ),
    # --- unknown ids and malformed ids -------------------------------------------------------
    Case(
        "get-unknown-target", "GET", f"{TARGETS}/{UNKNOWN_ID}", 404, (UNKNOWN_ID, "does not exist")
    ),
    Case(
        "delete-unknown-target",
        "DELETE",
        f"{TARGETS}/{UNKNOWN_ID}",
        404,
        (UNKNOWN_ID, "does not exist"),
    ),
    Case("get-unknown-user", "GET", f"{USERS}/{UNKNOWN_ID}", 404, (UNKNOWN_ID, "does not exist")),
    Case(
        "delete-unknown-user",
        "DELETE",
        f"{USERS}/{UNKNOWN_ID}",
        404,
        (UNKNOWN_ID, "does not exist"),
    ),
    Case("target-id-of-letters", "GET", TARGETS + "/abcdef", 400, ("id", "1 to 19 ASCII digits")),
    Case(
        "user-id-of-letters",
        "POST",
        USERS + "/abcdef/lock",
        400,
        ("userId", "1 to 19 ASCII digits"),
    ),
    Case("no-such-route", "GET", "/v2/nothing/here", 404, ("/v2/nothing/here", "/openapi.json")),
    Case("wrong-http-method", "PUT", f"{USERS}/{UNKNOWN_ID}", 405, ("PUT", "not allowed")),
    # --- authentication --------------------------------------------------------------------
    Case(
        "missing-authorization",
        "POST",
        TARGETS + "/search",
        401,
        ("Authorization", "Bearer"),
        body={},
        token=None,
        code="unauthenticated",
    ),
    Case(
        "wrong-token",
        "POST",
        TARGETS,
        401,
        ("token", "not valid"),
        body=target(),
        token="not-a-real-token",
    ),
    Case(
        "basic-scheme",
        "GET",
        f"{TARGETS}/{UNKNOWN_ID}",
        401,
        ("Authorization", "Bearer"),
        token=None,
        headers={"Authorization": "Basic YWRtaW46YWRtaW4="},
    ),
    Case(
        "empty-bearer",
        "GET",
        f"{USERS}/{UNKNOWN_ID}",
        401,
        ("Bearer",),
        token=None,
        headers={"Authorization": "Bearer "},
    ),
    # --- users -------------------------------------------------------------------------------
    Case(
        "invalid-email",
        "POST",
        USERS + "/human",
        400,
        ("user.email.email", "'not-an-email'", "local@domain.tld"),
        body=user(email={"email": "not-an-email"}),
    ),
    Case(
        "short-password",
        "POST",
        USERS + "/human",
        400,
        ("user.password.password", "8 to 256"),
        body=user(password={"password": "short"}),
    ),
    Case(
        "missing-user",
        "POST",
        USERS + "/human",
        400,
        ("user", "required"),
        body={"organizationId": UNKNOWN_ID},
    ),
    Case(
        "unknown-user-field",
        "POST",
        USERS + "/human",
        400,
        ("user.shoeSize", "not a field", "email", "profile"),
        body=user(shoeSize=44),
    ),
    Case(
        "lock-locked-user",
        "POST",
        USERS + "/{locked_user}/lock",
        400,
        ("{locked_user}", "cannot be locked", "USER_STATE_LOCKED"),
        code="failed_precondition",
    ),
    Case(
        "unlock-active-user",
        "POST",
        USERS + "/{active_user}/unlock",
        400,
        ("{active_user}", "not locked"),
        code="failed_precondition",
    ),
]


def fill(value: Any, names: dict[str, str]) -> Any:
    """``value`` with ``{name}`` placeholders in its strings replaced."""
    if isinstance(value, str):
        for name, text in names.items():
            value = value.replace("{" + name + "}", text)
        return value
    if isinstance(value, dict):
        return {fill(k, names): fill(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, names) for v in value]
    return value


def assert_error_shape(reply: Reply) -> None:
    assert reply.status < 500, f"5xx: {reply.status} {reply.raw[:500]!r}"
    assert 400 <= reply.status < 500, f"{reply.status} {reply.raw[:500]!r}"
    assert isinstance(reply.body, dict), reply.raw[:500]
    assert set(reply.body) == {"code", "message", "details"}, reply.body
    assert isinstance(reply.body["code"], str) and reply.body["code"]
    assert isinstance(reply.body["message"], str) and reply.body["message"]
    assert isinstance(reply.body["details"], list)


async def count(api: Api, path: str) -> int:
    found = (await api.post(path, {"query": {"limit": 1}})).ok()
    return int((found.get("pagination") or found["details"])["totalResult"])


@pytest.fixture(scope="module")
async def names(api: Api) -> dict[str, str]:
    run = secrets.token_hex(4)
    existing = await api.create_target(
        "https://hooks.example.com/existing", name=f"hostile-existing-{run}"
    )
    active = (await api.add_user(f"hostile-active-{run}@example.com")).ok()["userId"]
    locked = (await api.add_user(f"hostile-locked-{run}@example.com")).ok()["userId"]
    (await api.post(f"{USERS}/{locked}/lock")).ok()
    return {
        "run": run,
        "target": existing["id"],
        "target_name": f"hostile-existing-{run}",
        "active_user": active,
        "locked_user": locked,
    }


def test_the_table_is_large_enough() -> None:
    assert len(CASES) >= 30
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
async def test_hostile_request_gets_a_4xx_naming_the_problem(
    api: Api, names: dict[str, str], case: Case
) -> None:
    path = fill(case.path, names)
    body = fill(case.body, names)
    before_targets = await count(api, TARGETS + "/search")
    before_users = await count(api, USERS + "/search")
    reply = await api.call(
        case.method, path, body, raw=case.raw, token=case.token, headers=dict(case.headers)
    )
    assert_error_shape(reply)
    assert reply.status == case.status, f"{reply.status}: {reply.body}"
    message = reply.body["message"]
    for word in fill(list(case.words), names):
        assert word in message, f"{word!r} not in {message!r}"
    assert "internal error" not in message
    if case.code is not None:
        assert reply.body["code"] == case.code
    # A rejected request leaves nothing behind.
    assert await count(api, TARGETS + "/search") == before_targets
    assert await count(api, USERS + "/search") == before_users


async def test_rejected_execution_changes_leave_executions_as_they_were(
    api: Api, names: dict[str, str], clean_actions: Api
) -> None:
    before = (await api.post(EXECUTIONS + "/search", {})).ok()["executions"]
    for body in (
        execution({"event": {"event": "user.locked"}}, ("{target}", UNKNOWN_ID)),
        execution({"event": {"event": "user.locked"}}, ("{target}", "{target}")),
        execution({"event": {"event": "user.exploded"}}, ("{target}",)),
    ):
        assert_error_shape(await api.put(EXECUTIONS, fill(body, names)))
    assert (await api.post(EXECUTIONS + "/search", {})).ok()["executions"] == before


# --- the endpoint policy without --dev ------------------------------------------------------


@pytest.fixture(scope="module")
async def allow_loopback(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Api]:
    server = KeyhookServer(
        data_dir=Path(tmp_path_factory.mktemp("allow")), dev=False, allow_hosts="127.0.0.1"
    )
    async with serving(server) as client:
        yield client


REFUSED = [
    ("http://hooks.example.com/keyhook", ("plain http://", "hooks.example.com", *SWITCHES)),
    ("http://127.0.0.1:8080/x", ("plain http://", *SWITCHES)),
    ("https://127.0.0.1/x", ("127.0.0.1", "not a public address", *SWITCHES)),
    ("https://10.0.0.1/x", ("10.0.0.1", "not a public address", *SWITCHES)),
    ("https://192.168.1.20/x", ("192.168.1.20", "not a public address", *SWITCHES)),
    ("https://169.254.169.254/latest/meta-data", ("169.254.169.254", "not a public address")),
    ("https://[::1]/x", ("::1", "not a public address", *SWITCHES)),
    ("https://[::ffff:127.0.0.1]/x", ("not a public address",)),
    ("https://localhost/x", ("localhost", "local name", *SWITCHES)),
    ("https://printer.local/x", ("printer.local", "local name", *SWITCHES)),
]


@pytest.mark.parametrize(("endpoint", "words"), REFUSED, ids=[url for url, _ in REFUSED])
async def test_without_dev_local_and_plain_http_endpoints_are_refused(
    strict: Api, endpoint: str, words: tuple[str, ...]
) -> None:
    before = await count(strict, TARGETS + "/search")
    reply = await strict.post(
        TARGETS, target(name=f"strict-{secrets.token_hex(4)}", endpoint=endpoint)
    )
    assert_error_shape(reply)
    assert reply.status == 400, reply.body
    assert reply.body["code"] == "invalid_argument"
    assert reply.body["details"][0]["field"] == "endpoint"
    for word in words:
        assert word in reply.body["message"], f"{word!r} not in {reply.body['message']!r}"
    assert await count(strict, TARGETS + "/search") == before


async def test_without_dev_an_update_to_a_private_endpoint_is_refused(strict: Api) -> None:
    created = await strict.create_target(
        "https://hooks.example.com/keyhook", name=f"strict-{secrets.token_hex(4)}"
    )
    for endpoint in ("https://10.0.0.1/x", "http://hooks.example.com/x"):
        reply = await strict.post(f"{TARGETS}/{created['id']}", {"endpoint": endpoint})
        assert_error_shape(reply)
        assert reply.status == 400
        assert "KEYHOOK_ACTIONS_ALLOW_HOSTS" in reply.body["message"]
    stored = (await strict.get(f"{TARGETS}/{created['id']}")).ok()["target"]
    assert stored["endpoint"] == "https://hooks.example.com/keyhook"


async def test_the_allow_list_opens_exactly_the_listed_host(allow_loopback: Api) -> None:
    created = await allow_loopback.create_target(
        "http://127.0.0.1:8080/hook", name=f"allowed-{secrets.token_hex(4)}"
    )
    stored = (await allow_loopback.get(f"{TARGETS}/{created['id']}")).ok()["target"]
    assert stored["endpoint"] == "http://127.0.0.1:8080/hook"
    for endpoint in ("http://127.0.0.2:8080/hook", "https://10.0.0.1/x", "https://localhost/x"):
        reply = await allow_loopback.post(
            TARGETS, target(name=f"refused-{secrets.token_hex(4)}", endpoint=endpoint)
        )
        assert_error_shape(reply)
        assert reply.status == 400, (endpoint, reply.body)
        assert "KEYHOOK_ACTIONS_ALLOW_HOSTS" in reply.body["message"]
