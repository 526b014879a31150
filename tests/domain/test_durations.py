from __future__ import annotations

import pytest

from keyhook.domain.durations import format_duration, parse_duration
from keyhook.errors import InvalidArgument


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("10s", 10.0),
        ("500ms", 0.5),
        ("1m", 60.0),
        ("2h", 7200.0),
        ("1.5s", 1.5),
        ("0s", 0.0),
        ("0.0000001s", 1e-7),  # the range is the caller's (a target timeout is 1ms or more)
        ("1.000000001s", 1.000000001),
        ("270s", 270.0),
        ("4.5m", 270.0),
    ],
)
def test_parse_duration_reads_number_and_unit(text: str, seconds: float) -> None:
    assert parse_duration(text, "timeout") == pytest.approx(seconds)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "10",
        "s",
        "-1s",
        "+1s",
        "10 seconds",
        "1d",
        "1.s",
        ".5s",
        "ten s",
        "1s2",
        "1e3s",
        "1m30s",
        "1_0s",
        "10S",
        " 3s",
        "3s ",
        "3 s",
        "3s\n",
        "3s\r\n",
        "\t3s",
        "3\u00a0s",  # no-break space
        "\u0661\u0660s",  # Arabic-Indic digits 10
        "\uff11\uff10s",  # fullwidth digits 10
        "\u0967s",  # Devanagari digit 1
        "1.\u0665s",
        "1234567890123s",  # more than 12 digits
        "1.1234567890s",  # more than 9 decimals (nanoseconds)
    ],
)
def test_parse_duration_refuses_malformed_text_naming_the_field(text: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_duration(text, "expirationSigningKey")
    assert caught.value.message.startswith("expirationSigningKey: ")
    assert caught.value.details[0]["field"] == "expirationSigningKey"
    assert "500ms" in caught.value.details[0]["allowed"]
    assert "ASCII digits" in caught.value.details[0]["allowed"]


@pytest.mark.parametrize("text", ["87601h", "5256001m", "999999999999h"])
def test_parse_duration_refuses_more_than_ten_years(text: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_duration(text, "KEYHOOK_RETENTION_DELIVERIES")
    assert caught.value.details[0] == {
        "field": "KEYHOOK_RETENTION_DELIVERIES",
        "problem": f"{text!r} is out of range",
        "allowed": "at most 87600h (10 years)",
    }
    assert parse_duration("87600h", "x") == 87600 * 3600


@pytest.mark.parametrize("value", [10, 1.5, None, True, ["10s"], {"seconds": 10}])
def test_parse_duration_refuses_non_strings(value: object) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_duration(value, "timeout")
    assert caught.value.details[0]["field"] == "timeout"
    assert "must be a string" in caught.value.message
    assert type(value).__name__ in caught.value.message


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (10.0, "10s"),
        (10, "10s"),
        (0.5, "500ms"),
        (0.001, "1ms"),
        (0.0, "0ms"),
        (1.5, "1.5s"),
        (60.0, "60s"),
        (270.0, "270s"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize("seconds", [0.25, 0.7, 1.0, 1.25, 5.0, 30.0, 90.0, 269.5, 3600.0])
def test_format_then_parse_round_trips(seconds: float) -> None:
    assert parse_duration(format_duration(seconds), "timeout") == pytest.approx(seconds)
