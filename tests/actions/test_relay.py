"""The relay hub and transport without sockets: frames in, answers and failures out."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import orjson
import pytest

from keyhook.actions.relay import NOT_ATTACHED, RelayHub, RelayTransport, read_answer
from keyhook.actions.transport import (
    MockTransport,
    OutboundRequest,
    OutboundResponse,
    TransportError,
)
from keyhook.actions.wire import signed_request
from keyhook.domain.netpolicy import NetworkPolicy
from keyhook.domain.target import RELAY_ENDPOINT, SigningKey, Target, TargetType

CAP = 100


def frame(status: int = 200, body: bytes = b"{}", **extra: Any) -> dict[str, Any]:
    return {
        "type": "answer",
        "id": "1",
        "status": status,
        "headers": [["Retry-After", "5"]],
        "body": base64.b64encode(body).decode(),
        **extra,
    }


def relay_request(timeout: float = 5.0, keep: int | None = None) -> OutboundRequest:
    return OutboundRequest("relay:42", b'{"a":1}', {"webhook-id": "msg_1"}, timeout, keep)


def test_an_answer_frame_is_an_http_answer() -> None:
    answer = read_answer(frame(201, b'{"ok":true}'), CAP, None)
    assert answer == OutboundResponse(201, b'{"ok":true}', {"Retry-After": "5"})


def test_an_answer_over_the_cap_is_too_large_and_a_delivery_keeps_its_start() -> None:
    with pytest.raises(TransportError) as caught:
        read_answer(frame(body=b"x" * (CAP + 1)), CAP, None)
    assert caught.value.kind == "too_large"
    assert read_answer(frame(body=b"x" * (CAP + 1)), CAP, 10).body == b"x" * 10


@pytest.mark.parametrize(
    "bad",
    [
        {"type": "answer", "id": "1", "status": 200, "headers": [], "body": "!!"},
        {"type": "answer", "id": "1", "status": 99, "headers": [], "body": ""},
        {"type": "answer", "id": "1", "status": "200", "headers": [], "body": ""},
        {"type": "answer", "id": "1", "status": 200, "headers": {}, "body": ""},
    ],
)
def test_an_unreadable_answer_frame_is_a_protocol_failure(bad: dict[str, Any]) -> None:
    with pytest.raises(TransportError) as caught:
        read_answer(bad, CAP, None)
    assert caught.value.kind == "protocol"


def test_a_failure_frame_keeps_a_known_kind_only() -> None:
    with pytest.raises(TransportError) as caught:
        read_answer({"type": "failure", "kind": "timeout", "message": "no answer"}, CAP, None)
    assert (caught.value.kind, caught.value.message) == ("timeout", "no answer")
    with pytest.raises(TransportError) as caught:
        read_answer({"type": "failure", "kind": "whatever", "message": "x"}, CAP, None)
    assert caught.value.kind == "protocol"


async def test_no_listener_is_a_connect_failure() -> None:
    with pytest.raises(TransportError) as caught:
        await RelayHub(CAP).call("42", relay_request())
    assert (caught.value.kind, caught.value.message) == ("connect", NOT_ATTACHED)


async def test_a_call_frame_is_answered_through_the_hub() -> None:
    hub = RelayHub(CAP)
    sent: list[dict[str, Any]] = []

    async def send(data: bytes) -> None:
        call = orjson.loads(data)
        sent.append(call)
        assert attached is not None
        hub.answered(attached, frame(202, base64.b64decode(call["body"]), id=call["id"]))

    attached = hub.attach("42", send)
    assert attached is not None
    assert hub.attach("42", send) is None, "one listener per target"
    answer = await RelayTransport(MockTransport(never), hub).send(relay_request())
    assert answer.status == 202 and answer.body == b'{"a":1}'
    assert sent[0]["headers"] == [["webhook-id", "msg_1"]]
    assert sent[0]["cap"] == CAP and sent[0]["timeout"] == 5.0


async def never(_: OutboundRequest) -> OutboundResponse:
    raise AssertionError("an HTTP call was made for a relay target")


async def test_an_unanswered_call_times_out_and_a_late_answer_is_dropped() -> None:
    hub = RelayHub(CAP)
    frames: list[dict[str, Any]] = []

    async def send(data: bytes) -> None:
        frames.append(orjson.loads(data))

    attached = hub.attach("42", send)
    assert attached is not None
    with pytest.raises(TransportError) as caught:
        await hub.call("42", relay_request(timeout=0.05))
    assert caught.value.kind == "timeout"
    hub.answered(attached, frame(id=frames[0]["id"]))  # nobody waits: ignored
    assert not attached.pending


async def test_a_listener_that_disconnects_fails_its_calls() -> None:
    hub = RelayHub(CAP)
    sent = asyncio.Event()

    async def send(_: bytes) -> None:
        sent.set()

    attached = hub.attach("42", send)
    assert attached is not None
    call = asyncio.create_task(hub.call("42", relay_request()))
    await sent.wait()
    hub.detach(attached)
    with pytest.raises(TransportError) as caught:
        await call
    assert caught.value.kind == "connect"
    assert not hub.is_attached("42")


async def test_other_requests_go_to_the_http_transport_unchanged() -> None:
    seen: list[OutboundRequest] = []

    async def http(request: OutboundRequest) -> OutboundResponse:
        seen.append(request)
        return OutboundResponse(200, b"{}")

    request = OutboundRequest("https://example.com/hook", b"{}", {}, 5.0)
    assert (await RelayTransport(MockTransport(http), RelayHub(CAP)).send(request)).status == 200
    assert seen == [request]


def test_a_relay_target_is_allowed_by_the_policy_and_addressed_by_its_id() -> None:
    assert NetworkPolicy().check_endpoint(RELAY_ENDPOINT) == RELAY_ENDPOINT
    assert NetworkPolicy().refusal(RELAY_ENDPOINT) is None
    target = Target(
        "42",
        "laptop",
        RELAY_ENDPOINT,
        5.0,
        TargetType.REST_CALL,
        True,
        signing_keys=(SigningKey("whsec_" + base64.b64encode(b"k" * 32).decode()),),
    )
    request = signed_request(target, b"{}", "msg_1")
    assert request.url == "relay:42"
    assert "X-Zitadel-Signature" in request.headers
