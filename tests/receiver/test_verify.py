"""keyhook-receiver's Verifier (issue 14) against deliveries a running Keyhook sent to a
real receiver: every scheme, a non-ASCII body, a rotation's overlap, and each refusal
with its reason; and a property: what the server signs, the library verifies, and
any one-byte change is refused."""

from __future__ import annotations

import ast
import base64
import json
import secrets
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keyhook.crypto.signing import signature_headers
from keyhook_receiver import SCHEMES, VerificationError, Verifier
from tests.support.api import Api
from tests.support.receiver import Received, Receiver

LIBRARY = Path(__file__).parents[2] / "receiver" / "src" / "keyhook_receiver"


async def _delivery(api: Api, receiver: Receiver, target_id: str, path: str, n: int) -> Received:
    user = (await api.add_user(f"vérif-ünï-{secrets.token_hex(3)}@example.com")).ok()["userId"]
    (await api.post(f"/v2/users/{user}/lock")).ok()
    return (await receiver.wait_for(path, n))[-1]


def _refused(verifier: Verifier, body: bytes, headers: dict[str, str]) -> str:
    with pytest.raises(VerificationError) as caught:
        verifier.verify(body, headers)
    return caught.value.reason


async def test_real_deliveries_every_scheme_and_a_rotation(
    clean_actions: Api, receiver: Receiver
) -> None:
    api = clean_actions
    path = f"/lib-{secrets.token_hex(3)}"
    target = await api.create_target(receiver.endpoint(path), kind="restAsync")
    await api.set_execution({"event": {"event": "user.locked"}}, [target["id"]])
    old_key = target["signingKey"]
    got = await _delivery(api, receiver, target["id"], path, 1)
    assert "ünï".encode() in got.body
    for scheme in SCHEMES:
        proof = Verifier(old_key, scheme=scheme).verify(got.body, got.headers)
        assert proof.scheme == scheme and proof.key_index == 0
    best = Verifier(old_key).verify(got.body, got.headers)
    assert best.scheme == "standard" and best.webhook_id == got.headers["webhook-id"]

    # The refusals, each with its reason.
    tampered = got.body.replace(b"user.locked", b"user.Locked")
    assert _refused(Verifier(old_key), tampered, got.headers) == "no_matching_signature"
    other = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    assert _refused(Verifier(other), got.body, got.headers) == "no_matching_signature"
    late = Verifier(old_key, clock=lambda: time.time() + 3600)
    assert _refused(late, got.body, got.headers) == "timestamp_too_old"
    early = Verifier(old_key, clock=lambda: time.time() - 3600)
    assert _refused(early, got.body, got.headers) == "timestamp_too_new"
    assert Verifier(old_key, tolerance=None, clock=lambda: time.time() + 3600).verify(
        got.body, got.headers
    )
    again = json.dumps(json.loads(got.body)).encode()  # the guide's json.dumps(payload)
    with pytest.raises(VerificationError) as caught:
        Verifier(old_key).verify(again, got.headers)
    assert caught.value.reason == "body_reserialised"
    assert "raw request body" in caught.value.message
    assert _refused(Verifier(old_key), got.body, {}) == "missing_header"

    # A rotation with an overlap: each call is signed with both keys.
    rotated = await api.post(f"/v2/actions/targets/{target['id']}", {"expirationSigningKey": "1h"})
    new_key = rotated.ok()["signingKey"]
    got = await _delivery(api, receiver, target["id"], path, 2)
    for scheme in ("standard", "zitadel"):
        assert Verifier(new_key, scheme=scheme).verify(got.body, got.headers)
        assert Verifier(old_key, scheme=scheme).verify(got.body, got.headers)
        both = Verifier([new_key, old_key], scheme=scheme).verify(got.body, got.headers)
        assert both.key_index in (0, 1)
    # The guide's single-value header carries the oldest key's signature.
    assert Verifier(old_key, scheme="seed").verify(got.body, got.headers).key_index == 0
    await api.clear_executions()


_json = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(payload=_json, raw_key=st.binary(min_size=16, max_size=48), index=st.integers(0, 10**6))
def test_what_the_server_signs_the_library_verifies(
    payload: object, raw_key: bytes, index: int
) -> None:
    key = "whsec_" + base64.b64encode(raw_key).decode()
    body = json.dumps({"event": "user.locked", "eventData": payload}, ensure_ascii=False).encode()
    now = int(time.time())
    headers = signature_headers([key], f"msg_{index}", now, body)
    for scheme in SCHEMES:
        assert Verifier(key, scheme=scheme).verify(body, headers).scheme == scheme
    spot = index % len(body)
    changed = body[:spot] + bytes([body[spot] ^ 0x01]) + body[spot + 1 :]
    for scheme in SCHEMES:
        with pytest.raises(VerificationError):
            Verifier(key, scheme=scheme).verify(changed, headers)


def test_the_library_imports_nothing_but_the_standard_library() -> None:
    allowed = {"keyhook_receiver", "__future__"}
    import sys

    for path in LIBRARY.rglob("*.py"):
        if path.parent.name == "adapters":
            continue  # an adapter imports its framework, lazily
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                assert top in allowed or top in sys.stdlib_module_names, (path, name)
