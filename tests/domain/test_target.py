from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from keyhook.domain.target import (
    MAX_HEADERS,
    SigningKey,
    Target,
    TargetType,
    format_timeout,
    parse_target_type,
    validate_headers,
    validate_name,
    validate_timeout,
)
from keyhook.errors import InvalidArgument

# --- parse_target_type ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"restWebhook": {}}, (TargetType.REST_WEBHOOK, False)),
        ({"restWebhook": {"interruptOnError": True}}, (TargetType.REST_WEBHOOK, True)),
        ({"restCall": {"interruptOnError": False}}, (TargetType.REST_CALL, False)),
        ({"restCall": {"interruptOnError": True}}, (TargetType.REST_CALL, True)),
        ({"restAsync": {}}, (TargetType.REST_ASYNC, False)),
        ({"restAsync": {"interruptOnError": False}}, (TargetType.REST_ASYNC, False)),
        ({"restWebhook": {}, "restCall": None, "name": "x"}, (TargetType.REST_WEBHOOK, False)),
    ],
)
def test_parse_target_type(body: dict[str, object], expected: tuple[TargetType, bool]) -> None:
    assert parse_target_type(body) == expected


def test_no_target_type_is_missing() -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_target_type({"name": "x", "endpoint": "https://example.com"})
    assert caught.value.details[0]["field"] == "targetType"
    assert "missing" in caught.value.message
    assert "restAsync" in caught.value.details[0]["allowed"]


def test_two_target_types_are_refused_and_named() -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_target_type({"restWebhook": {}, "restAsync": {}})
    assert caught.value.details[0]["field"] == "targetType"
    assert "2 types" in caught.value.message
    assert "restWebhook" in caught.value.message
    assert "restAsync" in caught.value.message


def test_unknown_rest_type_is_refused_by_its_name() -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_target_type({"restFoo": {}})
    assert caught.value.details[0]["field"] == "restFoo"
    assert "not a target type" in caught.value.message
    # Even alongside a valid type.
    with pytest.raises(InvalidArgument):
        parse_target_type({"restWebhook": {}, "restFoo": {}})


def test_rest_async_with_interrupt_on_error_is_refused() -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_target_type({"restAsync": {"interruptOnError": True}})
    assert caught.value.details[0]["field"] == "restAsync.interruptOnError"
    assert "restWebhook or restCall" in caught.value.details[0]["allowed"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"restWebhook": True}, "restWebhook"),
        ({"restCall": []}, "restCall"),
        ({"restWebhook": {"interruptOnError": "true"}}, "restWebhook.interruptOnError"),
        ({"restCall": {"interruptOnError": 1}}, "restCall.interruptOnError"),
    ],
)
def test_malformed_type_options_name_the_field(body: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_target_type(body)
    assert caught.value.details[0]["field"] == field


# --- timeout and name ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1ms", 0.001), ("10s", 10.0), ("270s", 270.0), ("4.5m", 270.0), ("270000ms", 270.0)],
)
def test_timeouts_within_bounds(text: str, seconds: float) -> None:
    assert validate_timeout(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "text", ["0s", "0ms", "0.0000001s", "0.9ms", "270001ms", "271s", "5m", "1h"]
)
def test_timeouts_out_of_bounds_are_refused(text: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        validate_timeout(text)
    assert caught.value.details[0]["field"] == "timeout"
    assert caught.value.details[0]["allowed"] == "at least 1ms, at most 270s"


@pytest.mark.parametrize("value", [10, None, "ten seconds", "-5s"])
def test_malformed_timeouts_name_the_field(value: object) -> None:
    with pytest.raises(InvalidArgument) as caught:
        validate_timeout(value)
    assert caught.value.details[0]["field"] == "timeout"


def test_format_timeout_round_trips() -> None:
    for text in ("500ms", "10s", "270s"):
        assert format_timeout(validate_timeout(text)) == text


def test_validate_name() -> None:
    assert validate_name("  my target ") == "my target"
    for bad in ("", "   ", None, 5, "x" * 201):
        with pytest.raises(InvalidArgument) as caught:
            validate_name(bad)
        assert caught.value.details[0]["field"] == "name"


# --- headers -------------------------------------------------------------------------


def test_headers_absent_or_valid() -> None:
    assert validate_headers(None) == {}
    headers = {"Authorization": "Bearer abc", "X-Tenant": "acme", "x-empty": ""}
    assert validate_headers(headers) == headers


@pytest.mark.parametrize(
    "name",
    [
        "X-Zitadel-Signature",
        "ZITADEL-Signature",
        "webhook-id",
        "Webhook-Timestamp",
        "WEBHOOK-SIGNATURE",
        "Content-Type",
        "content-length",
        "Host",
        "User-Agent",
        "traceparent",
        "Transfer-Encoding",
        "Connection",
    ],
)
def test_reserved_headers_are_refused_in_any_case(name: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        validate_headers({name: "forged"})
    assert caught.value.details[0]["field"] == f"headers.{name}"
    assert "set by Keyhook" in caught.value.message


@pytest.mark.parametrize(
    "value", ["a\r\nX-Injected: 1", "line\nbreak", "carriage\rreturn", 5, None, "x" * 8193]
)
def test_header_values_must_be_single_line_strings(value: object) -> None:
    with pytest.raises(InvalidArgument) as caught:
        validate_headers({"X-Custom": value})
    assert caught.value.details[0]["field"] == "headers.X-Custom"


@pytest.mark.parametrize("name", ["", "Bad Name", "Bad:Name", "Bad\nName", "ü", "x" * 65])
def test_invalid_header_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        validate_headers({name: "v"})
    assert "not a valid header name" in caught.value.message


def test_too_many_headers_are_refused() -> None:
    assert len(validate_headers({f"X-H{i}": "v" for i in range(MAX_HEADERS)})) == MAX_HEADERS
    with pytest.raises(InvalidArgument) as caught:
        validate_headers({f"X-H{i}": "v" for i in range(MAX_HEADERS + 1)})
    assert caught.value.details[0]["field"] == "headers"
    assert str(MAX_HEADERS) in caught.value.message


def test_headers_must_be_an_object() -> None:
    with pytest.raises(InvalidArgument):
        validate_headers([("X-A", "b")])


# --- signing keys during rotation ----------------------------------------------------

NOW = datetime(2026, 1, 10, 10, 30, tzinfo=UTC)


def target_with(*keys: SigningKey) -> Target:
    return Target(
        id="1",
        name="t",
        endpoint="https://example.com",
        timeout=10.0,
        type=TargetType.REST_WEBHOOK,
        interrupt_on_error=False,
        signing_keys=keys,
    )


def test_valid_keys_is_the_current_key_alone_without_rotation() -> None:
    assert target_with(SigningKey("whsec_current")).valid_keys(NOW) == ["whsec_current"]


def test_valid_keys_during_rotation_old_first_current_last_expired_dropped() -> None:
    target = target_with(
        SigningKey("whsec_current"),
        SigningKey("whsec_later", NOW + timedelta(hours=2)),
        SigningKey("whsec_expired", NOW - timedelta(seconds=1)),
        SigningKey("whsec_sooner", NOW + timedelta(minutes=5)),
    )
    assert target.valid_keys(NOW) == ["whsec_sooner", "whsec_later", "whsec_current"]
    # Five minutes on, the sooner key has expired too (expiry is exclusive).
    assert target.valid_keys(NOW + timedelta(minutes=5)) == ["whsec_later", "whsec_current"]
    assert target.valid_keys(NOW + timedelta(days=1)) == ["whsec_current"]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("a\x7fb", "'\\x7f'"),
        ("esc\x1b[31m", "'\\x1b'"),
        ("nul\x00", "'\\x00'"),
        ("bell\x07", "'\\x07'"),
        ("c1\x85", "'\\x85'"),
    ],
)
def test_header_values_are_rfc_9110_field_values(value: str, shown: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        validate_headers({"X-Api-Key": value})
    assert caught.value.details[0]["field"] == "headers.X-Api-Key"
    assert "no control characters" in caught.value.details[0]["allowed"]
    assert shown in caught.value.message  # the offending character, never the value


@pytest.mark.parametrize("value", [" leading", "trailing ", "\tx"])
def test_header_values_have_no_surrounding_whitespace(value: str) -> None:
    with pytest.raises(InvalidArgument):
        validate_headers({"X-Api-Key": value})


def test_header_values_may_hold_inner_spaces_tabs_and_non_ascii() -> None:
    # RFC 9110's obs-text: non-ASCII is allowed (and sent as UTF-8), as it was before.
    headers = {"Authorization": "Bearer a.b-c_d~e", "X-List": "a, b\tc", "X-Name": "José 日本"}
    assert validate_headers(headers) == headers


@pytest.mark.parametrize(
    "name",
    [
        "Te",
        "Upgrade",
        "Expect",
        "Proxy-Authorization",
        "Content-Encoding",
        "Accept-Encoding",
        "keep-alive",
        "Trailer",
        "Range",
    ],
)
def test_semantic_headers_are_refused(name: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        validate_headers({name: "x"})
    assert caught.value.details[0]["field"] == f"headers.{name}"
    assert "how the call is sent" in caught.value.message


def test_same_origin_is_scheme_host_and_port() -> None:
    from keyhook.domain.target import same_origin

    assert same_origin("https://a.example.com/x", "https://A.example.com:443/y?z=1")
    assert same_origin("http://127.0.0.1/x", "http://127.0.0.1:80/")
    assert not same_origin("https://a.example.com/x", "http://a.example.com/x")
    assert not same_origin("https://a.example.com/x", "https://a.example.com:8443/x")
    assert not same_origin("https://a.example.com/x", "https://b.example.com/x")
    assert not same_origin("https://a.example.com:99999/x", "https://a.example.com/x")
