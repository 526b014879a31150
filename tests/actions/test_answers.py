from __future__ import annotations

from typing import Any

import orjson
import pytest

from keyhook.actions.answers import Outcome, from_answer, from_failure, modified_message
from keyhook.actions.transport import FailureKind, OutboundResponse, TransportError
from keyhook.domain.target import TargetType

NAME = "crm"
MESSAGE = "Email domain example.org is not allowed"


def answer(status: int, body: Any = None, raw: bytes | None = None) -> Outcome:
    data = raw if raw is not None else (b"" if body is None else orjson.dumps(body))
    return from_answer(NAME, OutboundResponse(status, data))


# --- success -------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [b"", b"   \n", b"null"])
def test_200_without_a_body_is_success(raw: bytes) -> None:
    outcome = answer(200, raw=raw)
    assert outcome.ok
    assert outcome.status_code == 200
    assert outcome.body is None
    assert outcome.error is None


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
def test_any_2xx_with_status_success_is_success(status: int) -> None:
    outcome = answer(status, {"status": "success"})
    assert outcome.ok
    assert outcome.status_code == status
    assert outcome.body == {"status": "success"}


def test_a_forwarded_status_below_400_is_still_success() -> None:
    assert answer(200, {"forwardedStatusCode": 200, "forwardedErrorMessage": ""}).ok


# --- rejections inside a 200 ---------------------------------------------------------


def test_200_with_status_error_is_a_failure_carrying_the_message() -> None:
    outcome = answer(200, {"status": "error", "message": MESSAGE})
    assert not outcome.ok
    assert outcome.error == MESSAGE
    assert outcome.caller_status == 400
    assert outcome.status_code == 200


def test_200_with_status_error_and_no_message_names_the_target() -> None:
    outcome = answer(200, {"status": "error"})
    assert not outcome.ok
    assert outcome.error is not None
    assert repr(NAME) in outcome.error


@pytest.mark.parametrize("forwarded", [400, 403, 409, 422, 451])
def test_forwarded_status_code_and_message(forwarded: int) -> None:
    outcome = answer(200, {"forwardedStatusCode": forwarded, "forwardedErrorMessage": MESSAGE})
    assert not outcome.ok
    assert outcome.caller_status == forwarded
    assert outcome.error == MESSAGE


def test_forwarded_5xx_becomes_502() -> None:
    outcome = answer(200, {"forwardedStatusCode": 503, "forwardedErrorMessage": MESSAGE})
    assert not outcome.ok
    assert outcome.caller_status == 502
    assert outcome.error == MESSAGE


# --- non-2xx -------------------------------------------------------------------------


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422, 429])
def test_4xx_gives_the_caller_that_status_and_the_message_verbatim(status: int) -> None:
    outcome = answer(status, {"status": "error", "message": MESSAGE})
    assert not outcome.ok
    assert outcome.status_code == status
    assert outcome.caller_status == status
    assert outcome.error == MESSAGE


def test_4xx_message_is_not_altered_or_trimmed() -> None:
    message = '  Ünïcode <b>and</b> "quotes" — kept as is  '
    assert answer(403, {"message": message}).error == message


def test_4xx_without_a_readable_body_names_the_target_and_status() -> None:
    outcome = answer(422, raw=b"<html>nope</html>")
    assert not outcome.ok
    assert outcome.caller_status == 422
    assert outcome.error is not None
    assert repr(NAME) in outcome.error
    assert "422" in outcome.error


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_becomes_502(status: int) -> None:
    outcome = answer(status, {"message": "database down"})
    assert not outcome.ok
    assert outcome.status_code == status
    assert outcome.caller_status == 502
    assert outcome.error == "database down"
    assert answer(status, raw=b"Internal Server Error").caller_status == 502


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_a_failure_and_never_followed(status: int) -> None:
    outcome = answer(status, raw=b"<a href='https://elsewhere'>moved</a>")
    assert not outcome.ok
    assert outcome.caller_status == 502
    assert outcome.error is not None
    assert "redirect" in outcome.error
    assert "never followed" in outcome.error


@pytest.mark.parametrize("raw", [b"OK", b"<html></html>", b"{not json", b'{"status":'])
def test_200_with_a_body_that_is_not_json_is_a_failure(raw: bytes) -> None:
    outcome = answer(200, raw=raw)
    assert not outcome.ok
    assert outcome.caller_status == 502
    assert outcome.error is not None
    assert "not JSON" in outcome.error


# --- no answer at all ----------------------------------------------------------------


def test_a_timeout_becomes_504() -> None:
    outcome = from_failure(NAME, TransportError("timeout", "no answer within 5s"))
    assert not outcome.ok
    assert outcome.status_code is None
    assert outcome.caller_status == 504
    assert outcome.error is not None
    assert "no answer within 5s" in outcome.error
    assert repr(NAME) in outcome.error


@pytest.mark.parametrize("kind", ["connect", "too_large", "policy", "protocol"])
def test_other_transport_failures_become_502(kind: FailureKind) -> None:
    outcome = from_failure(NAME, TransportError(kind, "cannot connect"))
    assert not outcome.ok
    assert outcome.caller_status == 502
    assert outcome.error == f"target {NAME!r}: cannot connect"


# --- modified messages ---------------------------------------------------------------

NEW_REQUEST = {"user": {"userName": "changed", "metadata": [{"key": "k", "value": "v"}]}}


@pytest.mark.parametrize("target_type", [TargetType.REST_WEBHOOK, TargetType.REST_CALL])
def test_seed_wrapped_form_modifies_for_webhook_and_call(target_type: TargetType) -> None:
    outcome = answer(200, {"status": "success", "request": NEW_REQUEST})
    assert modified_message(outcome, "request", target_type) == NEW_REQUEST
    response_outcome = answer(200, {"status": "success", "response": {"userId": "9"}})
    assert modified_message(response_outcome, "response", target_type) == {"userId": "9"}


def test_wrapped_member_for_the_other_direction_is_not_applied_to_webhooks() -> None:
    outcome = answer(200, {"status": "success", "response": {"userId": "9"}})
    assert modified_message(outcome, "request", TargetType.REST_WEBHOOK) is None


def test_bare_form_modifies_for_rest_call_only() -> None:
    outcome = answer(200, NEW_REQUEST)
    assert modified_message(outcome, "request", TargetType.REST_CALL) == NEW_REQUEST
    assert modified_message(outcome, "request", TargetType.REST_WEBHOOK) is None


@pytest.mark.parametrize("target_type", [TargetType.REST_WEBHOOK, TargetType.REST_CALL])
@pytest.mark.parametrize(
    "body",
    [None, {}, {"status": "success"}, {"status": "success", "message": "fine"}, [1, 2], "text"],
)
def test_answers_without_a_new_message_modify_nothing(target_type: TargetType, body: Any) -> None:
    outcome = answer(200, body)
    assert outcome.ok
    assert modified_message(outcome, "request", target_type) is None
