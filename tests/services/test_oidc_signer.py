"""The provider's JWT signatures: ES256 signed directly, checked by an independent verifier."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import jwt as pyjwt
import orjson
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from joserfc import jwt
from joserfc.jwk import KeySet

from keyhook.bootstrap import Core, assemble
from keyhook.command.oidc_keys import (
    activate_web_key,
    create_web_key,
    ensure_algorithm_key,
    rotate_signing_key,
)
from keyhook.config import from_environment
from keyhook.domain.caller import Caller
from keyhook.domain.web_keys import spec_from_config
from keyhook.query.oidc_keys import published_jwks
from keyhook.services.oidc_signer import KEY_TTL, InvalidToken, TokenSigner


@pytest.fixture
async def core(tmp_path: Path) -> AsyncIterator[Core]:
    assembled = await assemble(from_environment({}, data_dir=tmp_path, dev=True))
    yield assembled
    await assembled.stop()


def _part(token: str, index: int) -> bytes:
    piece = token.split(".")[index]
    return base64.urlsafe_b64decode(piece + "=" * (-len(piece) % 4))


async def test_an_es256_token_verifies_with_joserfc_and_with_the_raw_public_key(
    core: Core,
) -> None:
    signer = TokenSigner(core.db, core.writer.box)
    claims = {"iss": "https://id.example", "sub": "42", "exp": 4_102_444_800, "nested": [1, "ü"]}
    token = await signer.sign(claims, typ="at+jwt")
    assert "=" not in token and token.count(".") == 2
    header = orjson.loads(_part(token, 0))
    assert header["alg"] == "ES256" and header["typ"] == "at+jwt" and header["kid"]

    keys = KeySet.import_key_set(await published_jwks(core.db))  # type: ignore[arg-type]
    assert dict(jwt.decode(token, keys, algorithms=["ES256"]).claims) == claims

    # The signature itself, checked with nothing of joserfc: r || s over header.claims.
    public = keys.get_by_kid(header["kid"]).public_key
    assert isinstance(public, ec.EllipticCurvePublicKey)
    signature = _part(token, 2)
    assert len(signature) == 64
    der = encode_dss_signature(
        int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    )
    signing_input = token.rsplit(".", 1)[0].encode()
    public.verify(der, signing_input, ec.ECDSA(hashes.SHA256()))

    assert await signer.verify(token, typ="at+jwt") == claims
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.raises(InvalidToken):
        await signer.verify(tampered)


async def test_claims_orjson_cannot_encode_are_still_signed(core: Core) -> None:
    signer = TokenSigner(core.db, core.writer.box)
    claims = {"sub": "42", "exp": 4_102_444_800, "big": 2**70}
    token = await signer.sign(claims)
    assert (await signer.verify(token))["big"] == 2**70


async def test_a_verified_token_is_remembered_by_its_exact_text(
    core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    signer = TokenSigner(core.db, core.writer.box)
    claims = {"sub": "42", "exp": 4_102_444_800}
    token = await signer.sign(claims, typ="at+jwt")
    decoded: list[str] = []
    real_decode = jwt.decode

    def counting_decode(value: str, *args: Any, **kwargs: Any) -> Any:
        decoded.append(value)
        return real_decode(value, *args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counting_decode)  # the module oidc_signer calls
    assert await signer.verify(token, typ="at+jwt") == claims
    again = await signer.verify(token, typ="at+jwt")
    assert again == claims and decoded == [token], "the second time from memory"
    again["sub"] = "changed by a caller"
    assert (await signer.verify(token))["sub"] == "42", "callers get copies"
    with pytest.raises(InvalidToken, match="not of type JWT"):
        await signer.verify(token, typ="JWT")  # the remembered header type still counts
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.raises(InvalidToken):
        await signer.verify(tampered)
    assert decoded == [token, tampered]


async def test_a_remembered_token_still_expires(core: Core) -> None:
    signer = TokenSigner(core.db, core.writer.box)
    token = await signer.sign({"sub": "42", "exp": int(time.time()) + 1})
    await signer.verify(token)
    await asyncio.sleep(max(0.0, int(time.time()) + 1.05 - time.time()))
    with pytest.raises(InvalidToken, match="expired"):
        await signer.verify(token)


async def test_a_remembered_token_stops_verifying_when_its_key_is_no_longer_published(
    core: Core,
) -> None:
    signer = TokenSigner(core.db, core.writer.box)
    token = await signer.sign({"sub": "42", "exp": 4_102_444_800})
    await signer.verify(token)
    async with core.db.read() as conn:
        row = (await conn.execute("SELECT * FROM instances")).one()
    admin = Caller(row.id, row.admin_user_id, row.default_org_id, row.default_org_id)
    await rotate_signing_key(core.writer, admin, publish_old_for_seconds=0)
    await asyncio.sleep(KEY_TTL + 0.1)  # the published key set is re-read after this
    with pytest.raises(InvalidToken):
        await signer.verify(token)


ALGORITHM_KEYS = [
    ("RS256", {"rsa": {}}),
    ("RS384", {"rsa": {"hasher": "RSA_HASHER_SHA384"}}),
    ("RS512", {"rsa": {"hasher": "RSA_HASHER_SHA512"}}),
    ("ES256", {"ecdsa": {}}),
    ("ES384", {"ecdsa": {"curve": "ECDSA_CURVE_P384"}}),
    ("ES512", {"ecdsa": {"curve": "ECDSA_CURVE_P512"}}),
    ("EdDSA", {"ed25519": {}}),
]


@pytest.mark.parametrize(("algorithm", "config"), ALGORITHM_KEYS)
async def test_every_algorithm_signed_directly_verifies_with_pyjwt(
    core: Core, algorithm: str, config: dict[str, Any]
) -> None:
    """The direct signatures (no joserfc) checked by PyJWT, an independent verifier, with
    the published key: PKCS #1 v1.5 for RSA, r || s of the curve's size for ECDSA
    (66 bytes each for P-521), Ed25519's 64 bytes."""
    system = await _system(core)
    kid = (await create_web_key(core.writer, system, spec_from_config(config)))["id"]
    await activate_web_key(core.writer, system, kid)
    signer = TokenSigner(core.db, core.writer.box)
    claims = {"iss": "https://id.example", "sub": "42", "exp": 4_102_444_800, "n": "ü"}
    token = await signer.sign(claims)
    header = orjson.loads(_part(token, 0))
    assert header == {"alg": algorithm, "kid": kid, "typ": "JWT"}
    public = {k["kid"]: k for k in (await published_jwks(core.db))["keys"]}[kid]
    assert public["alg"] == algorithm
    decoded = pyjwt.decode(token, pyjwt.PyJWK.from_dict(public).key, algorithms=[algorithm])
    assert decoded == claims
    assert await signer.verify(token) == claims
    if algorithm == "ES512":
        assert len(_part(token, 2)) == 132


async def test_an_algorithm_without_a_key_gets_one_made_and_published(core: Core) -> None:
    """An ID token in RS256 while the active key is ES256: the signer asks for a key of
    that algorithm (initial: published, not the signing key), once."""
    system = await _system(core)
    made: list[str] = []

    async def make_key(algorithm: str) -> str:
        made.append(algorithm)
        return await ensure_algorithm_key(core.writer, system, algorithm)

    signer = TokenSigner(core.db, core.writer.box, make_key)
    active = await signer.key()
    assert active.algorithm == "ES256" and active.active
    rs256 = await signer.key("RS256")
    assert rs256.algorithm == "RS256" and not rs256.active
    assert made == ["RS256"]
    assert (await signer.key("RS256")).kid == rs256.kid and made == ["RS256"]
    assert (await signer.key("ES256")).kid == active.kid  # the active key, not another
    token = await signer.sign({"sub": "1", "exp": 4_102_444_800}, algorithm="RS256")
    assert orjson.loads(_part(token, 0))["kid"] == rs256.kid
    assert rs256.kid in {k["kid"] for k in (await published_jwks(core.db))["keys"]}
    # The key made is initial: the access tokens are still signed by the active key.
    assert orjson.loads(_part(await signer.sign({"sub": "1"}), 0))["kid"] == active.kid


async def _system(core: Core) -> Caller:
    async with core.db.read() as conn:
        row = (await conn.execute("SELECT id, default_org_id FROM instances")).one()
    return Caller(row.id, "system", row.default_org_id, row.default_org_id)
