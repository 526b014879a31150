"""The resource commands (``targets``, ``executions``, ``deliveries``, ``calls``,
``events``, ``users``, ``admins``): one grammar, each verb an operation of
``operations.json``.

A verb's options are its operation's scalar request fields (``--name``,
``--endpoint``…); ``--file F`` (``-``: standard input) gives the whole JSON body,
flags override its members; the positional argument fills the REST path. It
touches nothing but :mod:`keyhook.client.runner`.
"""

from __future__ import annotations

from typing import Any

import click

from keyhook.client.runner import Run, common, field_options, field_values, read_body
from keyhook.client.spec import operation

TARGET_KINDS = ("restWebhook", "restCall", "restAsync")


def verb(
    group: click.Group,
    name: str,
    op_name: str,
    *,
    argument: str | None = None,
    target_argument: bool = False,
    write: bool = False,
    body_file: bool = False,
    paging: bool = False,
    skip: tuple[str, ...] = (),
    extra: Any = None,
) -> None:
    """``group name [ARGUMENT]`` calling ``op_name``. ``extra(values, kwargs)`` adds
    what a resource's own options mean to the body."""
    op = operation(op_name)

    def callback(run: Run, **kwargs: Any) -> None:
        values: dict[str, Any] = read_body(kwargs.pop("file", None))
        if paging:
            limit, offset = kwargs.pop("limit"), kwargs.pop("offset")
            query = dict(values.get("query") or {})
            if limit is not None:
                query["limit"] = limit
            if offset is not None:
                query["offset"] = offset
            if query:
                values["query"] = query
        if extra is not None:
            extra(run, values, kwargs)
        values.update(field_values(kwargs))
        if argument is not None:
            given = kwargs.pop("ident")
            values[op.path_fields[0]] = run.target_id(given) if target_argument else given
        run.show(run.write(op_name, values) if write else run.call(op_name, values))

    callback.__doc__ = f"{op.summary} ({op_name}, {op.routes[0][0]} {op.routes[0][1]})."
    command: Any = common(write=write)(callback)
    command = field_options(op, skip=("query", *skip))(command)
    if body_file:
        command = click.option(
            "--file",
            "-f",
            metavar="FILE",
            default=None,
            help="The JSON body (- reads standard input); flags override its members.",
        )(command)
    if paging:
        command = click.option("--limit", type=int, default=None, help="At most this many.")(
            command
        )
        command = click.option("--offset", type=int, default=None, help="Skip this many.")(command)
    if argument is not None:
        command = click.argument("ident", metavar=argument)(command)
    group.command(name, help=callback.__doc__)(command)


def _target_kind(run: Run, values: dict[str, Any], kwargs: dict[str, Any]) -> None:
    kind, interrupt = kwargs.pop("kind"), kwargs.pop("interrupt_on_error")
    if kind is None and interrupt is not None:
        kind = next((k for k in TARGET_KINDS if k in values), None) or "restWebhook"
    if kind is None:
        return
    for other in TARGET_KINDS:
        values.pop(other, None)
    values[kind] = {} if kind == "restAsync" else {"interruptOnError": bool(interrupt)}


def _with_target_kind(group: click.Group, name: str) -> None:
    command = group.commands[name]
    command.params += [
        click.Option(
            ["--type", "kind"],
            type=click.Choice(TARGET_KINDS),
            default=None,
            help="How the target is called [restWebhook when creating].",
        ),
        click.Option(
            ["--interrupt-on-error/--no-interrupt-on-error"],
            default=None,
            help="A failing call aborts the API call (restWebhook, restCall).",
        ),
    ]


def _default_kind(run: Run, values: dict[str, Any], kwargs: dict[str, Any]) -> None:
    _target_kind(run, values, kwargs)
    if not any(kind in values for kind in TARGET_KINDS):
        values["restWebhook"] = {"interruptOnError": False}


def _admin_resource(run: Run, values: dict[str, Any], kwargs: dict[str, Any]) -> None:
    org, roles = kwargs.pop("org"), kwargs.pop("role")
    if org is not None:
        values["resource"] = {"organizationId": org}
    elif "resource" not in values:
        values["resource"] = {"instance": True}
    if roles:
        values["roles"] = list(roles)


def _with_admin_options(group: click.Group, name: str, roles: bool = True) -> None:
    command = group.commands[name]
    command.params.append(
        click.Option(
            ["--org"], default=None, metavar="ORG_ID", help="Of this organization [the instance]."
        )
    )
    command.params.append(
        click.Option(
            ["--role"],
            multiple=True,
            metavar="ROLE",
            help="A role such as IAM_OWNER (repeatable).",
            hidden=not roles,
        )
    )


def _human(run: Run, values: dict[str, Any], kwargs: dict[str, Any]) -> None:
    user = dict(values.get("user") or {})
    email, user_name = kwargs.pop("email"), kwargs.pop("user_name")
    given, family = kwargs.pop("given_name"), kwargs.pop("family_name")
    if email is not None:
        user["email"] = {**(user.get("email") or {}), "email": email}
    if user_name is not None:
        user["userName"] = user_name
    profile = dict(user.get("profile") or {})
    if given is not None:
        profile["givenName"] = given
    if family is not None:
        profile["familyName"] = family
    if profile:
        user["profile"] = profile
    if user:
        values["user"] = user


def _with_human_options(group: click.Group, name: str) -> None:
    group.commands[name].params += [
        click.Option(["--email"], default=None, help="user.email.email"),
        click.Option(["--user-name"], default=None, help="user.userName [the email]"),
        click.Option(["--given-name"], default=None, help="user.profile.givenName"),
        click.Option(["--family-name"], default=None, help="user.profile.familyName"),
    ]


def register(main: click.Group) -> None:
    """Add the resource groups to ``main``."""

    @main.group()
    def targets() -> None:
        """Targets: the endpoints Keyhook calls."""

    verb(targets, "list", "ListTargets", paging=True)
    verb(targets, "get", "GetTarget", argument="TARGET", target_argument=True)
    verb(targets, "create", "CreateTarget", write=True, body_file=True, extra=_default_kind)
    _with_target_kind(targets, "create")
    verb(
        targets,
        "update",
        "UpdateTarget",
        argument="TARGET",
        target_argument=True,
        write=True,
        body_file=True,
        extra=_target_kind,
    )
    _with_target_kind(targets, "update")
    verb(targets, "delete", "DeleteTarget", argument="TARGET", target_argument=True, write=True)
    verb(targets, "pause", "PauseTarget", argument="TARGET", target_argument=True, write=True)
    verb(targets, "resume", "ResumeTarget", argument="TARGET", target_argument=True, write=True)

    @main.group()
    def executions() -> None:
        """Executions: when which targets are called."""

    verb(executions, "list", "ListExecutions", paging=True)

    @main.group()
    def deliveries() -> None:
        """Event deliveries and their attempts."""

    verb(deliveries, "list", "ListDeliveries", paging=True)
    verb(deliveries, "get", "GetDelivery", argument="ID")
    verb(deliveries, "retry", "RetryDelivery", argument="ID", write=True)

    @main.group()
    def calls() -> None:
        """The record of synchronous target calls."""

    verb(calls, "list", "ListTargetCalls", paging=True)
    verb(calls, "get", "GetTargetCall", argument="ID")

    @main.group()
    def events() -> None:
        """The event store (audit trail)."""

    verb(events, "list", "ListEvents")

    @main.group()
    def users() -> None:
        """Human and machine users."""

    verb(users, "list", "ListUsers", paging=True)
    verb(users, "get", "GetUserByID", argument="USER_ID")
    verb(users, "create", "AddHumanUser", write=True, body_file=True, extra=_human)
    _with_human_options(users, "create")
    verb(users, "update", "UpdateHumanUser", argument="USER_ID", write=True, body_file=True)
    verb(users, "delete", "DeleteUser", argument="USER_ID", write=True)
    verb(users, "lock", "LockUser", argument="USER_ID", write=True)
    verb(users, "unlock", "UnlockUser", argument="USER_ID", write=True)

    @main.group()
    def admins() -> None:
        """Administrators of the instance or of an organization, and their roles."""

    verb(admins, "list", "ListAdministrators", body_file=True)
    verb(admins, "create", "CreateAdministrator", write=True, body_file=True, extra=_admin_resource)
    _with_admin_options(admins, "create")
    verb(
        admins,
        "update",
        "UpdateAdministrator",
        argument="USER_ID",
        write=True,
        body_file=True,
        extra=_admin_resource,
    )
    _with_admin_options(admins, "update")
    verb(
        admins,
        "delete",
        "DeleteAdministrator",
        argument="USER_ID",
        write=True,
        extra=_admin_resource,
    )
    _with_admin_options(admins, "delete", roles=False)
