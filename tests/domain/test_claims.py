"""What a function execution's answer may add to a token, and what it may not."""

from __future__ import annotations

import pytest

from keyhook.domain.claims import Complement, log_claim, metadata_text


def test_seed_and_zitadel_forms_add_claims_and_reserved_ones_are_logged() -> None:
    complement = Complement()
    complement.absorb(
        "crm",
        {
            "status": "success",
            "claims": {"department": "R&D", "sub": "someone-else"},
            "append_claims": [{"key": "tier", "value": "gold"}, {"key": "iss", "value": "x"}],
            "append_log_claims": ["looked up the CRM"],
        },
    )
    assert complement.claims == {"department": "R&D", "tier": "gold"}
    log = complement.logs[log_claim("crm")]
    assert "looked up the CRM" in log
    assert any("'sub' is reserved" in line for line in log)
    assert any("'iss' is reserved" in line for line in log)


def test_zitadel_go_receivers_metadata_in_capitals_and_base64() -> None:
    complement = Complement()
    complement.absorb(
        "go",
        {
            "set_user_metadata": [
                {"Key": "key", "Value": "dmFsdWU="},
                {"key": "plain", "value": "portal"},
                {"Key": "", "Value": "eA=="},
            ]
        },
    )
    assert complement.metadata == [("key", "value"), ("plain", "portal")]
    assert any("metadata item ignored" in line for line in complement.logs[log_claim("go")])


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("dmFsdWU=", "value"),  # base64 of text: ZITADEL's []byte
        ("w6k=", "é"),
        ("portal", "portal"),  # not base64: taken as written
        ("gold", "gold"),  # base64 of bytes that are not text
        ("AAAA", "AAAA"),  # base64 of control characters
        ("", ""),
    ],
)
def test_metadata_values_are_base64_when_they_can_be(given: str, stored: str) -> None:
    assert metadata_text(given) == stored


def test_a_later_function_wins_and_logs_add_up() -> None:
    first, second = Complement(), Complement()
    first.absorb("a", {"claims": {"x": 1}, "append_log_claims": ["one"]})
    second.absorb("a", {"claims": {"x": 2}, "append_log_claims": ["two"]})
    first.merge(second)
    assert first.claims == {"x": 2}
    assert first.token_claims()[log_claim("a")] == ["one", "two"]


@pytest.mark.parametrize("name", ["client_id", "scope", "amr", "acr", "typ", "cnf", "act"])
def test_claims_that_say_who_or_what_a_token_allows_are_reserved(name: str) -> None:
    complement = Complement()
    complement.absorb("t", {"claims": {name: "x"}})
    assert complement.claims == {}


def test_metadata_with_nul_is_refused_and_logged() -> None:
    complement = Complement()
    complement.absorb(
        "crm",
        {
            "set_user_metadata": [
                {"key": "ok", "value": "fine"},
                {"key": "bad", "value": "a\x00b"},
                {"key": "k\x00", "value": "v"},
            ]
        },
    )
    assert complement.metadata == [("ok", "fine")]
    refusals = [line for line in complement.logs[log_claim("crm")] if "NUL" in line]
    assert len(refusals) == 2
