from __future__ import annotations

from collections.abc import Sequence

import pytest

from keyhook.domain.events import EVENT_TYPES, event_groups
from keyhook.domain.execution import (
    FUNCTIONS,
    Condition,
    Kind,
    match_event,
    match_function,
    match_method,
    parse_condition,
    service_of,
)
from keyhook.errors import InvalidArgument, NotFound

ACTION_SERVICE = "zitadel.action.v2.ActionService"
USER_SERVICE = "zitadel.user.v2.UserService"
ADD_HUMAN = f"/{USER_SERVICE}/AddHumanUser"
LOCK_USER = f"/{USER_SERVICE}/LockUser"
SESSION_SERVICE = "zitadel.session.v2.SessionService"
CREATE_SESSION = f"/{SESSION_SERVICE}/CreateSession"
CREATE_TARGET = f"/{ACTION_SERVICE}/CreateTarget"
METHODS = frozenset({ADD_HUMAN, LOCK_USER, CREATE_SESSION, CREATE_TARGET})
SERVICES = frozenset({USER_SERVICE, SESSION_SERVICE, ACTION_SERVICE})
EVENTS = frozenset(EVENT_TYPES)
GROUPS = frozenset(event_groups())


def parse(raw: object) -> Condition:
    return parse_condition(raw, methods=METHODS, services=SERVICES, events=EVENTS, groups=GROUPS)


# --- parse_condition -----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["request", "response"])
def test_parse_request_and_response_selectors(kind: Kind) -> None:
    assert parse({kind: {"method": ADD_HUMAN}}) == Condition(kind, "method", ADD_HUMAN)
    assert parse({kind: {"service": USER_SERVICE}}) == Condition(kind, "service", USER_SERVICE)
    assert parse({kind: {"all": True}}) == Condition(kind, "all", "")


def test_parse_function_and_event_selectors() -> None:
    for name in FUNCTIONS:
        assert parse({"function": {"name": name}}) == Condition("function", "name", name)
    assert parse({"event": {"event": "user.locked"}}) == Condition("event", "event", "user.locked")
    assert parse({"event": {"group": "user"}}) == Condition("event", "group", "user")
    assert parse({"event": {"group": "user.human.*"}}) == Condition("event", "group", "user.human")
    assert parse({"event": {"all": True}}) == Condition("event", "all", "")


@pytest.mark.parametrize(
    "raw",
    [
        {"request": {"method": ADD_HUMAN}},
        {"response": {"service": USER_SERVICE}},
        {"request": {"all": True}},
        {"function": {"name": "preuserinfo"}},
        {"event": {"event": "user.locked"}},
        {"event": {"group": "user.human"}},
        {"event": {"all": True}},
    ],
)
def test_condition_round_trips_through_key_and_wire(raw: dict[str, object]) -> None:
    condition = parse(raw)
    assert Condition.from_key(condition.key) == condition
    assert condition.to_wire() == raw


def test_method_value_with_colons_survives_the_key() -> None:
    condition = Condition("request", "method", "/a.b/C:D")
    assert Condition.from_key(condition.key) == condition


@pytest.mark.parametrize(
    ("raw", "what", "listed", "hint"),
    [
        ({"request": {"method": "/x.Y/Nope"}}, "method", ADD_HUMAN, "executions/methods"),
        ({"response": {"service": "x.Nope"}}, "service", USER_SERVICE, "executions/services"),
        ({"function": {"name": "nope"}}, "function", "complement_token", "executions/functions"),
        ({"event": {"event": "user.exploded"}}, "event", "user.locked", "executions/events"),
        ({"event": {"group": "nope"}}, "group", "user.human", "executions/events"),
    ],
)
def test_unknown_names_are_not_found_and_list_the_valid_ones(
    raw: dict[str, object], what: str, listed: str, hint: str
) -> None:
    with pytest.raises(NotFound) as caught:
        parse(raw)
    assert f"{what} " in caught.value.message
    assert "does not exist" in caught.value.message
    assert listed in caught.value.message
    assert caught.value.details[0]["field"] == what
    assert hint in caught.value.details[0]["allowed"]


def test_long_lists_of_valid_values_are_shortened() -> None:
    many = frozenset(f"/svc.S/M{i:03d}" for i in range(100))
    with pytest.raises(NotFound) as caught:
        parse_condition(
            {"request": {"method": "/svc.S/Nope"}},
            methods=many,
            services=SERVICES,
            events=EVENTS,
            groups=GROUPS,
        )
    assert "/svc.S/M000" in caught.value.message
    assert "/svc.S/M099" not in caught.value.message
    assert "100 in all" in caught.value.message


@pytest.mark.parametrize(
    ("raw", "field", "allowed"),
    [
        ({}, "condition", None),
        ("request", "condition", None),
        ({"request": {"all": True}, "event": {"all": True}}, "condition", None),
        ({"webhook": {"all": True}}, "condition", "request, response, function, event"),
        ({"request": {}}, "condition.request", "method, service, all"),
        ({"request": {"method": ADD_HUMAN, "all": True}}, "condition.request", None),
        ({"request": "all"}, "condition.request", None),
        ({"request": {"all": False}}, "condition.request.all", None),
        ({"event": {"all": "yes"}}, "condition.event.all", None),
        ({"request": {"method": ""}}, "condition.request.method", "method, service, all"),
        ({"request": {"method": 7}}, "condition.request.method", None),
        ({"request": {"event": "user.locked"}}, "condition.request.event", "method, service, all"),
        ({"response": {"name": "complement_token"}}, "condition.response.name", None),
        ({"function": {"event": "user.locked"}}, "condition.function.event", "name"),
        ({"function": {"all": True}}, "condition.function.all", "name"),
        ({"event": {"method": ADD_HUMAN}}, "condition.event.method", "event, group, all"),
    ],
)
def test_malformed_conditions_name_the_field_and_the_valid_selectors(
    raw: object, field: str, allowed: str | None
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse(raw)
    assert caught.value.details[0]["field"] == field
    if allowed is not None:
        assert caught.value.details[0]["allowed"] == allowed
        assert allowed in caught.value.message


# --- best match ----------------------------------------------------------------------


def executions(*pairs: tuple[Condition, Sequence[str]]) -> dict[str, Sequence[str]]:
    return {condition.key: tuple(ids) for condition, ids in pairs}


def test_service_of() -> None:
    assert service_of(ADD_HUMAN) == USER_SERVICE
    assert service_of("zitadel.user.v2.UserService/AddHumanUser") == USER_SERVICE


@pytest.mark.parametrize("kind", ["request", "response"])
def test_method_beats_service_beats_all(kind: Kind) -> None:
    table = executions(
        (Condition(kind, "method", ADD_HUMAN), ["m"]),
        (Condition(kind, "service", USER_SERVICE), ["s"]),
        (Condition(kind, "all", ""), ["a"]),
    )
    assert list(match_method(table, kind, ADD_HUMAN)) == ["m"]
    assert list(match_method(table, kind, LOCK_USER)) == ["s"]
    assert list(match_method(table, kind, CREATE_SESSION)) == ["a"]


def test_request_and_response_executions_do_not_mix() -> None:
    table = executions((Condition("request", "method", ADD_HUMAN), ["req"]))
    assert list(match_method(table, "request", ADD_HUMAN)) == ["req"]
    assert list(match_method(table, "response", ADD_HUMAN)) == []


def test_no_execution_matches_nothing() -> None:
    assert list(match_method({}, "request", ADD_HUMAN)) == []
    assert list(match_event({}, "user.locked")) == []
    assert list(match_function({}, "complement_token")) == []


def test_target_order_is_kept() -> None:
    table = executions((Condition("request", "method", ADD_HUMAN), ["t3", "t1", "t2"]))
    assert list(match_method(table, "request", ADD_HUMAN)) == ["t3", "t1", "t2"]


@pytest.mark.parametrize("kind", ["request", "response"])
def test_action_service_is_never_matched_by_all(kind: Kind) -> None:
    table = executions((Condition(kind, "all", ""), ["a"]))
    assert list(match_method(table, kind, CREATE_TARGET)) == []
    assert list(match_method(table, kind, ADD_HUMAN)) == ["a"]


def test_action_service_is_matched_by_its_own_method_or_service() -> None:
    by_service = executions(
        (Condition("request", "service", ACTION_SERVICE), ["s"]),
        (Condition("request", "all", ""), ["a"]),
    )
    assert list(match_method(by_service, "request", CREATE_TARGET)) == ["s"]
    by_method = executions(
        (Condition("response", "method", CREATE_TARGET), ["m"]),
        (Condition("response", "all", ""), ["a"]),
    )
    assert list(match_method(by_method, "response", CREATE_TARGET)) == ["m"]


def test_event_beats_deepest_group_beats_all() -> None:
    table = executions(
        (Condition("event", "event", "user.human.password.changed"), ["e"]),
        (Condition("event", "group", "user.human"), ["human"]),
        (Condition("event", "group", "user"), ["user"]),
        (Condition("event", "all", ""), ["all"]),
    )
    assert list(match_event(table, "user.human.password.changed")) == ["e"]
    assert list(match_event(table, "user.human.added")) == ["human"]
    assert list(match_event(table, "user.locked")) == ["user"]
    assert list(match_event(table, "target.added")) == ["all"]


def test_deepest_group_wins_over_a_shallower_one_regardless_of_insertion_order() -> None:
    table = executions(
        (Condition("event", "group", "user"), ["user"]),
        (Condition("event", "group", "user.human.password"), ["password"]),
    )
    assert list(match_event(table, "user.human.password.changed")) == ["password"]
    assert list(match_event(table, "user.human.changed")) == ["user"]


def test_a_group_does_not_match_an_event_of_the_same_name_prefix_text() -> None:
    # "user" is a group of "user.locked" but not of "users.locked" or "userx".
    table = executions((Condition("event", "group", "user"), ["user"]))
    assert list(match_event(table, "users.locked")) == []


def test_event_all_matches_every_event_including_action_ones() -> None:
    table = executions((Condition("event", "all", ""), ["all"]))
    for name in EVENT_TYPES:
        assert list(match_event(table, name)) == ["all"]


def test_function_is_matched_by_name_only() -> None:
    table = executions((Condition("function", "name", "preaccesstoken"), ["f"]))
    assert list(match_function(table, "preaccesstoken")) == ["f"]
    assert list(match_function(table, "preuserinfo")) == []
    assert list(match_function(table, "complement_token")) == []
