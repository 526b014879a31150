"""ExplainExecution's rule is the matcher's: for every combination of set conditions,
the execution it says fires is the one the engine runs."""

from __future__ import annotations

import itertools

import pytest

from keyhook.domain.execution import match_event, match_function, match_method
from keyhook.domain.explain import candidates, checked_subject, explain
from keyhook.errors import InvalidArgument, NotFound

ACTION_SERVICE = "zitadel.action.v2.ActionService"
METHOD = "/zitadel.user.v2.UserService/AddHumanUser"
ACTION_METHOD = f"/{ACTION_SERVICE}/CreateTarget"


@pytest.mark.parametrize("method", [METHOD, ACTION_METHOD])
@pytest.mark.parametrize("kind", ["request", "response"])
def test_methods_agree_with_the_matcher(kind: str, method: str) -> None:
    keys = [
        f"{kind}:method:{method}",
        f"{kind}:service:{method.strip('/').split('/')[0]}",
        f"{kind}:all:",
        f"{kind}:method:/other.Service/Other",
    ]
    for n in range(len(keys) + 1):
        for chosen in itertools.combinations(keys, n):
            executions = {key: (key,) for key in chosen}
            found = explain(set(executions), kind, method)  # type: ignore[arg-type]
            matched = match_method(executions, kind, method)  # type: ignore[arg-type]
            assert (found.fires.key if found.fires else None) == (matched[0] if matched else None)
            assert found.fires not in found.shadowed


def test_events_agree_with_the_matcher_and_list_what_is_shadowed() -> None:
    event = "user.human.password.check.failed"
    keys = [c.key for c in candidates("event", event)]
    assert keys == [
        "event:event:user.human.password.check.failed",
        "event:group:user.human.password.check",
        "event:group:user.human.password",
        "event:group:user.human",
        "event:group:user",
        "event:all:",
    ]
    for n in range(len(keys) + 1):
        for chosen in itertools.combinations(keys, n):
            executions = {key: (key,) for key in chosen}
            found = explain(set(executions), "event", event)
            matched = match_event(executions, event)
            assert (found.fires.key if found.fires else None) == (matched[0] if matched else None)
            assert [c.key for c in found.shadowed] == list(chosen[1:])


def test_functions_and_the_recovery_set() -> None:
    executions = {"function:name:preuserinfo": ("t",)}
    found = explain(set(executions), "function", "preuserinfo")
    assert found.fires is not None and found.fires.key == "function:name:preuserinfo"
    assert match_function(executions, "preuserinfo") == ("t",)
    unwrapped = explain({"request:all:"}, "request", "/x.Service/Get", unwrapped=True)
    assert unwrapped.fires is None and unwrapped.tried == ()
    assert "recovery set" in unwrapped.note
    action = explain({"request:all:"}, "request", ACTION_METHOD)
    assert action.fires is None and "never wraps the Actions API" in action.note


def test_what_is_named_is_checked() -> None:
    methods, events = [METHOD], ["user.locked"]
    assert checked_subject(
        {"request": METHOD, "response": None, "function": None, "event": None},
        methods=methods,
        events=events,
    ) == ("request", METHOD)
    with pytest.raises(InvalidArgument, match="exactly one"):
        checked_subject({"request": METHOD, "event": "user.locked"}, methods=methods, events=events)
    with pytest.raises(NotFound, match="did you mean"):
        checked_subject({"request": METHOD[:-1]}, methods=methods, events=events)
    with pytest.raises(NotFound, match=r"event 'user\.lock'"):
        checked_subject({"event": "user.lock"}, methods=methods, events=events)
