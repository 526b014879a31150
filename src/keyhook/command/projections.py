"""Read tables as functions of events, applied in the transaction that appends them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

import orjson

from keyhook.command.admin_projections import ADMIN_PROJECTORS, remove_user_administrators
from keyhook.command.oidc_projections import OIDC_PROJECTORS
from keyhook.command.row_counts import count_rows
from keyhook.command.row_touch import Touch, Touches, update_by_id
from keyhook.command.target_key_projections import TARGET_KEY_PROJECTORS
from keyhook.eventstore.store import StoredEvent
from keyhook.storage.connection import Connection

# A projector runs its statements, or returns a Touch of one row for project() to run.
Projector = Callable[[Connection, StoredEvent], Awaitable[Touch | None]]

_PROFILE_COLUMNS = {
    "givenName": "given_name",
    "familyName": "family_name",
    "displayName": "display_name",
    "nickName": "nick_name",
    "preferredLanguage": "preferred_language",
    "email": "email",
    "emailVerified": "email_verified",
    "phone": "phone",
    "phoneVerified": "phone_verified",
    "userName": "user_name",
}


async def _user_touch(conn: Connection, e: StoredEvent, **values: object) -> None:
    params = {"sequence": e.sequence, "changed_at": e.created_at, **values}
    await conn.execute(update_by_id("users", tuple(params)), {**params, "id": e.aggregate_id})


_INSERT_USER = (
    "INSERT INTO users (id, instance_id, org_id, user_name, kind, state, given_name, "
    "family_name, display_name, nick_name, preferred_language, email, email_verified, phone, "
    "phone_verified, password_hash, password_change_required, failed_attempts, sequence, "
    "created_at, changed_at) "
    "VALUES (:id, :instance_id, :org_id, :user_name, :kind, :state, :given_name, "
    ":family_name, :display_name, :nick_name, :preferred_language, :email, :email_verified, "
    ":phone, :phone_verified, :password_hash, :password_change_required, :failed_attempts, "
    ":sequence, :created_at, "
    ":changed_at)"
)
_INSERT_METADATA = "INSERT INTO user_metadata (user_id, key, value) VALUES (:user_id, :key, :value)"
_DELETE_METADATA = "DELETE FROM user_metadata WHERE user_id = :user_id AND key = :key"


async def _user_added(conn: Connection, e: StoredEvent) -> None:
    d = e.data
    await conn.execute(
        _INSERT_USER,
        {
            "id": e.aggregate_id,
            "instance_id": e.instance_id,
            "org_id": e.resource_owner,
            "user_name": d["userName"],
            "kind": "human" if e.type == "user.human.added" else "machine",
            "state": "USER_STATE_ACTIVE",
            "given_name": d.get("givenName", ""),
            "family_name": d.get("familyName", ""),
            "display_name": d.get("displayName", d.get("name", "")),
            "nick_name": d.get("nickName", ""),
            "preferred_language": d.get("preferredLanguage", ""),
            "email": d.get("email", ""),
            "email_verified": d.get("emailVerified", False),
            "phone": d.get("phone", ""),
            "phone_verified": d.get("phoneVerified", False),
            "password_hash": d.get("hashedPassword"),
            "password_change_required": bool(d.get("passwordChangeRequired", False)),
            "failed_attempts": 0,
            "sequence": e.sequence,
            "created_at": e.created_at,
            "changed_at": e.created_at,
        },
    )
    await count_rows(conn, "users", e.instance_id, 1)
    for item in d.get("metadata", []):
        await conn.execute(
            _INSERT_METADATA,
            {"user_id": e.aggregate_id, "key": item["key"], "value": item["value"]},
        )


async def _user_changed(conn: Connection, e: StoredEvent) -> None:
    changed = e.data.get("changed", {})
    await _user_touch(
        conn, e, **{_PROFILE_COLUMNS[k]: v for k, v in changed.items() if k in _PROFILE_COLUMNS}
    )


async def _machine_changed(conn: Connection, e: StoredEvent) -> None:
    changed = e.data.get("changed", {})
    columns = {"name": "display_name", "userName": "user_name"}
    await _user_touch(conn, e, **{columns[k]: v for k, v in changed.items() if k in columns})


def _state_projector(state: str, reset_attempts: bool = False) -> Projector:
    async def project(conn: Connection, e: StoredEvent) -> None:
        extra: dict[str, object] = {"failed_attempts": 0} if reset_attempts else {}
        await _user_touch(conn, e, state=state, **extra)

    return project


async def _user_removed(conn: Connection, e: StoredEvent) -> None:
    user = {"user_id": e.aggregate_id}
    await conn.execute("DELETE FROM user_metadata WHERE user_id = :user_id", user)
    await conn.execute("DELETE FROM personal_access_tokens WHERE user_id = :user_id", user)
    await conn.execute("DELETE FROM sessions WHERE user_id = :user_id", user)
    await remove_user_administrators(conn, e.aggregate_id)
    removed = await conn.execute(
        "DELETE FROM users WHERE id = :id RETURNING instance_id", {"id": e.aggregate_id}
    )
    for row in removed:
        await count_rows(conn, "users", row.instance_id, -1)


async def _password_changed(conn: Connection, e: StoredEvent) -> None:
    await _user_touch(
        conn,
        e,
        password_hash=e.data["hashedPassword"],
        password_change_required=bool(e.data.get("changeRequired", False)),
        failed_attempts=0,
    )


async def _password_hash_updated(conn: Connection, e: StoredEvent) -> None:
    await _user_touch(conn, e, password_hash=e.data["hashedPassword"])


async def _password_check_failed(conn: Connection, e: StoredEvent) -> None:
    await _user_touch(conn, e, failed_attempts=e.data["failedAttempts"])


async def _password_check_succeeded(conn: Connection, e: StoredEvent) -> None:
    await _user_touch(conn, e, failed_attempts=0)


async def _secret_set(conn: Connection, e: StoredEvent) -> None:
    await _user_touch(conn, e, secret_hash=e.data["hashedSecret"])


async def _secret_removed(conn: Connection, e: StoredEvent) -> None:
    await _user_touch(conn, e, secret_hash=None)


_INSERT_SESSION = (
    "INSERT INTO sessions (id, instance_id, user_id, org_id, login_name, token_hash, "
    "password_checked_at, sequence, created_at, changed_at) VALUES (:id, :instance_id, "
    ":user_id, :org_id, :login_name, :token_hash, :password_checked_at, :sequence, "
    ":created_at, :changed_at)"
)


async def _session_added(conn: Connection, e: StoredEvent) -> None:
    checked = e.data.get("passwordCheckedAt")
    await conn.execute(
        _INSERT_SESSION,
        {
            "id": e.aggregate_id,
            "instance_id": e.instance_id,
            "user_id": e.data["userId"],
            "org_id": e.resource_owner,
            "login_name": e.data["userName"],
            "token_hash": e.data["tokenHash"],
            "password_checked_at": e.created_at if checked else None,
            "sequence": e.sequence,
            "created_at": e.created_at,
            "changed_at": e.created_at,
        },
    )


async def _session_removed(conn: Connection, e: StoredEvent) -> None:
    await conn.execute("DELETE FROM sessions WHERE id = :id", {"id": e.aggregate_id})


async def _lockout_policy_changed(conn: Connection, e: StoredEvent) -> None:
    await conn.execute(
        "UPDATE instances SET lockout_max_attempts = :lockout_max_attempts WHERE id = :id",
        {"lockout_max_attempts": e.data["maxPasswordAttempts"], "id": e.instance_id},
    )


async def _metadata_set(conn: Connection, e: StoredEvent) -> None:
    item = {"user_id": e.aggregate_id, "key": e.data["key"]}
    await conn.execute(_DELETE_METADATA, item)
    await conn.execute(_INSERT_METADATA, {**item, "value": e.data["value"]})
    await _user_touch(conn, e)


async def _metadata_removed(conn: Connection, e: StoredEvent) -> None:
    await conn.execute(_DELETE_METADATA, {"user_id": e.aggregate_id, "key": e.data["key"]})
    await _user_touch(conn, e)


async def _org_added(conn: Connection, e: StoredEvent) -> None:
    await conn.execute(
        "INSERT INTO orgs (id, instance_id, name, created_at) "
        "VALUES (:id, :instance_id, :name, :created_at)",
        {
            "id": e.aggregate_id,
            "instance_id": e.instance_id,
            "name": e.data["name"],
            "created_at": e.created_at,
        },
    )


async def _instance_added(conn: Connection, e: StoredEvent) -> None:
    await conn.execute(
        "INSERT INTO instances (id, name, default_org_id, admin_user_id, actions_generation, "
        "lockout_max_attempts, created_at) VALUES (:id, :name, :default_org_id, :admin_user_id, "
        ":actions_generation, :lockout_max_attempts, :created_at)",
        {
            "id": e.aggregate_id,
            "name": e.data["name"],
            "default_org_id": e.data["defaultOrgId"],
            "admin_user_id": e.data["adminUserId"],
            "actions_generation": 0,
            "lockout_max_attempts": 5,  # the column's default
            "created_at": e.created_at,
        },
    )


async def _bump_actions(conn: Connection, e: StoredEvent) -> None:
    await conn.execute(
        "UPDATE instances SET actions_generation = actions_generation + 1 WHERE id = :id",
        {"id": e.instance_id},
    )


_INSERT_TARGET = (
    "INSERT INTO targets (id, instance_id, name, endpoint, timeout_seconds, target_type, "
    "interrupt_on_error, headers_sealed, signing_keys_sealed, paused, created_at, changed_at, "
    "payload_type) "
    "VALUES (:id, :instance_id, :name, :endpoint, :timeout_seconds, :target_type, "
    ":interrupt_on_error, :headers_sealed, :signing_keys_sealed, :paused, :created_at, "
    ":changed_at, :payload_type)"
)


async def _target_added(conn: Connection, e: StoredEvent) -> None:
    d = e.data
    await conn.execute(
        _INSERT_TARGET,
        {
            "id": e.aggregate_id,
            "instance_id": e.instance_id,
            "name": d["name"],
            "endpoint": d["endpoint"],
            "timeout_seconds": float(d["timeoutSeconds"]),
            "target_type": d["targetType"],
            "interrupt_on_error": d["interruptOnError"],
            "headers_sealed": d.get("sealedHeaders"),
            "signing_keys_sealed": d["sealedSigningKeys"],
            "paused": False,
            "created_at": e.created_at,
            "changed_at": e.created_at,
            "payload_type": d.get("payloadType", "PAYLOAD_TYPE_JSON"),
        },
    )
    await _bump_actions(conn, e)


_TARGET_COLUMNS = {
    "name": "name",
    "endpoint": "endpoint",
    "timeoutSeconds": "timeout_seconds",
    "targetType": "target_type",
    "interruptOnError": "interrupt_on_error",
    "sealedHeaders": "headers_sealed",
    "sealedSigningKeys": "signing_keys_sealed",
    "payloadType": "payload_type",
}


async def _target_changed(conn: Connection, e: StoredEvent) -> None:
    values = {_TARGET_COLUMNS[k]: v for k, v in e.data.items() if k in _TARGET_COLUMNS}
    if "timeout_seconds" in values:
        values["timeout_seconds"] = float(values["timeout_seconds"])
    params = {"changed_at": e.created_at, **values}
    await conn.execute(update_by_id("targets", tuple(params)), {**params, "id": e.aggregate_id})
    await _bump_actions(conn, e)


async def _target_removed(conn: Connection, e: StoredEvent) -> None:
    await conn.execute("DELETE FROM targets WHERE id = :id", {"id": e.aggregate_id})
    await conn.execute(
        "DELETE FROM target_public_keys WHERE target_id = :id", {"id": e.aggregate_id}
    )
    await _bump_actions(conn, e)


_EXECUTION_WHERE = "instance_id = :instance_id AND condition_key = :condition_key"
_UPDATE_EXECUTION = (
    "UPDATE executions SET target_ids = :target_ids, changed_at = :changed_at "
    "WHERE instance_id = :instance_id AND condition_key = :condition_key"
)
_DELETE_EXECUTION = f"DELETE FROM executions WHERE {_EXECUTION_WHERE}"  # noqa: S608 - constant text


async def _execution_set(conn: Connection, e: StoredEvent) -> None:
    key = {"instance_id": e.instance_id, "condition_key": e.data["conditionKey"]}
    target_ids = orjson.dumps(e.data["targets"]).decode()
    result = await conn.execute(
        _UPDATE_EXECUTION,
        {**key, "target_ids": target_ids, "changed_at": e.created_at},
    )
    if result.rowcount == 0:
        await conn.execute(
            "INSERT INTO executions (instance_id, condition_key, target_ids, created_at, "
            "changed_at) VALUES (:instance_id, :condition_key, :target_ids, :created_at, "
            ":changed_at)",
            {
                **key,
                "target_ids": target_ids,
                "created_at": e.created_at,
                "changed_at": e.created_at,
            },
        )
    await _bump_actions(conn, e)


async def _execution_removed(conn: Connection, e: StoredEvent) -> None:
    await conn.execute(
        _DELETE_EXECUTION,
        {"instance_id": e.instance_id, "condition_key": e.data["conditionKey"]},
    )
    await _bump_actions(conn, e)


def _paused(paused: bool) -> Projector:
    async def project(conn: Connection, e: StoredEvent) -> None:
        await conn.execute(
            "UPDATE targets SET paused = :paused, changed_at = :changed_at WHERE id = :id",
            {"paused": paused, "changed_at": e.created_at, "id": e.aggregate_id},
        )
        await _bump_actions(conn, e)

    return project


async def _project_added(conn: Connection, e: StoredEvent) -> None:
    await conn.execute(
        "INSERT INTO projects (id, instance_id, org_id, name, sequence, created_at, changed_at) "
        "VALUES (:id, :instance_id, :org_id, :name, :sequence, :created_at, :changed_at)",
        {
            "id": e.aggregate_id,
            "instance_id": e.instance_id,
            "org_id": e.resource_owner,
            "name": e.data["name"],
            "sequence": e.sequence,
            "created_at": e.created_at,
            "changed_at": e.created_at,
        },
    )


async def _project_removed(conn: Connection, e: StoredEvent) -> None:
    await conn.execute(
        "DELETE FROM applications WHERE project_id = :project_id", {"project_id": e.aggregate_id}
    )
    await conn.execute("DELETE FROM projects WHERE id = :id", {"id": e.aggregate_id})


_INSERT_APPLICATION = (
    "INSERT INTO applications (id, instance_id, project_id, name, client_id, "
    "client_secret_hash, app_type, auth_method, redirect_uris, post_logout_redirect_uris, "
    "grant_types, response_types, access_token_type, id_token_alg, sequence, created_at, "
    "changed_at) "
    "VALUES (:id, :instance_id, :project_id, :name, :client_id, :client_secret_hash, "
    ":app_type, :auth_method, :redirect_uris, :post_logout_redirect_uris, :grant_types, "
    ":response_types, :access_token_type, :id_token_alg, :sequence, :created_at, :changed_at)"
)


async def _application_added(conn: Connection, e: StoredEvent) -> None:
    d = e.data
    await conn.execute(
        _INSERT_APPLICATION,
        {
            "id": e.aggregate_id,
            "instance_id": e.instance_id,
            "project_id": d["projectId"],
            "name": d["name"],
            "client_id": d["clientId"],
            "client_secret_hash": d.get("clientSecretHash"),
            "app_type": d["appType"],
            "auth_method": d["authMethod"],
            "redirect_uris": orjson.dumps(d["redirectUris"]).decode(),
            "post_logout_redirect_uris": orjson.dumps(d["postLogoutRedirectUris"]).decode(),
            "grant_types": orjson.dumps(d["grantTypes"]).decode(),
            "response_types": orjson.dumps(d["responseTypes"]).decode(),
            "access_token_type": d["accessTokenType"],
            "id_token_alg": d.get("idTokenSignedResponseAlg"),
            "sequence": e.sequence,
            "created_at": e.created_at,
            "changed_at": e.created_at,
        },
    )


async def _application_changed(conn: Connection, e: StoredEvent) -> None:
    d = e.data
    await conn.execute(
        "UPDATE applications SET redirect_uris = :redirect_uris, "
        "post_logout_redirect_uris = :post_logout_redirect_uris, sequence = :sequence, "
        "changed_at = :changed_at WHERE id = :id",
        {
            "id": e.aggregate_id,
            "redirect_uris": orjson.dumps(d["redirectUris"]).decode(),
            "post_logout_redirect_uris": orjson.dumps(d["postLogoutRedirectUris"]).decode(),
            "sequence": e.sequence,
            "changed_at": e.created_at,
        },
    )


async def _application_removed(conn: Connection, e: StoredEvent) -> None:
    await conn.execute("DELETE FROM applications WHERE id = :id", {"id": e.aggregate_id})


_LEGACY_CONFIG = '{"ecdsa":{"curve":"ECDSA_CURVE_P256"}}'
_KEY_INSERT = (
    "INSERT INTO oidc_signing_keys (id, instance_id, algorithm, private_key_sealed, "
    "public_jwk, active, retired_until, created_at, state, key_config, changed_at) VALUES "
    "(:id, :instance_id, :algorithm, :private_key_sealed, :public_jwk, :active, "
    ":retired_until, :created_at, :state, :key_config, :created_at)"
)


async def _oidc_key_added(conn: Connection, e: StoredEvent) -> None:
    """Before web keys (issue 15): an ES256 key, active at once."""
    d = e.data
    await conn.execute(
        _KEY_INSERT,
        {
            "id": d["keyId"],
            "instance_id": e.instance_id,
            "algorithm": d["algorithm"],
            "private_key_sealed": d["sealedPrivateKey"],
            "public_jwk": orjson.dumps(d["publicKey"]).decode(),
            "active": True,
            "retired_until": None,
            "created_at": e.created_at,
            "state": "active",
            "key_config": _LEGACY_CONFIG,
        },
    )


async def _oidc_key_retired(conn: Connection, e: StoredEvent) -> None:
    await conn.execute(
        "UPDATE oidc_signing_keys SET active = :active, retired_until = :retired_until, "
        "state = 'inactive', changed_at = :changed_at WHERE id = :id",
        {
            "active": False,
            "retired_until": datetime.fromisoformat(e.data["publishedUntil"]),
            "changed_at": e.created_at,
            "id": e.data["keyId"],
        },
    )


async def _web_key_added(conn: Connection, e: StoredEvent) -> None:
    d = e.data
    await conn.execute(
        _KEY_INSERT,
        {
            "id": d["keyId"],
            "instance_id": e.instance_id,
            "algorithm": d["algorithm"],
            "private_key_sealed": d["sealedPrivateKey"],
            "public_jwk": orjson.dumps(d["publicKey"]).decode(),
            "active": False,
            "retired_until": None,
            "created_at": e.created_at,
            "state": "initial",
            "key_config": orjson.dumps(d["config"]).decode(),
        },
    )


async def _web_key_activated(conn: Connection, e: StoredEvent) -> None:
    await conn.execute(
        "UPDATE oidc_signing_keys SET active = :active, retired_until = NULL, "
        "state = 'active', changed_at = :changed_at WHERE id = :id",
        {"active": True, "changed_at": e.created_at, "id": e.data["keyId"]},
    )


async def _web_key_removed(conn: Connection, e: StoredEvent) -> None:
    await conn.execute("DELETE FROM oidc_signing_keys WHERE id = :id", {"id": e.data["keyId"]})


PROJECTORS: dict[str, Projector] = {
    "instance.added": _instance_added,
    "org.added": _org_added,
    "user.human.added": _user_added,
    "user.machine.added": _user_added,
    "user.human.changed": _user_changed,
    "user.machine.changed": _machine_changed,
    "user.locked": _state_projector("USER_STATE_LOCKED"),
    "user.unlocked": _state_projector("USER_STATE_ACTIVE", reset_attempts=True),
    "user.deactivated": _state_projector("USER_STATE_INACTIVE"),
    "user.reactivated": _state_projector("USER_STATE_ACTIVE"),
    "user.removed": _user_removed,
    "user.human.password.changed": _password_changed,
    "user.human.password.hash.updated": _password_hash_updated,
    "user.human.password.check.failed": _password_check_failed,
    "user.human.password.check.succeeded": _password_check_succeeded,
    "user.metadata.set": _metadata_set,
    "user.metadata.removed": _metadata_removed,
    "user.machine.secret.set": _secret_set,
    "user.machine.secret.removed": _secret_removed,
    "session.added": _session_added,
    "session.removed": _session_removed,
    "instance.lockout.policy.changed": _lockout_policy_changed,
    "target.added": _target_added,
    "target.changed": _target_changed,
    "target.removed": _target_removed,
    "project.added": _project_added,
    "project.removed": _project_removed,
    "application.oidc.added": _application_added,
    "application.oidc.changed": _application_changed,
    "application.removed": _application_removed,
    "instance.oidc.key.added": _oidc_key_added,
    "instance.oidc.key.retired": _oidc_key_retired,
    "instance.web_key.added": _web_key_added,
    "instance.web_key.activated": _web_key_activated,
    "instance.web_key.deactivated": _oidc_key_retired,
    "instance.web_key.removed": _web_key_removed,
    "target.paused": _paused(True),
    "target.resumed": _paused(False),
    "execution.set": _execution_set,
    "execution.removed": _execution_removed,
}


PROJECTORS.update(OIDC_PROJECTORS)
PROJECTORS.update(TARGET_KEY_PROJECTORS)
PROJECTORS.update(ADMIN_PROJECTORS)


async def project(conn: Connection, stored: Sequence[StoredEvent]) -> None:
    touches = Touches()
    for event in stored:
        projector = PROJECTORS.get(event.type)
        if projector is not None:
            touch = await projector(conn, event)
            if touch is not None:
                touches.add(touch)
    await touches.run(conn)
