"""User operations (``zitadel.user.v2.UserService``, and ZITADEL's management
API's AddMachineUser)."""

from __future__ import annotations

from typing import Any

from keyhook.api import messages as m
from keyhook.api.registry import Operation, Registry
from keyhook.command.users import (
    HumanUserInput,
    UserCommands,
    checked_changes,
    checked_human_user,
    checked_machine_user,
    checked_metadata_items,
    checked_new_password,
)
from keyhook.domain.caller import Caller
from keyhook.domain.user import MACHINE_TOKEN_TYPES
from keyhook.errors import field_error
from keyhook.query import user_search as us
from keyhook.query.users import UserQueries

SERVICE = "/zitadel.user.v2.UserService/"
MANAGEMENT = "/zitadel.management.v1.ManagementService/"


def _human_user(req: m.AddHumanUserRequest, org_id: str) -> HumanUserInput:
    u = req.user
    return HumanUserInput(
        org_id=req.organization_id or org_id,
        user_name=u.user_name or u.email.email,
        email=u.email.email,
        email_verified=u.email.is_verified,
        given_name=u.profile.given_name,
        family_name=u.profile.family_name,
        display_name=u.profile.display_name,
        nick_name=u.profile.nick_name,
        preferred_language=u.profile.preferred_language,
        phone=u.phone.phone if u.phone else "",
        phone_verified=u.phone.is_verified if u.phone else False,
        password=u.password.password if u.password else None,
        password_change_required=(
            u.password.change_required
            if u.password
            else u.hashed_password.change_required
            if u.hashed_password
            else False
        ),
        metadata=[(i.key, i.value) for i in u.metadata],
        user_id=req.user_id,
        hashed_password=u.hashed_password.hash if u.hashed_password else None,
    )


def _human_changes(req: m.UpdateHumanUserRequest) -> dict[str, Any]:
    changed: dict[str, Any] = {}
    if req.username is not None:
        changed["userName"] = req.username
    if req.profile is not None:
        changed.update(req.profile.model_dump(by_alias=True, exclude_unset=True, exclude_none=True))
    if req.email is not None:
        changed.update(email=req.email.email, emailVerified=req.email.is_verified)
    if req.phone is not None:
        changed.update(phone=req.phone.phone, phoneVerified=req.phone.is_verified)
    if req.password is not None:
        changed["password"] = req.password.password
    return changed


_TEXT_QUERIES = {
    "user_name_query": ("userName", "user_name"),
    "first_name_query": ("firstName", "first_name"),
    "last_name_query": ("lastName", "last_name"),
    "nick_name_query": ("nickName", "nick_name"),
    "display_name_query": ("displayName", "display_name"),
    "email_query": ("email", "email_address"),
    "login_name_query": ("loginName", "login_name"),
    "phone_query": ("phone", "number"),
}
_KINDS = {"TYPE_HUMAN": "human", "TYPE_MACHINE": "machine"}


def _search(q: m.SearchQuery) -> us.Query:
    """ListUsers' ``SearchQuery`` (exactly one member) as a query of keyhook.query."""
    for name, (member, value_field) in _TEXT_QUERIES.items():
        text = getattr(q, name)
        if text is not None:
            return us.Text(member, getattr(text, value_field), text.method)
    if q.state_query is not None:
        return us.Equals("state", q.state_query.state)
    if q.type_query is not None:
        kind = _KINDS.get(q.type_query.type)
        return us.All(()) if kind is None else us.Equals("kind", kind)
    if q.in_user_ids_query is not None:
        return us.OneOf("id", tuple(q.in_user_ids_query.user_ids))
    if q.in_user_emails_query is not None:
        return us.OneOf("email", tuple(q.in_user_emails_query.user_emails))
    if q.organization_id_query is not None:
        return us.Equals("org", q.organization_id_query.organization_id)
    if q.not_query is not None:
        return us.Not(_search(q.not_query.query))
    if q.and_query is not None:
        return us.All(tuple(_search(i) for i in q.and_query.queries))
    assert q.or_query is not None
    return us.AnyOf(tuple(_search(i) for i in q.or_query.queries))


# Each operation's field rules (api.registry: ``check``), run before any target sees the
# message: the command's own rule functions, on the same values.


def _check_add_human_user(req: m.AddHumanUserRequest) -> None:
    checked_human_user(_human_user(req, ""))


def _check_update_human_user(req: m.UpdateHumanUserRequest) -> None:
    checked_changes(_human_changes(req))


def _check_set_password(req: m.SetPasswordRequest) -> None:
    checked_new_password(req.new_password.password)


def _metadata_from_bytes(message: dict[str, Any]) -> dict[str, Any]:
    """SetUserMetadata in the Connect form: each value protobuf ``bytes``, base64 in JSON
    (what ZITADEL's clients send), read as the UTF-8 text the REST form takes."""
    items = message.get("metadata")
    if not isinstance(items, list):
        return message
    read = []
    for i, item in enumerate(items):
        if isinstance(item, dict) and isinstance(item.get("value"), str):
            try:
                item = {**item, "value": m.base64_text(item["value"])}
            except ValueError as exc:
                raise field_error(
                    f"metadata[{i}].value",
                    f"is {exc} (protobuf JSON bytes)",
                    'base64 such as "RW5naW5lZXJpbmc=" for "Engineering"; the REST form, '
                    "POST /v2/users/{userId}/metadata, takes the text itself",
                ) from None
        read.append(item)
    return {**message, "metadata": read}


def _check_set_metadata(req: m.SetUserMetadataRequest) -> None:
    checked_metadata_items([(i.key, i.value) for i in req.metadata])


def _check_add_machine_user(req: m.AddMachineUserRequest) -> None:
    checked_machine_user(req.user_name, req.name)


def register(registry: Registry, commands: UserCommands, queries: UserQueries) -> None:
    async def add_human_user(caller: Caller, req: m.AddHumanUserRequest) -> dict[str, Any]:
        return await commands.add_human_user(caller, _human_user(req, caller.home_org()))

    async def add_machine_user(caller: Caller, req: m.AddMachineUserRequest) -> dict[str, Any]:
        return await commands.add_machine_user(
            caller,
            org_id=req.organization_id or caller.home_org(),
            user_name=req.user_name,
            name=req.name,
            description=req.description,
            access_token_type=MACHINE_TOKEN_TYPES[req.access_token_type],
        )

    # The answers are the proto's messages, member for member (a strict protobuf-JSON
    # decoder refuses any other): AddSecretResponse, RemoveSecretResponse,
    # SetUserMetadataResponse carry a date, not the commands' ``details``.

    async def add_secret(caller: Caller, req: m.UserIdRequest) -> dict[str, Any]:
        made = await commands.add_secret(caller, req.user_id)
        return {"creationDate": made["creationDate"], "clientSecret": made["clientSecret"]}

    async def remove_secret(caller: Caller, req: m.UserIdRequest) -> dict[str, Any]:
        done = await commands.remove_secret(caller, req.user_id)
        return {"deletionDate": done["details"]["changeDate"]}

    async def get_user(caller: Caller, req: m.UserIdRequest) -> dict[str, Any]:
        return await queries.get(caller, req.user_id)

    async def list_users(caller: Caller, req: m.ListUsersRequest) -> dict[str, Any]:
        return await queries.list(
            caller,
            req.query.offset,
            req.query.limit,
            req.text,
            req.organization_id,
            req.query.asc,
            search=us.All(tuple(_search(q) for q in req.queries)) if req.queries else None,
            sorting=req.sorting_column,
        )

    async def update_human_user(caller: Caller, req: m.UpdateHumanUserRequest) -> dict[str, Any]:
        return await commands.update_human_user(caller, req.user_id, _human_changes(req))

    async def set_password(caller: Caller, req: m.SetPasswordRequest) -> dict[str, Any]:
        return await commands.set_password(
            caller,
            req.user_id,
            req.new_password.password,
            req.current_password,
            change_required=req.new_password.change_required,
        )

    async def set_metadata(caller: Caller, req: m.SetUserMetadataRequest) -> dict[str, Any]:
        done = await commands.set_metadata(
            caller, req.user_id, [(i.key, i.value) for i in req.metadata]
        )
        return {"setDate": done["details"]["changeDate"]}

    def state_op(name: str, verb: str, summary: str) -> Operation:
        action = getattr(commands, verb)

        async def handler(caller: Caller, req: m.UserIdRequest) -> dict[str, Any]:
            result: dict[str, Any] = await action(caller, req.user_id)
            return result

        return Operation(
            SERVICE + name,
            (("POST", f"/v2/users/{{userId}}/{verb}"),),
            m.UserIdRequest,
            handler,
            summary,
            subject_field="userId",
            permission="user.write",
            org_permission="user.write",
        )

    for op in (
        Operation(
            SERVICE + "AddHumanUser",
            (("POST", "/v2/users/human"),),
            m.AddHumanUserRequest,
            add_human_user,
            "Create a human user",
            check=_check_add_human_user,
            response_subject_field="userId",
            permission="user.write",
            org_permission="user.write",
        ),
        Operation(
            SERVICE + "GetUserByID",
            (("GET", "/v2/users/{userId}"),),
            m.UserIdRequest,
            get_user,
            "Get a user",
            subject_field="userId",
            permission="user.read",
            org_permission="user.read",
        ),
        Operation(
            SERVICE + "ListUsers",
            (("POST", "/v2/users/search"), ("POST", "/v2/users")),
            m.ListUsersRequest,
            list_users,
            "Search users",
            permission="user.read",
            org_permission="user.read",
        ),
        Operation(
            SERVICE + "UpdateHumanUser",
            (("PUT", "/v2/users/human/{userId}"),),
            m.UpdateHumanUserRequest,
            update_human_user,
            "Change a human user",
            check=_check_update_human_user,
            subject_field="userId",
            pinned=("password",),
            permission="user.write",
            org_permission="user.write",
        ),
        state_op("LockUser", "lock", "Lock a user"),
        state_op("UnlockUser", "unlock", "Unlock a user"),
        state_op("DeactivateUser", "deactivate", "Deactivate a user"),
        state_op("ReactivateUser", "reactivate", "Reactivate a user"),
        Operation(
            SERVICE + "DeleteUser",
            (("DELETE", "/v2/users/{userId}"),),
            m.UserIdRequest,
            state_op("DeleteUser", "delete", "").handler,
            "Delete a user",
            subject_field="userId",
            permission="user.delete",
            org_permission="user.delete",
        ),
        Operation(
            SERVICE + "SetPassword",
            (("POST", "/v2/users/{userId}/password"),),
            m.SetPasswordRequest,
            set_password,
            "Set a user's password",
            check=_check_set_password,
            subject_field="userId",
            pinned=("newPassword", "currentPassword"),
            permission="user.write",
            org_permission="user.write",
        ),
        Operation(
            SERVICE + "SetUserMetadata",
            (("POST", "/v2/users/{userId}/metadata"),),
            m.SetUserMetadataRequest,
            set_metadata,
            "Set user metadata",
            check=_check_set_metadata,
            subject_field="userId",
            permission="user.write",
            org_permission="user.write",
            connect_message=_metadata_from_bytes,
        ),
        Operation(
            MANAGEMENT + "AddMachineUser",
            (("POST", "/management/v1/users/machine"),),
            m.AddMachineUserRequest,
            add_machine_user,
            "Create a machine user",
            check=_check_add_machine_user,
            response_subject_field="userId",
            permission="user.write",
            org_permission="user.write",
        ),
        Operation(
            SERVICE + "AddSecret",
            (("POST", "/v2/users/{userId}/secret"),),
            m.UserIdRequest,
            add_secret,
            "Set a machine user's client secret (shown in this answer only)",
            subject_field="userId",
            permission="user.write",
            org_permission="user.write",
        ),
        Operation(
            SERVICE + "RemoveSecret",
            (("DELETE", "/v2/users/{userId}/secret"),),
            m.UserIdRequest,
            remove_secret,
            "Remove a machine user's client secret",
            subject_field="userId",
            permission="user.write",
            org_permission="user.write",
        ),
    ):
        registry.add(op)
