"""Token signing keys (web keys) of the OpenID Connect provider: created, activated,
deleted, rotated.

A key is RSA, ECDSA or Ed25519 (:mod:`keyhook.domain.web_keys`); its ``kid`` is the
RFC 7638 JWK thumbprint of the public key. The private half is sealed with the master
key (:class:`~keyhook.crypto.secretbox.SecretBox`) inside the ``instance.web_key.added``
event, so it never leaves the server; the public half is published at ``/oauth/v2/keys``.

States, as in ZITADEL's WebKeyService: a created key is *initial* (published, not the
signing key), activating it makes it *active* (the one key that signs access tokens and
the ID tokens of clients that ask for its algorithm) and the key active before becomes
*inactive*, still published for the longest token lifetime so its tokens keep
verifying. Only a key that is not active can be deleted. The first start creates an
ES256 (P-256) key and activates it: ES256 signs in ~50 µs against RS256's ~1 ms
(docs/performance.md).

The keys are events on the instance aggregate; each command appends with the
instance's sequence it read, so two nodes starting (or rotating) at the same
moment cannot both add a key: the second one's append collides and it reads
the winner's key instead.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from joserfc.jwk import ECKey, OKPKey, RSAKey

from keyhook.clock import iso, now
from keyhook.command.writer import Writer
from keyhook.config import Settings
from keyhook.domain.caller import Caller
from keyhook.domain.durations import parse_duration
from keyhook.domain.web_keys import (
    ACTIVE,
    INITIAL,
    KeySpec,
    spec_for_algorithm,
    spec_from_config,
)
from keyhook.errors import Conflict, FailedPrecondition, NotFound, field_error
from keyhook.eventstore.store import PendingEvent, current_sequence
from keyhook.storage.connection import Connection

ALGORITHM = "ES256"
CURVE = "P-256"
FIRST_KEY = KeySpec("ecdsa", ALGORITHM, curve=CURVE)

#: How long a retired key stays published when no lifetime is configured: 12 hours.
#:
#: A token signed by a key can be verified only while the key is in the JWKS,
#: so a retired key must stay published for at least the longest lifetime of a
#: token it signed. Access and ID tokens live at most 12 hours by default
#: (ZITADEL's default lifetime); refresh tokens are opaque and never verified
#: against the JWKS. After the window the key drops out of the JWKS by itself (the
#: read side compares ``retired_until`` with the current time); nothing has to run.
DEFAULT_PUBLISH_OLD_FOR = 12 * 3600
#: The longest window a rotation accepts (30 days).
MAX_PUBLISH_OLD_FOR = 30 * 24 * 3600


@dataclass(frozen=True)
class NewKey:
    kid: str
    spec: KeySpec
    public_jwk: dict[str, Any]
    sealed: str


def _generate(spec: KeySpec) -> RSAKey | ECKey | OKPKey:
    if spec.kind == "rsa":
        return RSAKey.generate_key(spec.bits, private=True)
    if spec.kind == "ecdsa":
        return ECKey.generate_key(spec.curve, private=True)
    return OKPKey.generate_key("Ed25519", private=True)


async def _new_key(writer: Writer, spec: KeySpec) -> NewKey:
    """A new key pair; generated in a thread (an RSA 4096 key takes a second or more)."""
    key = await asyncio.to_thread(_generate, spec)
    kid = key.thumbprint()
    public = {**key.as_dict(private=False), "kid": kid, "alg": spec.algorithm, "use": "sig"}
    private = {**key.as_dict(private=True), "kid": kid, "alg": spec.algorithm, "use": "sig"}
    return NewKey(kid, spec, public, writer.box.seal(orjson.dumps(private).decode()))


def _added(instance_id: str, key: NewKey) -> PendingEvent:
    return PendingEvent(
        "instance.web_key.added",
        "instance",
        instance_id,
        instance_id,
        {
            "keyId": key.kid,
            "algorithm": key.spec.algorithm,
            "config": key.spec.config(),
            "publicKey": key.public_jwk,
            "sealedPrivateKey": key.sealed,
        },
    )


def _activated(instance_id: str, kid: str) -> PendingEvent:
    return PendingEvent(
        "instance.web_key.activated", "instance", instance_id, instance_id, {"keyId": kid}
    )


def _deactivated(instance_id: str, kid: str, until: datetime) -> PendingEvent:
    return PendingEvent(
        "instance.web_key.deactivated",
        "instance",
        instance_id,
        instance_id,
        {"keyId": kid, "publishedUntil": iso(until)},
    )


async def _active_kids(conn: Connection, instance_id: str) -> list[str]:
    rows = await conn.execute(
        "SELECT id FROM oidc_signing_keys WHERE instance_id = :instance_id AND active "
        "ORDER BY created_at",
        {"instance_id": instance_id},
    )
    return [str(kid) for kid in rows.scalars()]


async def _key_row(conn: Connection, instance_id: str, kid: str) -> Any:
    return (
        await conn.execute(
            "SELECT id, state, key_config FROM oidc_signing_keys "
            "WHERE instance_id = :instance_id AND id = :id",
            {"instance_id": instance_id, "id": kid},
        )
    ).first()


async def ensure_signing_key(writer: Writer, caller: Caller) -> str | None:
    """Create and activate an ES256 key if the instance has no active one; the new kid,
    else None.

    Runs at every start (idempotent): the first start creates the key, later
    starts find it. A concurrent start that created it first wins.
    """
    instance_id = caller.instance_id
    async with writer.db.read() as conn:
        if await _active_kids(conn, instance_id):
            return None
    key = await _new_key(writer, FIRST_KEY)
    try:
        async with writer.db.write() as conn:
            if await _active_kids(conn, instance_id):
                return None
            sequence = await current_sequence(conn, instance_id, "instance", instance_id)
            await writer.commit(
                conn,
                caller,
                [_added(instance_id, key), _activated(instance_id, key.kid)],
                expected={("instance", instance_id): sequence},
            )
            return key.kid
    except Conflict:
        async with writer.db.read() as conn:
            if await _active_kids(conn, instance_id):
                return None
        raise


async def _usable_kid(conn: Connection, instance_id: str, algorithm: str) -> str | None:
    row = (
        await conn.execute(
            "SELECT id FROM oidc_signing_keys WHERE instance_id = :instance_id "
            "AND algorithm = :algorithm AND state IN (:initial, :active) "
            "ORDER BY created_at DESC",
            {
                "instance_id": instance_id,
                "algorithm": algorithm,
                "initial": INITIAL,
                "active": ACTIVE,
            },
        )
    ).first()
    return None if row is None else str(row.id)


async def ensure_algorithm_key(writer: Writer, caller: Caller, algorithm: str) -> str:
    """A key that can sign ``algorithm`` now (the active key, or an initial one, which is
    published too); made (initial) when the instance has none.

    For ID tokens of a client whose ``id_token_signed_response_alg`` differs from the
    active key's algorithm (RS256 when it registered none, as OpenID Connect says): such
    a key stays initial, so activating keys leaves it alone; deleted, the next ID token
    that needs it makes another.
    """
    instance_id = caller.instance_id
    async with writer.db.read() as conn:
        kid = await _usable_kid(conn, instance_id, algorithm)
    if kid is not None:
        return kid
    key = await _new_key(writer, spec_for_algorithm(algorithm))
    try:
        async with writer.db.write() as conn:
            kid = await _usable_kid(conn, instance_id, algorithm)
            if kid is not None:
                return kid
            sequence = await current_sequence(conn, instance_id, "instance", instance_id)
            await writer.commit(
                conn,
                caller,
                [_added(instance_id, key)],
                expected={("instance", instance_id): sequence},
            )
            return key.kid
    except Conflict:
        async with writer.db.read() as conn:
            kid = await _usable_kid(conn, instance_id, algorithm)
        if kid is None:
            raise
        return kid


def longest_jwt_lifetime(settings: Settings) -> float:
    """The longest lifetime of a token a key signs (access or ID token), in seconds."""
    return max(
        parse_duration(settings.oidc.access_token, "KEYHOOK_OIDC_ACCESS_TOKEN_LIFETIME"),
        parse_duration(settings.oidc.id_token, "KEYHOOK_OIDC_ID_TOKEN_LIFETIME"),
    )


def publish_window(seconds: float | None, default: float = DEFAULT_PUBLISH_OLD_FOR) -> float:
    """The publication window of a retired key, checked: 0 s to 30 days.

    By default the longest token lifetime, so every token the old key signed keeps
    verifying until it expires.
    """
    if seconds is None:
        return min(default, MAX_PUBLISH_OLD_FOR)
    if not 0 <= seconds <= MAX_PUBLISH_OLD_FOR:
        raise field_error("publishOldFor", "must be between 0s and 30 days", "0s to 720h")
    return seconds


async def create_web_key(writer: Writer, caller: Caller, spec: KeySpec) -> dict[str, Any]:
    """CreateWebKey: a new key in state initial (published, not signing yet)."""
    key = await _new_key(writer, spec)
    async with writer.db.write() as conn:
        stored = await writer.commit(conn, caller, [_added(caller.instance_id, key)])
    return {"id": key.kid, "creationDate": iso(stored[-1].created_at)}


async def activate_web_key(
    writer: Writer, caller: Caller, kid: str, publish_old_for_seconds: float | None = None
) -> dict[str, Any]:
    """ActivateWebKey: ``kid`` signs from now on; the active key becomes inactive, still
    published for the longest token lifetime (or ``publish_old_for_seconds``)."""
    window = publish_window(publish_old_for_seconds, longest_jwt_lifetime(writer.settings))
    instance_id = caller.instance_id
    at = now()
    async with writer.db.write() as conn:
        row = await _key_row(conn, instance_id, kid)
        if row is None:
            raise NotFound(
                f"web key {kid!r} not found", details=[{"field": "id", "problem": "not found"}]
            )
        old = [k for k in await _active_kids(conn, instance_id) if k != kid]
        if row.state == ACTIVE and not old:
            return {"changeDate": iso(at)}  # already the signing key
        sequence = await current_sequence(conn, instance_id, "instance", instance_id)
        until = at + timedelta(seconds=window)
        events = [_deactivated(instance_id, k, until) for k in old]
        if row.state != ACTIVE:
            events.append(_activated(instance_id, kid))
        stored = await writer.commit(
            conn, caller, events, expected={("instance", instance_id): sequence}, at=at
        )
    return {"changeDate": iso(stored[-1].created_at)}


async def delete_web_key(writer: Writer, caller: Caller, kid: str) -> dict[str, Any]:
    """DeleteWebKey: a key that is not active is removed (its tokens stop verifying).
    An unknown key is no error and has no deletion date, as in ZITADEL."""
    instance_id = caller.instance_id
    async with writer.db.write() as conn:
        row = await _key_row(conn, instance_id, kid)
        if row is None:
            return {}
        if row.state == ACTIVE:
            raise FailedPrecondition(
                "the active web key cannot be deleted; activate another key first",
                details=[{"field": "id", "problem": "is the active key"}],
            )
        stored = await writer.commit(
            conn,
            caller,
            [
                PendingEvent(
                    "instance.web_key.removed", "instance", instance_id, instance_id, {"keyId": kid}
                )
            ],
        )
    return {"deletionDate": iso(stored[-1].created_at)}


async def rotate_signing_key(
    writer: Writer, caller: Caller, publish_old_for_seconds: float | None = None
) -> dict[str, Any]:
    """Make a new key, of the active key's type, the signing key; retire the active one,
    still published for a while (``keyhook.oidc.v1.KeyService/RotateSigningKey``).

    ``publish_old_for_seconds`` should be at least the lifetime of the tokens the old key
    signed, so those tokens keep verifying until they expire; left out, it is the longest
    configured access or ID token lifetime. Every node signs new tokens with the new key
    within a second (the signer's key cache, ``keyhook.services.oidc_signer``).
    """
    window = publish_window(publish_old_for_seconds, longest_jwt_lifetime(writer.settings))
    instance_id = caller.instance_id
    async with writer.db.read() as conn:
        row = (
            await conn.execute(
                "SELECT key_config FROM oidc_signing_keys WHERE instance_id = :instance_id "
                "AND active ORDER BY created_at DESC",
                {"instance_id": instance_id},
            )
        ).first()
    spec = FIRST_KEY if row is None else spec_from_config(orjson.loads(row.key_config))
    key = await _new_key(writer, spec)
    at = now()
    until: datetime = at + timedelta(seconds=window)
    async with writer.db.write() as conn:
        old = await _active_kids(conn, instance_id)
        sequence = await current_sequence(conn, instance_id, "instance", instance_id)
        stored = await writer.commit(
            conn,
            caller,
            [
                _added(instance_id, key),
                *(_deactivated(instance_id, kid, until) for kid in old),
                _activated(instance_id, key.kid),
            ],
            expected={("instance", instance_id): sequence},
            at=at,
        )
    return {
        "keyId": key.kid,
        "algorithm": spec.algorithm,
        "retiredKeyIds": old,
        "retiredKeysPublishedUntil": iso(until) if old else None,
        "changeDate": iso(stored[-1].created_at),
    }
