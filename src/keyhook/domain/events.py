"""Event types: names, aggregates, and what their ``eventData`` holds.

Types are named ``<aggregate>.<entity>.<past tense>`` and never renamed once
stored. The table below is the single source for the list of events an
execution may name, for event groups, and for ``docs/events.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class EventType:
    name: str
    aggregate_type: str
    description: str
    data_fields: dict[str, str] = field(default_factory=dict)


_USER_REF = {"userId": "the user's id", "userName": "the user's login name"}

EVENT_TYPES: dict[str, EventType] = {
    e.name: e
    for e in (
        EventType(
            "instance.added",
            "instance",
            "The instance was set up at first start.",
            {
                "instanceId": "id",
                "name": "instance name",
                "defaultOrgId": "the default organization",
                "adminUserId": "the admin machine user",
            },
        ),
        EventType(
            "instance.member.added",
            "instance",
            "A user was made an administrator of the instance.",
            {"userId": "the administrator's user id", "roles": "its roles (IAM_*)"},
        ),
        EventType(
            "instance.member.changed",
            "instance",
            "An administrator of the instance was given other roles.",
            {"userId": "the administrator's user id", "roles": "its roles now"},
        ),
        EventType(
            "instance.member.removed",
            "instance",
            "A user is no longer an administrator of the instance.",
            {"userId": "the former administrator's user id"},
        ),
        EventType(
            "org.member.added",
            "org",
            "A user was made an administrator of an organization.",
            {"userId": "the administrator's user id", "roles": "its roles (ORG_*)"},
        ),
        EventType(
            "org.member.changed",
            "org",
            "An administrator of an organization was given other roles.",
            {"userId": "the administrator's user id", "roles": "its roles now"},
        ),
        EventType(
            "org.member.removed",
            "org",
            "A user is no longer an administrator of an organization.",
            {"userId": "the former administrator's user id"},
        ),
        EventType(
            "org.added",
            "org",
            "An organization was created.",
            {"orgId": "id", "name": "organization name"},
        ),
        EventType(
            "user.human.added",
            "user",
            "A human user was created.",
            {
                **_USER_REF,
                "givenName": "given name",
                "familyName": "family name",
                "displayName": "display name",
                "nickName": "nickname",
                "preferredLanguage": "preferred language",
                "email": "email address",
                "emailVerified": "whether the email is verified",
                "phone": "phone number",
                "phoneVerified": "whether the phone is verified",
                "metadata": "list of {key, value} set at creation",
                "passwordChangeRequired": "whether the user must change its password at its "
                "first sign-in (false without a password)",
            },
        ),
        EventType(
            "user.human.changed",
            "user",
            "A human user's profile, email or phone changed.",
            {**_USER_REF, "changed": "the fields that changed and their new values"},
        ),
        EventType(
            "user.machine.added",
            "user",
            "A machine user was created.",
            {
                **_USER_REF,
                "name": "display name",
                "description": "description (may be empty)",
                "accessTokenType": "bearer or jwt",
            },
        ),
        EventType(
            "user.machine.changed",
            "user",
            "A machine user's name, description or user name changed (UpdateUser).",
            {**_USER_REF, "changed": "the fields that changed and their new values"},
        ),
        EventType(
            "user.machine.secret.set",
            "user",
            "A machine user's client secret was set (AddSecret), replacing any earlier one; "
            "the secret and its hash are never shown.",
            dict(_USER_REF),
        ),
        EventType(
            "user.machine.secret.removed",
            "user",
            "A machine user's client secret was removed (RemoveSecret).",
            dict(_USER_REF),
        ),
        EventType(
            "user.pat.added",
            "user",
            "A personal access token was issued to a machine user.",
            {**_USER_REF, "tokenId": "token id", "expirationDate": "expiry or null"},
        ),
        EventType(
            "user.pat.removed",
            "user",
            "A personal access token of a machine user was removed; it no longer works.",
            {**_USER_REF, "tokenId": "token id"},
        ),
        EventType(
            "user.locked",
            "user",
            "A user was locked.",
            {
                **_USER_REF,
                "lockedAt": "RFC 3339 time",
                "reason": "`Too many failed login attempts` or `Locked by administrator`",
            },
        ),
        EventType("user.unlocked", "user", "A user was unlocked.", dict(_USER_REF)),
        EventType("user.deactivated", "user", "A user was deactivated.", dict(_USER_REF)),
        EventType("user.reactivated", "user", "A user was reactivated.", dict(_USER_REF)),
        EventType("user.removed", "user", "A user was deleted.", dict(_USER_REF)),
        EventType(
            "user.human.password.changed",
            "user",
            "A user's password was set.",
            {**_USER_REF, "changeRequired": "whether the user must change it at next sign-in"},
        ),
        EventType(
            "user.metadata.set",
            "user",
            "User metadata was set.",
            {**_USER_REF, "key": "metadata key", "value": "metadata value (string)"},
        ),
        EventType(
            "user.metadata.removed",
            "user",
            "User metadata was removed.",
            {**_USER_REF, "key": "metadata key"},
        ),
        EventType(
            "target.added",
            "target",
            "A target was created.",
            {
                "targetId": "id",
                "name": "target name",
                "endpoint": "URL",
                "timeoutSeconds": "timeout in seconds",
                "targetType": "restWebhook, restCall or restAsync",
                "interruptOnError": "whether a failure aborts the call",
                "payloadType": "PAYLOAD_TYPE_JSON, PAYLOAD_TYPE_JWT or PAYLOAD_TYPE_JWE (absent "
                "in events written before payload types: JSON)",
            },
        ),
        EventType(
            "target.changed",
            "target",
            "A target was changed.",
            {
                "targetId": "id",
                "changed": "names of the changed fields; the new values of name, endpoint, "
                "timeoutSeconds, targetType, interruptOnError and payloadType follow as members of "
                "their own "
                "(new signing keys and headers are secrets and never shown)",
            },
        ),
        EventType(
            "target.removed",
            "target",
            "A target was deleted.",
            {"targetId": "id", "name": "target name"},
        ),
        EventType(
            "target.public_key.added",
            "target",
            "A public key was added to a target (inactive) for its JWE payloads.",
            {
                "targetId": "id",
                "keyId": "the key's id (the kid of JWE payloads encrypted to it)",
                "publicKey": "the key as PEM",
                "fingerprint": "SHA256: and base64 of the key's SHA-256 (DER)",
                "algorithm": "RSA-OAEP-256 or ECDH-ES+A256KW",
                "expirationDate": "when it is used no more, or null",
            },
        ),
        EventType(
            "target.public_key.activated",
            "target",
            "A target's public key became the one its JWE payloads are encrypted to.",
            {
                "targetId": "id",
                "keyId": "the key activated",
                "deactivatedKeyId": "the key active before, or null",
            },
        ),
        EventType(
            "target.public_key.deactivated",
            "target",
            "A target's public key is no longer encrypted to.",
            {"targetId": "id", "keyId": "the key deactivated"},
        ),
        EventType(
            "target.public_key.removed",
            "target",
            "A target's (inactive) public key was removed.",
            {"targetId": "id", "keyId": "the key removed"},
        ),
        EventType(
            "execution.set",
            "execution",
            "An execution was set.",
            {
                "conditionKey": "the condition as one string (kind:selector:value)",
                "condition": "the condition as SetExecution takes it",
                "targets": "target ids in order",
            },
        ),
        EventType(
            "user.human.password.check.succeeded",
            "user",
            "A password check (CreateSession) succeeded; the failed-attempt count resets.",
            dict(_USER_REF),
        ),
        EventType(
            "user.human.password.check.failed",
            "user",
            "A password check (CreateSession) failed.",
            {**_USER_REF, "failedAttempts": "failed checks in a row, this one included"},
        ),
        EventType(
            "user.human.password.hash.updated",
            "user",
            "A user's password hash was renewed at login because the argon2 parameters changed.",
            dict(_USER_REF),
        ),
        EventType(
            "session.added",
            "session",
            "A session was created after its checks passed.",
            {"sessionId": "id", **_USER_REF, "passwordCheckedAt": "RFC 3339 time or null"},
        ),
        EventType(
            "session.removed",
            "session",
            "A session was deleted.",
            {"sessionId": "id", **_USER_REF},
        ),
        EventType(
            "instance.lockout.policy.changed",
            "instance",
            "The lockout policy changed.",
            {"maxPasswordAttempts": "failed checks that lock a user; 0 never locks"},
        ),
        EventType(
            "target.paused",
            "target",
            "Deliveries to a target were paused (by an operator, or by a 410 Gone answer).",
            {"targetId": "id", "name": "target name", "reason": "why"},
        ),
        EventType(
            "target.resumed",
            "target",
            "Deliveries to a target were resumed.",
            {"targetId": "id", "name": "target name"},
        ),
        EventType(
            "target.delivery.failed",
            "target",
            "A delivery exhausted its retry schedule and was given up.",
            {
                "targetId": "id",
                "deliveryId": "delivery id (its webhook-id is msg_<id>)",
                "trigger": "the event type or method that caused the delivery",
                "attempts": "attempts made",
                "lastStatusCode": "last HTTP status or null",
                "lastError": "last error or null",
            },
        ),
        EventType(
            "project.added",
            "project",
            "A project was created.",
            {"projectId": "id", "name": "project name"},
        ),
        EventType(
            "project.removed",
            "project",
            "A project was deleted (with its applications).",
            {"projectId": "id", "name": "project name"},
        ),
        EventType(
            "application.oidc.added",
            "application",
            "An OpenID Connect application was created.",
            {
                "appId": "id",
                "projectId": "its project",
                "name": "application name",
                "clientId": "OAuth client id",
                "appType": "web, user_agent or native",
                "authMethod": "basic, post or none",
                "redirectUris": "allowed redirect URIs",
                "postLogoutRedirectUris": "allowed post-logout redirect URIs",
                "grantTypes": "allowed grant types",
                "responseTypes": "allowed response types",
                "accessTokenType": "jwt or bearer",
            },
        ),
        EventType(
            "application.oidc.changed",
            "application",
            "An OpenID Connect application's redirect URIs changed (Keyhook's console "
            "client, when the server's address changed).",
            {
                "appId": "id",
                "redirectUris": "allowed redirect URIs now",
                "postLogoutRedirectUris": "allowed post-logout redirect URIs now",
            },
        ),
        EventType(
            "application.removed",
            "application",
            "An application was deleted.",
            {"appId": "id", "projectId": "its project", "clientId": "OAuth client id"},
        ),
        EventType(
            "instance.oidc.key.added",
            "instance",
            "A token signing key was created (its private half is a secret, never shown).",
            {"keyId": "kid", "algorithm": "JWS algorithm", "publicKey": "the public JWK"},
        ),
        EventType(
            "instance.oidc.key.retired",
            "instance",
            "A token signing key stopped signing; it stays published until its tokens expire.",
            {"keyId": "kid", "publishedUntil": "RFC 3339 time"},
        ),
        EventType(
            "instance.web_key.added",
            "instance",
            "A web key (token signing key) was created, in state initial: published, not "
            "yet signing (its private half is a secret, never shown).",
            {
                "keyId": "kid",
                "algorithm": "JWS algorithm",
                "config": "its type: rsa (bits, hasher), ecdsa (curve) or ed25519",
                "publicKey": "the public JWK",
            },
        ),
        EventType(
            "instance.web_key.activated",
            "instance",
            "A web key became the active key: it signs tokens from now on.",
            {"keyId": "kid"},
        ),
        EventType(
            "instance.web_key.deactivated",
            "instance",
            "The active web key stopped signing (another was activated); it stays "
            "published until its tokens expire.",
            {"keyId": "kid", "publishedUntil": "RFC 3339 time"},
        ),
        EventType(
            "instance.web_key.removed",
            "instance",
            "A web key was deleted: its tokens no longer verify.",
            {"keyId": "kid"},
        ),
        EventType(
            "auth_request.added",
            "auth_request",
            "A client started an authorization request at /oauth/v2/authorize.",
            {
                "authRequestId": "id",
                "appId": "the application",
                "clientId": "OAuth client id",
                "redirectUri": "where the code goes",
                "scopes": "requested scopes",
                "state": "the client's state, or null",
                "nonce": "the client's nonce, or null",
                "codeChallenge": "the PKCE challenge, or null",
                "codeChallengeMethod": "S256, or null without PKCE",
                "expiresAt": "RFC 3339 time the login must finish by",
            },
        ),
        EventType(
            "auth_request.session.linked",
            "auth_request",
            "A user signed in on the login page for this authorization request.",
            {
                "authRequestId": "id",
                "sessionId": "the session the password check created",
                **_USER_REF,
                "authTime": "RFC 3339 time of the sign-in",
            },
        ),
        EventType(
            "auth_request.code.added",
            "auth_request",
            "An authorization code was handed to the client (the code itself is never stored).",
            {"authRequestId": "id", "expiresAt": "RFC 3339 time the code expires"},
        ),
        EventType(
            "auth_request.code.exchanged",
            "auth_request",
            "The client exchanged the code for tokens.",
            {"authRequestId": "id", "oidcSessionId": "the grant the exchange started"},
        ),
        EventType(
            "auth_request.failed",
            "auth_request",
            "The authorization request ended without tokens (for example a reused code).",
            {"authRequestId": "id", "reason": "why, in a sentence"},
        ),
        EventType(
            "oidc_session.added",
            "oidc_session",
            "Tokens were granted: a code exchange or a client credentials request.",
            {
                "oidcSessionId": "id",
                **_USER_REF,
                "clientId": "OAuth client id",
                "scopes": "granted scopes",
                "grantType": "authorization_code or client_credentials",
                "sessionId": "the login session, or null",
                "authTime": "RFC 3339 time of the sign-in, or null",
            },
        ),
        EventType(
            "oidc_session.access_token.added",
            "oidc_session",
            "An access token was issued.",
            {
                "oidcSessionId": "id",
                "tokenId": "the token's jti",
                "userId": "the user's id",
                "clientId": "OAuth client id",
                "scopes": "its scopes",
                "expiresAt": "RFC 3339 time",
            },
        ),
        EventType(
            "oidc_session.refresh_token.added",
            "oidc_session",
            "A refresh token was issued with the grant.",
            {"oidcSessionId": "id", "expiresAt": "RFC 3339 time"},
        ),
        EventType(
            "oidc_session.refresh_token.renewed",
            "oidc_session",
            "A refresh token was used and replaced by a new one; the old one stops working.",
            {"oidcSessionId": "id", "expiresAt": "RFC 3339 time of the new token"},
        ),
        EventType(
            "oidc_session.access_token.revoked",
            "oidc_session",
            "An access token was revoked (RFC 7009).",
            {"oidcSessionId": "id", "tokenId": "the token's jti", "userId": "the user's id"},
        ),
        EventType(
            "oidc_session.revoked",
            "oidc_session",
            "The grant ended: its refresh token and access tokens stop working.",
            {"oidcSessionId": "id", "userId": "the user's id", "reason": "why, in a sentence"},
        ),
        EventType(
            "execution.removed",
            "execution",
            "An execution was removed (set with no targets, or its last target was deleted).",
            {
                "conditionKey": "the condition as one string (kind:selector:value)",
                "condition": "the condition as SetExecution takes it",
                "targets": "always empty",
            },
        ),
    )
}


def event_groups() -> list[str]:
    """Every dotted prefix of an event type (``user``, ``user.human``, …)."""
    groups: set[str] = set()
    for name in EVENT_TYPES:
        parts = name.split(".")
        for i in range(1, len(parts)):
            groups.add(".".join(parts[:i]))
    return sorted(groups)


def events_markdown() -> str:
    """``docs/events.md``: every event type and its ``eventData``, from the table above."""
    lines = [
        "# Events",
        "",
        "Generated from `keyhook.domain.events` by `keyhook events-doc`; do not edit by hand.",
        "",
        "Every event an event execution can name, with the members of its `eventData`.",
        "Secrets (password hashes, sealed keys, token hashes) are never part of `eventData`.",
        "An event condition may also name a group: any dotted prefix of a type",
        "(`user`, `user.human`, …); the most specific execution wins (event > deepest",
        "group > all).",
        "",
        "The payload around `eventData` is the same for every type:",
        "",
        "```json",
        '{"event":"user.locked","eventID":"…","sequence":"42","createdAt":"…",',
        ' "instanceID":"…","orgID":"…","userID":"…","aggregateType":"user",',
        ' "aggregateID":"…","eventData":{…}}',
        "```",
        "",
        "| aggregate | event types |",
        "|---|---|",
    ]
    by_aggregate: dict[str, list[EventType]] = {}
    for event in EVENT_TYPES.values():
        by_aggregate.setdefault(event.aggregate_type, []).append(event)
    lines += [f"| `{name}` | {len(found)} |" for name, found in sorted(by_aggregate.items())]
    for name, found in sorted(by_aggregate.items()):
        lines += ["", f"## {name}"]
        for event in sorted(found, key=lambda e: e.name):
            lines += ["", f"### `{event.name}`", "", event.description, ""]
            if event.data_fields:
                lines += ["| eventData member | meaning |", "|---|---|"]
                lines += [f"| `{k}` | {v} |" for k, v in event.data_fields.items()]
            else:
                lines.append("No `eventData` members.")
    return "\n".join(lines) + "\n"
