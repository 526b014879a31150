"""The commands about what fires: ``executions set|delete|explain`` and
``targets test``.

A condition is written with flags (``--request METHOD|SERVICE|all``,
``--response …``, ``--function NAME``, ``--event EVENT|all``, ``--event-group
G``); targets by id or name. ``explain`` decides from its argument what is
asked: a full method (``/x.y.Z/M``) a request (``--response`` its response),
a name among the server's functions a function, anything else an event. It
touches nothing but :mod:`keyhook.client.runner`.
"""

from __future__ import annotations

from typing import Any

import click

from keyhook.client.errors import UsageProblem
from keyhook.client.runner import Run, common, read_body


def _side(value: str) -> dict[str, Any]:
    if value == "all":
        return {"all": True}
    return {"method": value} if value.startswith("/") else {"service": value}


def condition(
    request: str | None,
    response: str | None,
    function: str | None,
    event: str | None,
    event_group: str | None,
) -> dict[str, Any]:
    given: list[tuple[str, dict[str, Any]]] = []
    if request:
        given.append(("request", _side(request)))
    if response:
        given.append(("response", _side(response)))
    if function:
        given.append(("function", {"name": function}))
    if event:
        given.append(("event", {"all": True} if event == "all" else {"event": event}))
    if event_group:
        given.append(("event", {"group": event_group}))
    if len(given) != 1:
        raise UsageProblem(
            "name exactly one condition: --request, --response, --function, --event "
            "or --event-group"
        )
    return dict(given)


_CONDITION_OPTIONS = (
    click.option("--request", metavar="METHOD|SERVICE|all", help="Before an API call."),
    click.option("--response", metavar="METHOD|SERVICE|all", help="After an API call."),
    click.option("--function", metavar="NAME", help="Inside a function (complement_token…)."),
    click.option("--event", metavar="EVENT|all", help="When an event happens (user.locked…)."),
    click.option("--event-group", metavar="GROUP", help="When an event of a group happens."),
)


def _with_condition(command: Any) -> Any:
    for option in reversed(_CONDITION_OPTIONS):
        command = option(command)
    return command


def register(main: click.Group) -> None:
    executions = main.commands["executions"]
    targets = main.commands["targets"]
    assert isinstance(executions, click.Group) and isinstance(targets, click.Group)

    @executions.command("set")
    @_with_condition
    @click.option(
        "--target",
        "-t",
        "target_names",
        multiple=True,
        metavar="TARGET",
        help="A target id or name, called in the order given (repeatable).",
    )
    @click.option("--file", "-f", metavar="FILE", help="The JSON body (- reads standard input).")
    @common(write=True)
    def set_execution(run: Run, target_names: tuple[str, ...], file: str | None, **kw: Any) -> None:
        """Set the execution of a condition: its targets, in order (SetExecution)."""
        values = read_body(file)
        if any(kw.values()) or "condition" not in values:
            values["condition"] = condition(**kw)
        if target_names:
            values["targets"] = [run.target_id(t) for t in target_names]
        elif "targets" not in values:
            raise UsageProblem("name at least one --target (`executions delete` removes one)")
        run.show(run.write("SetExecution", values))

    @executions.command("delete")
    @_with_condition
    @common(write=True)
    def delete_execution(run: Run, **kw: Any) -> None:
        """Remove the execution of a condition (SetExecution with no targets)."""
        run.show(run.write("SetExecution", {"condition": condition(**kw), "targets": []}))

    @executions.command("explain")
    @click.argument("subject", metavar="METHOD|FUNCTION|EVENT")
    @click.option("--response", is_flag=True, help="A method's response, not its request.")
    @common()
    def explain(run: Run, subject: str, response: bool) -> None:
        """Which execution fires for a method, function or event, its targets in
        order and what it shadows (ExplainExecution)."""
        if subject.startswith("/"):
            body: dict[str, Any] = {"response" if response else "request": {"method": subject}}
        else:
            if response:
                raise UsageProblem("--response goes with a full method such as /x.y.Z/Method")
            functions = run.call("ListExecutionFunctions", {}).get("functions", [])
            names = {f if isinstance(f, str) else f.get("name") for f in functions}
            body = (
                {"function": {"name": subject}}
                if subject in names
                else {"event": {"event": subject}}
            )
        run.show(run.call("ExplainExecution", body))

    @targets.command("test")
    @click.argument("target", metavar="TARGET")
    @click.option("--method", metavar="METHOD", help="A request call of this full method.")
    @click.option("--response", "response_method", metavar="METHOD", help="A response call.")
    @click.option("--function", metavar="NAME", help="A function call (complement_token…).")
    @click.option("--user", metavar="USER_ID", help="The function's user [you].")
    @click.option("--event", metavar="EVENT", help="An event delivery (user.locked…).")
    @click.option(
        "--body",
        metavar="FILE",
        help="JSON: the request message, the response, or the event's eventData (- : stdin).",
    )
    @common()
    def test_target(
        run: Run,
        target: str,
        method: str | None,
        response_method: str | None,
        function: str | None,
        user: str | None,
        event: str | None,
        body: str | None,
    ) -> None:
        """Send a target the call Keyhook would send, signed, and show how its
        answer reads (TestTarget). It calls the target: no --dry-run."""
        if sum(x is not None for x in (method, response_method, function, event)) != 1:
            raise UsageProblem("name one of --method, --response, --function, --event")
        data = read_body(body)
        call: dict[str, Any]
        if method:
            call = {"request": {"method": method, "message": data}}
        elif response_method:
            call = {"response": {"method": response_method, "response": data}}
        elif function:
            call = {"function": {"name": function, **({"userId": user} if user else {})}}
        else:
            call = {"event": {"event": event, "eventData": data}}
        run.show(run.call("TestTarget", {"id": run.target_id(target), **call}))
