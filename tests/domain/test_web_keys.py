"""Web key types, ID token algorithms, at_hash per algorithm, project audience scopes."""

from __future__ import annotations

import base64
import hashlib

import pytest

from keyhook.domain.oidc import at_hash, project_audiences
from keyhook.domain.web_keys import (
    ALGORITHMS,
    KeySpec,
    check_algorithm,
    key_spec,
    spec_for_algorithm,
    spec_from_config,
)
from keyhook.errors import InvalidArgument


def test_no_type_is_rsa_2048_with_sha256_as_in_zitadel() -> None:
    assert key_spec() == KeySpec("rsa", "RS256", bits=2048)
    assert key_spec(rsa={}) == KeySpec("rsa", "RS256", bits=2048)
    assert key_spec(rsa={"bits": "RSA_BITS_UNSPECIFIED", "hasher": 0}).algorithm == "RS256"


@pytest.mark.parametrize(
    ("given", "algorithm"),
    [
        ({"rsa": {"bits": "RSA_BITS_4096", "hasher": "RSA_HASHER_SHA512"}}, "RS512"),
        ({"rsa": {"bits": 2, "hasher": "2"}}, "RS384"),
        ({"ecdsa": {}}, "ES256"),
        ({"ecdsa": {"curve": "ECDSA_CURVE_P512"}}, "ES512"),
        ({"ed25519": {}}, "EdDSA"),
    ],
)
def test_a_type_round_trips_through_its_wire_form(
    given: dict[str, dict[str, object]], algorithm: str
) -> None:
    spec = spec_from_config(given)
    assert spec.algorithm == algorithm
    assert spec_from_config(spec.config()) == spec


def test_every_algorithm_has_a_key_type_made_for_it() -> None:
    for algorithm in ALGORITHMS:
        assert spec_for_algorithm(algorithm).algorithm == algorithm
    assert spec_for_algorithm("ES512").curve == "P-521"


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"rsa": {"bits": "RSA_BITS_1024"}}, "rsa.bits"),
        ({"rsa": {"bits": 9}}, "rsa.bits"),
        ({"ecdsa": {"curve": "P-256"}}, "ecdsa.curve"),
    ],
)
def test_unknown_enums_name_the_field_and_the_names_allowed(
    given: dict[str, dict[str, object]], field: str
) -> None:
    with pytest.raises(InvalidArgument) as raised:
        spec_from_config(given)
    assert raised.value.details[0]["field"] == field
    assert "_" in str(raised.value.details[0]["allowed"])


def test_an_id_token_algorithm_is_checked() -> None:
    assert check_algorithm("f", None) is None and check_algorithm("f", "") is None
    assert check_algorithm("f", "EdDSA") == "EdDSA"
    with pytest.raises(InvalidArgument):
        check_algorithm("f", "HS256")
    with pytest.raises(InvalidArgument):
        check_algorithm("f", "none")


@pytest.mark.parametrize(
    ("algorithm", "digest"),
    [
        ("RS256", hashlib.sha256),
        ("ES256", hashlib.sha256),
        ("RS384", hashlib.sha384),
        ("ES512", hashlib.sha512),
        ("EdDSA", hashlib.sha512),  # OpenID Connect's rule for Ed25519
    ],
)
def test_at_hash_uses_the_id_token_algorithms_hash(algorithm: str, digest: object) -> None:
    token = "an-access-token"
    full = digest(token.encode()).digest()  # type: ignore[operator]
    expected = base64.urlsafe_b64encode(full[: len(full) // 2]).rstrip(b"=").decode()
    assert at_hash(token, algorithm) == expected


def test_project_audience_scopes_give_project_ids_in_order_once() -> None:
    scopes = [
        "openid",
        "urn:zitadel:iam:org:project:id:111:aud",
        "urn:zitadel:iam:org:project:id:zitadel:aud",  # the API's: handled apart
        "urn:zitadel:iam:org:project:id:222:aud",
        "urn:zitadel:iam:org:project:id:111:aud",
        "urn:zitadel:iam:org:project:id::aud",
        "urn:zitadel:iam:org:project:id:333:roles",
    ]
    assert project_audiences(scopes) == ["111", "222"]
