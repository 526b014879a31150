"""Token signing keys of the OpenID Connect provider: created at start, rotatable.

A key is an ES256 (P-256) key pair: ES256 signs in ~70-100 µs against RS256's
~800 µs (DESIGN.md §5), and every OIDC client library verifies it. Its ``kid``
is the RFC 7638 JWK thumbprint of the public key. The private half is sealed
with the master key (:class:`~keyhook.crypto.secretbox.SecretBox`) inside the
``instance.oidc.key.added`` event, so it never leaves the server; the public
half is published at ``/oauth/v2/keys``.

The keys are events on the instance aggregate; each command appends with the
instance's sequence it read, so two nodes starting (or rotating) at the same
moment cannot both add a key: the second one's append collides and it reads
the winner's key instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from joserfc.jwk import ECKey

from keyhook.clock import iso, now
from keyhook.command.writer import Writer
from keyhook.config import Settings
from keyhook.domain.caller import Caller
from keyhook.domain.durations import parse_duration
from keyhook.errors import Conflict, field_error
from keyhook.eventstore.store import PendingEvent, current_sequence
from keyhook.storage.connection import Connection

ALGORITHM = "ES256"
CURVE = "P-256"

#: How long a retired key stays published when no lifetime is configured: 12 hours.
#:
#: A token signed by a key can be verified only while the key is in the JWKS,
#: so a retired key must stay published for at least the longest lifetime of a
#: token it signed. Access and ID tokens will live at most 12 hours (ZITADEL's
#: default lifetime, the one issue 4's token endpoint takes); refresh tokens
#: are opaque and never verified against the JWKS. After the window the key
#: drops out of the JWKS by itself (the read side compares ``retired_until``
#: with the current time); nothing has to run.
DEFAULT_PUBLISH_OLD_FOR = 12 * 3600
#: The longest window a rotation accepts (30 days).
MAX_PUBLISH_OLD_FOR = 30 * 24 * 3600


@dataclass(frozen=True)
class NewKey:
    kid: str
    public_jwk: dict[str, Any]
    event: PendingEvent


def _new_key(writer: Writer, instance_id: str) -> NewKey:
    key = ECKey.generate_key(CURVE, private=True)
    kid = key.thumbprint()
    public = {**key.as_dict(private=False), "kid": kid, "alg": ALGORITHM, "use": "sig"}
    private = {**key.as_dict(private=True), "kid": kid, "alg": ALGORITHM, "use": "sig"}
    event = PendingEvent(
        "instance.oidc.key.added",
        "instance",
        instance_id,
        instance_id,
        {
            "keyId": kid,
            "algorithm": ALGORITHM,
            "publicKey": public,
            "sealedPrivateKey": writer.box.seal(orjson.dumps(private).decode()),
        },
    )
    return NewKey(kid, public, event)


async def _active_kids(conn: Connection, instance_id: str) -> list[str]:
    rows = await conn.execute(
        "SELECT id FROM oidc_signing_keys WHERE instance_id = :instance_id AND active "
        "ORDER BY created_at",
        {"instance_id": instance_id},
    )
    return [str(kid) for kid in rows.scalars()]


async def ensure_signing_key(writer: Writer, caller: Caller) -> str | None:
    """Create a signing key if the instance has no active one; the new kid, else None.

    Runs at every start (idempotent): the first start creates the key, later
    starts find it. A concurrent start that created it first wins.
    """
    instance_id = caller.instance_id
    try:
        async with writer.db.write() as conn:
            if await _active_kids(conn, instance_id):
                return None
            sequence = await current_sequence(conn, instance_id, "instance", instance_id)
            key = _new_key(writer, instance_id)
            await writer.commit(
                conn, caller, [key.event], expected={("instance", instance_id): sequence}
            )
            return key.kid
    except Conflict:
        async with writer.db.read() as conn:
            if await _active_kids(conn, instance_id):
                return None
        raise


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


async def rotate_signing_key(
    writer: Writer, caller: Caller, publish_old_for_seconds: float | None = None
) -> dict[str, Any]:
    """Make a new key the signing key; retire the active ones, still published for a while.

    ``publish_old_for_seconds``
    should be at least the lifetime of the tokens the old key signed, so those
    tokens keep verifying until they expire; left out, it is the longest configured
    access or ID token lifetime. Every node signs new tokens with the new key within
    a second (the signer's key cache, ``keyhook.services.oidc_signer``).
    """
    window = publish_window(publish_old_for_seconds, longest_jwt_lifetime(writer.settings))
    instance_id = caller.instance_id
    at = now()
    until: datetime = at + timedelta(seconds=window)
    async with writer.db.write() as conn:
        old = await _active_kids(conn, instance_id)
        sequence = await current_sequence(conn, instance_id, "instance", instance_id)
        key = _new_key(writer, instance_id)
        retired = [
            PendingEvent(
                "instance.oidc.key.retired",
                "instance",
                instance_id,
                instance_id,
                {"keyId": kid, "publishedUntil": iso(until)},
            )
            for kid in old
        ]
        stored = await writer.commit(
            conn,
            caller,
            [*retired, key.event],
            expected={("instance", instance_id): sequence},
            at=at,
        )
    return {
        "keyId": key.kid,
        "algorithm": ALGORITHM,
        "retiredKeyIds": old,
        "retiredKeysPublishedUntil": iso(until) if old else None,
        "changeDate": iso(stored[-1].created_at),
    }
