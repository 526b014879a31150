"""UserService v2's CreateUser and UpdateUser (ZITADEL v4), and the calls on one user's
email, phone, metadata and sign-in methods, over the user commands.

The answers are the proto's messages, member for member (docs/api.md, "UserService v2
coverage"): no Keyhook-only members, 64-bit numbers as strings, ``bytes`` as base64.
"""

from __future__ import annotations

from typing import Any

from pydantic.alias_generators import to_camel

from keyhook.api import messages as m
from keyhook.api import user_messages as um
from keyhook.api.registry import Operation, Registry
from keyhook.clock import iso, now
from keyhook.command.user_changes import (
    UserChanges,
    checked_keys,
    checked_machine_changes,
    checked_phone,
)
from keyhook.command.users import (
    HumanUserInput,
    UserCommands,
    checked_human_user,
    checked_machine_user,
    checked_password_hash,
    checked_user_id,
)
from keyhook.domain import user as rules
from keyhook.domain.caller import Caller
from keyhook.errors import field_error
from keyhook.query.users import UserDetailQueries, UserQueries, visible_user

SERVICE = "/zitadel.user.v2.UserService/"
_PROFILE = ("given_name", "family_name", "nick_name", "display_name", "preferred_language")


def _human_input(req: um.CreateUserRequest, org_id: str) -> HumanUserInput:
    h = req.human
    assert h is not None
    return HumanUserInput(
        org_id=req.organization_id or org_id,
        user_name=req.username or h.email.email,
        email=h.email.email,
        email_verified=bool(h.email.is_verified),
        given_name=h.profile.given_name,
        family_name=h.profile.family_name,
        display_name=h.profile.display_name,
        nick_name=h.profile.nick_name,
        preferred_language=h.profile.preferred_language,
        phone=h.phone.phone if h.phone else "",
        phone_verified=bool(h.phone.is_verified) if h.phone else False,
        password=h.password.password if h.password else None,
        password_change_required=(
            h.password.change_required
            if h.password
            else h.hashed_password.change_required
            if h.hashed_password
            else False
        ),
        hashed_password=h.hashed_password.hash if h.hashed_password else None,
        metadata=[(i.key, um.decoded_bytes(i.value)) for i in h.metadata],
        user_id=req.user_id,
    )


def _check_create_user(req: um.CreateUserRequest) -> None:
    if req.human is not None:
        data = _human_input(req, "")
        checked_human_user(data, "human.", "username")
        if data.phone:
            checked_phone(data.phone, "human.phone.phone")
    elif req.machine is not None:
        if req.user_id is not None:
            checked_user_id(req.user_id)
        checked_machine_user(
            req.username or req.user_id or "machine", req.machine.name, ("username", "machine.name")
        )


def _human_changes(req: um.UpdateUserRequest) -> tuple[dict[str, Any], str | None, bool | None]:
    """UpdateUser's human changes as UpdateHumanUser's, checked with UpdateUser's member
    names; the current password to check, and whether a new one must be changed."""
    changed: dict[str, Any] = {}
    if req.username is not None:
        changed["userName"] = rules.validate_user_name(req.username, "username")
    h = req.human
    if h is None:
        return changed, None, None
    if h.profile is not None:
        for name in _PROFILE:
            value = getattr(h.profile, name)
            if value is not None:
                changed[to_camel(name)] = value
    if h.email is not None:
        changed["email"] = rules.validate_email(h.email.email, "human.email.email")
        changed["emailVerified"] = bool(h.email.is_verified)
    if h.phone is not None:
        changed["phone"] = checked_phone(h.phone.phone, "human.phone.phone")
        changed["phoneVerified"] = bool(h.phone.is_verified)
    if h.password is None:
        return changed, None, None
    if h.password.password is not None:
        changed["password"] = rules.validate_password(
            h.password.password.password, "human.password.password.password"
        )
        required = h.password.password.change_required
    else:
        assert h.password.hashed_password is not None
        changed["hashedPassword"] = checked_password_hash(
            h.password.hashed_password.hash, "human.password.hashedPassword.hash"
        )
        required = h.password.hashed_password.change_required
    return changed, h.password.current_password, required


def _check_update_user(req: um.UpdateUserRequest) -> None:
    _human_changes(req)
    if req.machine is not None:
        checked_machine_changes(req.machine.name, req.machine.description)


def _check_set_email(req: um.SetEmailRequest) -> None:
    rules.validate_email(req.email, "email")


def _check_set_phone(req: um.SetPhoneRequest) -> None:
    checked_phone(req.phone)


def _check_delete_metadata(req: um.DeleteUserMetadataRequest) -> None:
    checked_keys(req.keys)


def register(registry: Registry, commands: UserCommands, queries: UserQueries) -> None:
    changes = UserChanges(commands)
    details = UserDetailQueries(queries.db)

    async def create_user(caller: Caller, req: um.CreateUserRequest) -> dict[str, Any]:
        if req.human is not None:
            made = await commands.add_human_user(
                caller, _human_input(req, caller.home_org()), "human.", "username"
            )
        else:
            assert req.machine is not None
            made = await commands.add_machine_user(
                caller,
                org_id=req.organization_id or caller.home_org(),
                user_name=req.username or "",
                name=req.machine.name,
                description=req.machine.description,
                user_id=req.user_id,
                name_fields=("username", "machine.name"),
            )
        return {"id": made["userId"], "creationDate": made["details"]["changeDate"]}

    async def update_user(caller: Caller, req: um.UpdateUserRequest) -> dict[str, Any]:
        machine = req.machine is not None
        if not machine and req.human is None:
            # Only a user name: the user's kind says which change it is.
            async with queries.db.read() as conn:
                machine = (await visible_user(conn, caller, req.user_id)).kind == "machine"
        if machine:
            m = req.machine or um.UpdateMachine()
            done = await changes.update_machine(
                caller,
                req.user_id,
                checked_machine_changes(m.name, m.description),
                user_name=req.username,
            )
        else:
            changed, current, required = _human_changes(req)
            done = await commands.update_human_user(
                caller,
                req.user_id,
                changed,
                current_password=current,
                change_required=required,
                current_field="human.password.currentPassword",
            )
        return {"changeDate": done["details"]["changeDate"]}

    async def set_email(caller: Caller, req: um.SetEmailRequest) -> dict[str, Any]:
        done = await changes.set_email(caller, req.user_id, req.email, bool(req.is_verified))
        return {"details": done["details"]}

    async def set_phone(caller: Caller, req: um.SetPhoneRequest) -> dict[str, Any]:
        done = await changes.set_phone(caller, req.user_id, req.phone, bool(req.is_verified))
        return {"details": done["details"]}

    async def remove_phone(caller: Caller, req: m.UserIdRequest) -> dict[str, Any]:
        return {"details": (await changes.remove_phone(caller, req.user_id))["details"]}

    async def list_metadata(caller: Caller, req: um.ListUserMetadataRequest) -> dict[str, Any]:
        page = req.pagination
        total, items = await details.metadata(
            caller,
            req.user_id,
            [(f.key_filter.key, f.key_filter.method) for f in req.filters],
            page.offset,
            page.limit,
            page.asc,
        )
        return {
            "pagination": {"totalResult": str(total), "appliedLimit": str(page.limit)},
            "metadata": [{"key": k, "value": um.encoded_bytes(v)} for k, v in items],
        }

    async def delete_metadata(caller: Caller, req: um.DeleteUserMetadataRequest) -> dict[str, Any]:
        return await changes.delete_metadata(caller, req.user_id, req.keys)

    async def list_methods(
        caller: Caller, req: um.ListAuthenticationMethodTypesRequest
    ) -> dict[str, Any]:
        if req.domain_query is not None and req.domain_query.domain:
            raise field_error(
                "domainQuery.domain",
                "Keyhook has no domain-bound methods (passkeys)",
                "no domainQuery, or an empty domain",
            )
        methods = await details.authentication_methods(caller, req.user_id)
        return {
            "details": {"totalResult": str(len(methods)), "timestamp": iso(now())},
            "authMethodTypes": methods,
        }

    async def list_factors(
        caller: Caller, req: um.ListAuthenticationFactorsRequest
    ) -> dict[str, Any]:
        await details.authentication_methods(caller, req.user_id)  # the user must exist
        return {"result": []}

    def op(
        name: str, route: tuple[str, str], model: Any, handler: Any, summary: str, **kw: Any
    ) -> Operation:
        read = name.startswith("List")
        permission = "user.read" if read else "user.write"
        return Operation(
            SERVICE + name,
            (route,),
            model,
            handler,
            summary,
            permission=permission,
            org_permission=permission,
            **kw,
        )

    for operation in (
        op(
            "CreateUser",
            ("POST", "/v2/users/new"),
            um.CreateUserRequest,
            create_user,
            "Create a human or machine user (ZITADEL v4)",
            check=_check_create_user,
            response_subject_field="id",
            # A request target may refuse, not move the user to another organization or
            # choose its id.
            pinned=("organizationId", "userId"),
        ),
        op(
            "UpdateUser",
            ("PATCH", "/v2/users/{userId}"),
            um.UpdateUserRequest,
            update_user,
            "Change a human or machine user (ZITADEL v4)",
            check=_check_update_user,
            subject_field="userId",
        ),
        op(
            "SetEmail",
            ("POST", "/v2/users/{userId}/email"),
            um.SetEmailRequest,
            set_email,
            "Set a human user's email address",
            check=_check_set_email,
            subject_field="userId",
        ),
        op(
            "SetPhone",
            ("POST", "/v2/users/{userId}/phone"),
            um.SetPhoneRequest,
            set_phone,
            "Set a human user's phone number",
            check=_check_set_phone,
            subject_field="userId",
        ),
        op(
            "RemovePhone",
            ("DELETE", "/v2/users/{userId}/phone"),
            m.UserIdRequest,
            remove_phone,
            "Remove a human user's phone number",
            subject_field="userId",
        ),
        op(
            "ListUserMetadata",
            ("POST", "/v2/users/{userId}/metadata/search"),
            um.ListUserMetadataRequest,
            list_metadata,
            "List a user's metadata",
            subject_field="userId",
        ),
        op(
            "DeleteUserMetadata",
            ("DELETE", "/v2/users/{userId}/metadata"),
            um.DeleteUserMetadataRequest,
            delete_metadata,
            "Delete some of a user's metadata",
            check=_check_delete_metadata,
            subject_field="userId",
        ),
        op(
            "ListAuthenticationMethodTypes",
            ("GET", "/v2/users/{userId}/authentication_methods"),
            um.ListAuthenticationMethodTypesRequest,
            list_methods,
            "List the ways a user can sign in",
            subject_field="userId",
        ),
        op(
            "ListAuthenticationFactors",
            ("POST", "/v2/users/{userId}/authentication_factors/_search"),
            um.ListAuthenticationFactorsRequest,
            list_factors,
            "List a user's second factors (Keyhook has none)",
            subject_field="userId",
        ),
    ):
        registry.add(operation)
