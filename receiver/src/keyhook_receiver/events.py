"""Typed ``eventData`` of every Keyhook event type, one frozen dataclass each.

Generated from Keyhook's event catalog by ``keyhook receiver-events``; do not edit by
hand (a test checks it is current). Members are the catalog's, in snake_case, each
holding the JSON value as sent (``None`` when a delivery lacks it); ``raw`` keeps the
whole object, for members newer than this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class EventData:
    """The ``eventData`` of an event type this module does not know: ``raw`` only."""

    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ApplicationOidcAddedData(EventData):
    """``application.oidc.added``: An OpenID Connect application was created."""

    app_id: Any = None
    """``appId``: id"""

    project_id: Any = None
    """``projectId``: its project"""

    name: Any = None
    """``name``: application name"""

    client_id: Any = None
    """``clientId``: OAuth client id"""

    app_type: Any = None
    """``appType``: web, user_agent or native"""

    auth_method: Any = None
    """``authMethod``: basic, post or none"""

    redirect_uris: Any = None
    """``redirectUris``: allowed redirect URIs"""

    post_logout_redirect_uris: Any = None
    """``postLogoutRedirectUris``: allowed post-logout redirect URIs"""

    grant_types: Any = None
    """``grantTypes``: allowed grant types"""

    response_types: Any = None
    """``responseTypes``: allowed response types"""

    access_token_type: Any = None
    """``accessTokenType``: jwt or bearer"""


@dataclass(frozen=True)
class ApplicationOidcChangedData(EventData):
    """``application.oidc.changed``: An OpenID Connect application's redirect URIs changed
    (Keyhook's console client, when the server's address changed).
    """

    app_id: Any = None
    """``appId``: id"""

    redirect_uris: Any = None
    """``redirectUris``: allowed redirect URIs now"""

    post_logout_redirect_uris: Any = None
    """``postLogoutRedirectUris``: allowed post-logout redirect URIs now"""


@dataclass(frozen=True)
class ApplicationRemovedData(EventData):
    """``application.removed``: An application was deleted."""

    app_id: Any = None
    """``appId``: id"""

    project_id: Any = None
    """``projectId``: its project"""

    client_id: Any = None
    """``clientId``: OAuth client id"""


@dataclass(frozen=True)
class AuthRequestAddedData(EventData):
    """``auth_request.added``: A client started an authorization request at /oauth/v2/authorize."""

    auth_request_id: Any = None
    """``authRequestId``: id"""

    app_id: Any = None
    """``appId``: the application"""

    client_id: Any = None
    """``clientId``: OAuth client id"""

    redirect_uri: Any = None
    """``redirectUri``: where the code goes"""

    scopes: Any = None
    """``scopes``: requested scopes"""

    state: Any = None
    """``state``: the client's state, or null"""

    nonce: Any = None
    """``nonce``: the client's nonce, or null"""

    code_challenge: Any = None
    """``codeChallenge``: the PKCE challenge, or null"""

    code_challenge_method: Any = None
    """``codeChallengeMethod``: S256, or null without PKCE"""

    expires_at: Any = None
    """``expiresAt``: RFC 3339 time the login must finish by"""


@dataclass(frozen=True)
class AuthRequestCodeAddedData(EventData):
    """``auth_request.code.added``: An authorization code was handed to the client (the code
    itself is never stored).
    """

    auth_request_id: Any = None
    """``authRequestId``: id"""

    expires_at: Any = None
    """``expiresAt``: RFC 3339 time the code expires"""


@dataclass(frozen=True)
class AuthRequestCodeExchangedData(EventData):
    """``auth_request.code.exchanged``: The client exchanged the code for tokens."""

    auth_request_id: Any = None
    """``authRequestId``: id"""

    oidc_session_id: Any = None
    """``oidcSessionId``: the grant the exchange started"""


@dataclass(frozen=True)
class AuthRequestFailedData(EventData):
    """``auth_request.failed``: The authorization request ended without tokens (for example a
    reused code).
    """

    auth_request_id: Any = None
    """``authRequestId``: id"""

    reason: Any = None
    """``reason``: why, in a sentence"""


@dataclass(frozen=True)
class AuthRequestSessionLinkedData(EventData):
    """``auth_request.session.linked``: A user signed in on the login page for this authorization
    request.
    """

    auth_request_id: Any = None
    """``authRequestId``: id"""

    session_id: Any = None
    """``sessionId``: the session the password check created"""

    user_id: Any = None
    """``userId``: the user's id"""

    user_name: Any = None
    """``userName``: the user's login name"""

    auth_time: Any = None
    """``authTime``: RFC 3339 time of the sign-in"""


@dataclass(frozen=True)
class ExecutionRemovedData(EventData):
    """``execution.removed``: An execution was removed (set with no targets, or its last target
    was deleted).
    """

    condition_key: Any = None
    """``conditionKey``: the condition as one string (kind:selector:value)"""

    condition: Any = None
    """``condition``: the condition as SetExecution takes it"""

    targets: Any = None
    """``targets``: always empty"""


@dataclass(frozen=True)
class ExecutionSetData(EventData):
    """``execution.set``: An execution was set."""

    condition_key: Any = None
    """``conditionKey``: the condition as one string (kind:selector:value)"""

    condition: Any = None
    """``condition``: the condition as SetExecution takes it"""

    targets: Any = None
    """``targets``: target ids in order"""


@dataclass(frozen=True)
class InstanceAddedData(EventData):
    """``instance.added``: The instance was set up at first start."""

    instance_id: Any = None
    """``instanceId``: id"""

    name: Any = None
    """``name``: instance name"""

    default_org_id: Any = None
    """``defaultOrgId``: the default organization"""

    admin_user_id: Any = None
    """``adminUserId``: the admin machine user"""


@dataclass(frozen=True)
class InstanceLockoutPolicyChangedData(EventData):
    """``instance.lockout.policy.changed``: The lockout policy changed."""

    max_password_attempts: Any = None
    """``maxPasswordAttempts``: failed checks that lock a user; 0 never locks"""


@dataclass(frozen=True)
class InstanceMemberAddedData(EventData):
    """``instance.member.added``: A user was made an administrator of the instance."""

    user_id: Any = None
    """``userId``: the administrator's user id"""

    roles: Any = None
    """``roles``: its roles (IAM_*)"""


@dataclass(frozen=True)
class InstanceMemberChangedData(EventData):
    """``instance.member.changed``: An administrator of the instance was given other roles."""

    user_id: Any = None
    """``userId``: the administrator's user id"""

    roles: Any = None
    """``roles``: its roles now"""


@dataclass(frozen=True)
class InstanceMemberRemovedData(EventData):
    """``instance.member.removed``: A user is no longer an administrator of the instance."""

    user_id: Any = None
    """``userId``: the former administrator's user id"""


@dataclass(frozen=True)
class InstanceOidcKeyAddedData(EventData):
    """``instance.oidc.key.added``: A token signing key was created (its private half is a
    secret, never shown).
    """

    key_id: Any = None
    """``keyId``: kid"""

    algorithm: Any = None
    """``algorithm``: JWS algorithm"""

    public_key: Any = None
    """``publicKey``: the public JWK"""


@dataclass(frozen=True)
class InstanceOidcKeyRetiredData(EventData):
    """``instance.oidc.key.retired``: A token signing key stopped signing; it stays published
    until its tokens expire.
    """

    key_id: Any = None
    """``keyId``: kid"""

    published_until: Any = None
    """``publishedUntil``: RFC 3339 time"""


@dataclass(frozen=True)
class InstanceWebKeyActivatedData(EventData):
    """``instance.web_key.activated``: A web key became the active key: it signs tokens from now
    on.
    """

    key_id: Any = None
    """``keyId``: kid"""


@dataclass(frozen=True)
class InstanceWebKeyAddedData(EventData):
    """``instance.web_key.added``: A web key (token signing key) was created, in state initial:
    published, not yet signing (its private half is a secret, never shown).
    """

    key_id: Any = None
    """``keyId``: kid"""

    algorithm: Any = None
    """``algorithm``: JWS algorithm"""

    config: Any = None
    """``config``: its type: rsa (bits, hasher), ecdsa (curve) or ed25519"""

    public_key: Any = None
    """``publicKey``: the public JWK"""


@dataclass(frozen=True)
class InstanceWebKeyDeactivatedData(EventData):
    """``instance.web_key.deactivated``: The active web key stopped signing (another was
    activated); it stays published until its tokens expire.
    """

    key_id: Any = None
    """``keyId``: kid"""

    published_until: Any = None
    """``publishedUntil``: RFC 3339 time"""


@dataclass(frozen=True)
class InstanceWebKeyRemovedData(EventData):
    """``instance.web_key.removed``: A web key was deleted: its tokens no longer verify."""

    key_id: Any = None
    """``keyId``: kid"""


@dataclass(frozen=True)
class OidcSessionAccessTokenAddedData(EventData):
    """``oidc_session.access_token.added``: An access token was issued."""

    oidc_session_id: Any = None
    """``oidcSessionId``: id"""

    token_id: Any = None
    """``tokenId``: the token's jti"""

    user_id: Any = None
    """``userId``: the user's id"""

    client_id: Any = None
    """``clientId``: OAuth client id"""

    scopes: Any = None
    """``scopes``: its scopes"""

    expires_at: Any = None
    """``expiresAt``: RFC 3339 time"""


@dataclass(frozen=True)
class OidcSessionAccessTokenRevokedData(EventData):
    """``oidc_session.access_token.revoked``: An access token was revoked (RFC 7009)."""

    oidc_session_id: Any = None
    """``oidcSessionId``: id"""

    token_id: Any = None
    """``tokenId``: the token's jti"""

    user_id: Any = None
    """``userId``: the user's id"""


@dataclass(frozen=True)
class OidcSessionAddedData(EventData):
    """``oidc_session.added``: Tokens were granted: a code exchange or a client credentials
    request.
    """

    oidc_session_id: Any = None
    """``oidcSessionId``: id"""

    user_id: Any = None
    """``userId``: the user's id"""

    user_name: Any = None
    """``userName``: the user's login name"""

    client_id: Any = None
    """``clientId``: OAuth client id"""

    scopes: Any = None
    """``scopes``: granted scopes"""

    grant_type: Any = None
    """``grantType``: authorization_code or client_credentials"""

    session_id: Any = None
    """``sessionId``: the login session, or null"""

    auth_time: Any = None
    """``authTime``: RFC 3339 time of the sign-in, or null"""


@dataclass(frozen=True)
class OidcSessionRefreshTokenAddedData(EventData):
    """``oidc_session.refresh_token.added``: A refresh token was issued with the grant."""

    oidc_session_id: Any = None
    """``oidcSessionId``: id"""

    expires_at: Any = None
    """``expiresAt``: RFC 3339 time"""


@dataclass(frozen=True)
class OidcSessionRefreshTokenRenewedData(EventData):
    """``oidc_session.refresh_token.renewed``: A refresh token was used and replaced by a new
    one; the old one stops working.
    """

    oidc_session_id: Any = None
    """``oidcSessionId``: id"""

    expires_at: Any = None
    """``expiresAt``: RFC 3339 time of the new token"""


@dataclass(frozen=True)
class OidcSessionRevokedData(EventData):
    """``oidc_session.revoked``: The grant ended: its refresh token and access tokens stop
    working.
    """

    oidc_session_id: Any = None
    """``oidcSessionId``: id"""

    user_id: Any = None
    """``userId``: the user's id"""

    reason: Any = None
    """``reason``: why, in a sentence"""


@dataclass(frozen=True)
class OrgAddedData(EventData):
    """``org.added``: An organization was created."""

    org_id: Any = None
    """``orgId``: id"""

    name: Any = None
    """``name``: organization name"""


@dataclass(frozen=True)
class OrgMemberAddedData(EventData):
    """``org.member.added``: A user was made an administrator of an organization."""

    user_id: Any = None
    """``userId``: the administrator's user id"""

    roles: Any = None
    """``roles``: its roles (ORG_*)"""


@dataclass(frozen=True)
class OrgMemberChangedData(EventData):
    """``org.member.changed``: An administrator of an organization was given other roles."""

    user_id: Any = None
    """``userId``: the administrator's user id"""

    roles: Any = None
    """``roles``: its roles now"""


@dataclass(frozen=True)
class OrgMemberRemovedData(EventData):
    """``org.member.removed``: A user is no longer an administrator of an organization."""

    user_id: Any = None
    """``userId``: the former administrator's user id"""


@dataclass(frozen=True)
class ProjectAddedData(EventData):
    """``project.added``: A project was created."""

    project_id: Any = None
    """``projectId``: id"""

    name: Any = None
    """``name``: project name"""


@dataclass(frozen=True)
class ProjectRemovedData(EventData):
    """``project.removed``: A project was deleted (with its applications)."""

    project_id: Any = None
    """``projectId``: id"""

    name: Any = None
    """``name``: project name"""


@dataclass(frozen=True)
class SessionAddedData(EventData):
    """``session.added``: A session was created after its checks passed."""

    session_id: Any = None
    """``sessionId``: id"""

    user_id: Any = None
    """``userId``: the user's id"""

    user_name: Any = None
    """``userName``: the user's login name"""

    password_checked_at: Any = None
    """``passwordCheckedAt``: RFC 3339 time or null"""


@dataclass(frozen=True)
class SessionRemovedData(EventData):
    """``session.removed``: A session was deleted."""

    session_id: Any = None
    """``sessionId``: id"""

    user_id: Any = None
    """``userId``: the user's id"""

    user_name: Any = None
    """``userName``: the user's login name"""


@dataclass(frozen=True)
class TargetAddedData(EventData):
    """``target.added``: A target was created."""

    target_id: Any = None
    """``targetId``: id"""

    name: Any = None
    """``name``: target name"""

    endpoint: Any = None
    """``endpoint``: URL"""

    timeout_seconds: Any = None
    """``timeoutSeconds``: timeout in seconds"""

    target_type: Any = None
    """``targetType``: restWebhook, restCall or restAsync"""

    interrupt_on_error: Any = None
    """``interruptOnError``: whether a failure aborts the call"""

    payload_type: Any = None
    """``payloadType``: PAYLOAD_TYPE_JSON, PAYLOAD_TYPE_JWT or PAYLOAD_TYPE_JWE (absent in events
    written before payload types: JSON)
    """


@dataclass(frozen=True)
class TargetChangedData(EventData):
    """``target.changed``: A target was changed."""

    target_id: Any = None
    """``targetId``: id"""

    changed: Any = None
    """``changed``: names of the changed fields; the new values of name, endpoint,
    timeoutSeconds, targetType, interruptOnError and payloadType follow as members of their
    own (new signing keys and headers are secrets and never shown)
    """


@dataclass(frozen=True)
class TargetDeliveryFailedData(EventData):
    """``target.delivery.failed``: A delivery exhausted its retry schedule and was given up."""

    target_id: Any = None
    """``targetId``: id"""

    delivery_id: Any = None
    """``deliveryId``: delivery id (its webhook-id is msg_<id>)"""

    trigger: Any = None
    """``trigger``: the event type or method that caused the delivery"""

    attempts: Any = None
    """``attempts``: attempts made"""

    last_status_code: Any = None
    """``lastStatusCode``: last HTTP status or null"""

    last_error: Any = None
    """``lastError``: last error or null"""


@dataclass(frozen=True)
class TargetPausedData(EventData):
    """``target.paused``: Deliveries to a target were paused (by an operator, or by a 410 Gone
    answer).
    """

    target_id: Any = None
    """``targetId``: id"""

    name: Any = None
    """``name``: target name"""

    reason: Any = None
    """``reason``: why"""


@dataclass(frozen=True)
class TargetPublicKeyActivatedData(EventData):
    """``target.public_key.activated``: A target's public key became the one its JWE payloads are
    encrypted to.
    """

    target_id: Any = None
    """``targetId``: id"""

    key_id: Any = None
    """``keyId``: the key activated"""

    deactivated_key_id: Any = None
    """``deactivatedKeyId``: the key active before, or null"""


@dataclass(frozen=True)
class TargetPublicKeyAddedData(EventData):
    """``target.public_key.added``: A public key was added to a target (inactive) for its JWE
    payloads.
    """

    target_id: Any = None
    """``targetId``: id"""

    key_id: Any = None
    """``keyId``: the key's id (the kid of JWE payloads encrypted to it)"""

    public_key: Any = None
    """``publicKey``: the key as PEM"""

    fingerprint: Any = None
    """``fingerprint``: SHA256: and base64 of the key's SHA-256 (DER)"""

    algorithm: Any = None
    """``algorithm``: RSA-OAEP-256 or ECDH-ES+A256KW"""

    expiration_date: Any = None
    """``expirationDate``: when it is used no more, or null"""


@dataclass(frozen=True)
class TargetPublicKeyDeactivatedData(EventData):
    """``target.public_key.deactivated``: A target's public key is no longer encrypted to."""

    target_id: Any = None
    """``targetId``: id"""

    key_id: Any = None
    """``keyId``: the key deactivated"""


@dataclass(frozen=True)
class TargetPublicKeyRemovedData(EventData):
    """``target.public_key.removed``: A target's (inactive) public key was removed."""

    target_id: Any = None
    """``targetId``: id"""

    key_id: Any = None
    """``keyId``: the key removed"""


@dataclass(frozen=True)
class TargetRemovedData(EventData):
    """``target.removed``: A target was deleted."""

    target_id: Any = None
    """``targetId``: id"""

    name: Any = None
    """``name``: target name"""


@dataclass(frozen=True)
class TargetResumedData(EventData):
    """``target.resumed``: Deliveries to a target were resumed."""

    target_id: Any = None
    """``targetId``: id"""

    name: Any = None
    """``name``: target name"""


@dataclass(frozen=True)
class UserDeactivatedData(EventData):
    """``user.deactivated``: A user was deactivated."""

    user_id: Any = None
    """``userId``: the user's id"""

    user_name: Any = None
    """``userName``: the user's login name"""


@dataclass(frozen=True)
class UserHumanAddedData(EventData):
    """``user.human.added``: A human user was created."""

    user_id: Any = None
    """``userId``: the user's id"""

    user_name: Any = None
    """``userName``: the user's login name"""

    given_name: Any = None
    """``givenName``: given name"""

    family_name: Any = None
    """``familyName``: family name"""

    display_name: Any = None
    """``displayName``: display name"""

    nick_name: Any = None
    """``nickName``: nickname"""

    preferred_language: Any = None
    """``preferredLanguage``: preferred language"""

    email: Any = None
    """``email``: email address"""

    email_verified: Any = None
    """``emailVerified``: whether the email is verified"""

    phone: Any = None
    """``phone``: phone number"""

    phone_verified: Any = None
    """``phoneVerified``: whether the phone is verified"""

    metadata: Any = None
    """``metadata``: list of {key, value} set at creation"""

    password_change_required: Any = None
    """``passwordChangeRequired``: whether the user must change its password at its first sign-in
    (false without a password)
    """


@dataclass(frozen=True)
class UserHumanChangedData(EventData):
    """``user.human.changed``: A human user's profile, email or phone changed."""

    user_id: Any = None
    """``userId``: the user's id"""

    user_name: Any = None
    """``userName``: the user's login name"""

    changed: Any = None
    """``changed``: the fields that changed and their new values"""


@dataclass(frozen=True)
class UserHumanPasswordChangedData(EventData):
    """``user.human.password.changed``: A user's password was set."""

    user_id: Any = None
    """``userId``: the user's id"""

    user_name: Any = None
    """``userName``: the user's login name"""

    change_required: Any = None
    """``changeRequired``: whether the user must change it at next sign-in"""


@dataclass(frozen=True)
class UserHumanPasswordCheckFailedData(EventData):
    """``user.human.password.check.failed``: A password check (CreateSession) failed."""

    user_id: Any = None
    """``userId``: the user's id"""

    user_name: Any = None
    """``userName``: the user's login name"""

    failed_attempts: Any = None
    """``failedAttempts``: failed checks in a row, this one included"""


@dataclass(frozen=True)
class UserHumanPasswordCheckSucceededData(EventData):
    """``user.human.password.check.succeeded``: A password check (CreateSession) succeeded; the
    failed-attempt count resets.
    """

    user_id: Any = None
    """``userId``: the user's id"""

    user_name: Any = None
    """``userName``: the user's login name"""


@dataclass(frozen=True)
class UserHumanPasswordHashUpdatedData(EventData):
    """``user.human.password.hash.updated``: A user's password hash was renewed at login because
    the argon2 parameters changed.
    """

    user_id: Any = None
    """``userId``: the user's id"""

    user_name: Any = None
    """``userName``: the user's login name"""


@dataclass(frozen=True)
class UserLockedData(EventData):
    """``user.locked``: A user was locked."""

    user_id: Any = None
    """``userId``: the user's id"""

    user_name: Any = None
    """``userName``: the user's login name"""

    locked_at: Any = None
    """``lockedAt``: RFC 3339 time"""

    reason: Any = None
    """``reason``: `Too many failed login attempts` or `Locked by administrator`"""


@dataclass(frozen=True)
class UserMachineAddedData(EventData):
    """``user.machine.added``: A machine user was created."""

    user_id: Any = None
    """``userId``: the user's id"""

    user_name: Any = None
    """``userName``: the user's login name"""

    name: Any = None
    """``name``: display name"""

    description: Any = None
    """``description``: description (may be empty)"""

    access_token_type: Any = None
    """``accessTokenType``: bearer or jwt"""


@dataclass(frozen=True)
class UserMachineChangedData(EventData):
    """``user.machine.changed``: A machine user's name, description or user name changed
    (UpdateUser).
    """

    user_id: Any = None
    """``userId``: the user's id"""

    user_name: Any = None
    """``userName``: the user's login name"""

    changed: Any = None
    """``changed``: the fields that changed and their new values"""


@dataclass(frozen=True)
class UserMachineSecretRemovedData(EventData):
    """``user.machine.secret.removed``: A machine user's client secret was removed
    (RemoveSecret).
    """

    user_id: Any = None
    """``userId``: the user's id"""

    user_name: Any = None
    """``userName``: the user's login name"""


@dataclass(frozen=True)
class UserMachineSecretSetData(EventData):
    """``user.machine.secret.set``: A machine user's client secret was set (AddSecret), replacing
    any earlier one; the secret and its hash are never shown.
    """

    user_id: Any = None
    """``userId``: the user's id"""

    user_name: Any = None
    """``userName``: the user's login name"""


@dataclass(frozen=True)
class UserMetadataRemovedData(EventData):
    """``user.metadata.removed``: User metadata was removed."""

    user_id: Any = None
    """``userId``: the user's id"""

    user_name: Any = None
    """``userName``: the user's login name"""

    key: Any = None
    """``key``: metadata key"""


@dataclass(frozen=True)
class UserMetadataSetData(EventData):
    """``user.metadata.set``: User metadata was set."""

    user_id: Any = None
    """``userId``: the user's id"""

    user_name: Any = None
    """``userName``: the user's login name"""

    key: Any = None
    """``key``: metadata key"""

    value: Any = None
    """``value``: metadata value (string)"""


@dataclass(frozen=True)
class UserPatAddedData(EventData):
    """``user.pat.added``: A personal access token was issued to a machine user."""

    user_id: Any = None
    """``userId``: the user's id"""

    user_name: Any = None
    """``userName``: the user's login name"""

    token_id: Any = None
    """``tokenId``: token id"""

    expiration_date: Any = None
    """``expirationDate``: expiry or null"""


@dataclass(frozen=True)
class UserPatRemovedData(EventData):
    """``user.pat.removed``: A personal access token of a machine user was removed; it no longer
    works.
    """

    user_id: Any = None
    """``userId``: the user's id"""

    user_name: Any = None
    """``userName``: the user's login name"""

    token_id: Any = None
    """``tokenId``: token id"""


@dataclass(frozen=True)
class UserReactivatedData(EventData):
    """``user.reactivated``: A user was reactivated."""

    user_id: Any = None
    """``userId``: the user's id"""

    user_name: Any = None
    """``userName``: the user's login name"""


@dataclass(frozen=True)
class UserRemovedData(EventData):
    """``user.removed``: A user was deleted."""

    user_id: Any = None
    """``userId``: the user's id"""

    user_name: Any = None
    """``userName``: the user's login name"""


@dataclass(frozen=True)
class UserUnlockedData(EventData):
    """``user.unlocked``: A user was unlocked."""

    user_id: Any = None
    """``userId``: the user's id"""

    user_name: Any = None
    """``userName``: the user's login name"""


#: Each event type's data class, by the type's name.
EVENT_DATA: dict[str, type[EventData]] = {
    "application.oidc.added": ApplicationOidcAddedData,
    "application.oidc.changed": ApplicationOidcChangedData,
    "application.removed": ApplicationRemovedData,
    "auth_request.added": AuthRequestAddedData,
    "auth_request.code.added": AuthRequestCodeAddedData,
    "auth_request.code.exchanged": AuthRequestCodeExchangedData,
    "auth_request.failed": AuthRequestFailedData,
    "auth_request.session.linked": AuthRequestSessionLinkedData,
    "execution.removed": ExecutionRemovedData,
    "execution.set": ExecutionSetData,
    "instance.added": InstanceAddedData,
    "instance.lockout.policy.changed": InstanceLockoutPolicyChangedData,
    "instance.member.added": InstanceMemberAddedData,
    "instance.member.changed": InstanceMemberChangedData,
    "instance.member.removed": InstanceMemberRemovedData,
    "instance.oidc.key.added": InstanceOidcKeyAddedData,
    "instance.oidc.key.retired": InstanceOidcKeyRetiredData,
    "instance.web_key.activated": InstanceWebKeyActivatedData,
    "instance.web_key.added": InstanceWebKeyAddedData,
    "instance.web_key.deactivated": InstanceWebKeyDeactivatedData,
    "instance.web_key.removed": InstanceWebKeyRemovedData,
    "oidc_session.access_token.added": OidcSessionAccessTokenAddedData,
    "oidc_session.access_token.revoked": OidcSessionAccessTokenRevokedData,
    "oidc_session.added": OidcSessionAddedData,
    "oidc_session.refresh_token.added": OidcSessionRefreshTokenAddedData,
    "oidc_session.refresh_token.renewed": OidcSessionRefreshTokenRenewedData,
    "oidc_session.revoked": OidcSessionRevokedData,
    "org.added": OrgAddedData,
    "org.member.added": OrgMemberAddedData,
    "org.member.changed": OrgMemberChangedData,
    "org.member.removed": OrgMemberRemovedData,
    "project.added": ProjectAddedData,
    "project.removed": ProjectRemovedData,
    "session.added": SessionAddedData,
    "session.removed": SessionRemovedData,
    "target.added": TargetAddedData,
    "target.changed": TargetChangedData,
    "target.delivery.failed": TargetDeliveryFailedData,
    "target.paused": TargetPausedData,
    "target.public_key.activated": TargetPublicKeyActivatedData,
    "target.public_key.added": TargetPublicKeyAddedData,
    "target.public_key.deactivated": TargetPublicKeyDeactivatedData,
    "target.public_key.removed": TargetPublicKeyRemovedData,
    "target.removed": TargetRemovedData,
    "target.resumed": TargetResumedData,
    "user.deactivated": UserDeactivatedData,
    "user.human.added": UserHumanAddedData,
    "user.human.changed": UserHumanChangedData,
    "user.human.password.changed": UserHumanPasswordChangedData,
    "user.human.password.check.failed": UserHumanPasswordCheckFailedData,
    "user.human.password.check.succeeded": UserHumanPasswordCheckSucceededData,
    "user.human.password.hash.updated": UserHumanPasswordHashUpdatedData,
    "user.locked": UserLockedData,
    "user.machine.added": UserMachineAddedData,
    "user.machine.changed": UserMachineChangedData,
    "user.machine.secret.removed": UserMachineSecretRemovedData,
    "user.machine.secret.set": UserMachineSecretSetData,
    "user.metadata.removed": UserMetadataRemovedData,
    "user.metadata.set": UserMetadataSetData,
    "user.pat.added": UserPatAddedData,
    "user.pat.removed": UserPatRemovedData,
    "user.reactivated": UserReactivatedData,
    "user.removed": UserRemovedData,
    "user.unlocked": UserUnlockedData,
}

#: The catalog's member names (camelCase, as sent) of each data class.
MEMBERS: dict[str, dict[str, str]] = {
    "application.oidc.added": {
        "appId": "app_id",
        "projectId": "project_id",
        "name": "name",
        "clientId": "client_id",
        "appType": "app_type",
        "authMethod": "auth_method",
        "redirectUris": "redirect_uris",
        "postLogoutRedirectUris": "post_logout_redirect_uris",
        "grantTypes": "grant_types",
        "responseTypes": "response_types",
        "accessTokenType": "access_token_type",
    },
    "application.oidc.changed": {
        "appId": "app_id",
        "redirectUris": "redirect_uris",
        "postLogoutRedirectUris": "post_logout_redirect_uris",
    },
    "application.removed": {
        "appId": "app_id",
        "projectId": "project_id",
        "clientId": "client_id",
    },
    "auth_request.added": {
        "authRequestId": "auth_request_id",
        "appId": "app_id",
        "clientId": "client_id",
        "redirectUri": "redirect_uri",
        "scopes": "scopes",
        "state": "state",
        "nonce": "nonce",
        "codeChallenge": "code_challenge",
        "codeChallengeMethod": "code_challenge_method",
        "expiresAt": "expires_at",
    },
    "auth_request.code.added": {
        "authRequestId": "auth_request_id",
        "expiresAt": "expires_at",
    },
    "auth_request.code.exchanged": {
        "authRequestId": "auth_request_id",
        "oidcSessionId": "oidc_session_id",
    },
    "auth_request.failed": {
        "authRequestId": "auth_request_id",
        "reason": "reason",
    },
    "auth_request.session.linked": {
        "authRequestId": "auth_request_id",
        "sessionId": "session_id",
        "userId": "user_id",
        "userName": "user_name",
        "authTime": "auth_time",
    },
    "execution.removed": {
        "conditionKey": "condition_key",
        "condition": "condition",
        "targets": "targets",
    },
    "execution.set": {
        "conditionKey": "condition_key",
        "condition": "condition",
        "targets": "targets",
    },
    "instance.added": {
        "instanceId": "instance_id",
        "name": "name",
        "defaultOrgId": "default_org_id",
        "adminUserId": "admin_user_id",
    },
    "instance.lockout.policy.changed": {
        "maxPasswordAttempts": "max_password_attempts",
    },
    "instance.member.added": {
        "userId": "user_id",
        "roles": "roles",
    },
    "instance.member.changed": {
        "userId": "user_id",
        "roles": "roles",
    },
    "instance.member.removed": {
        "userId": "user_id",
    },
    "instance.oidc.key.added": {
        "keyId": "key_id",
        "algorithm": "algorithm",
        "publicKey": "public_key",
    },
    "instance.oidc.key.retired": {
        "keyId": "key_id",
        "publishedUntil": "published_until",
    },
    "instance.web_key.activated": {
        "keyId": "key_id",
    },
    "instance.web_key.added": {
        "keyId": "key_id",
        "algorithm": "algorithm",
        "config": "config",
        "publicKey": "public_key",
    },
    "instance.web_key.deactivated": {
        "keyId": "key_id",
        "publishedUntil": "published_until",
    },
    "instance.web_key.removed": {
        "keyId": "key_id",
    },
    "oidc_session.access_token.added": {
        "oidcSessionId": "oidc_session_id",
        "tokenId": "token_id",
        "userId": "user_id",
        "clientId": "client_id",
        "scopes": "scopes",
        "expiresAt": "expires_at",
    },
    "oidc_session.access_token.revoked": {
        "oidcSessionId": "oidc_session_id",
        "tokenId": "token_id",
        "userId": "user_id",
    },
    "oidc_session.added": {
        "oidcSessionId": "oidc_session_id",
        "userId": "user_id",
        "userName": "user_name",
        "clientId": "client_id",
        "scopes": "scopes",
        "grantType": "grant_type",
        "sessionId": "session_id",
        "authTime": "auth_time",
    },
    "oidc_session.refresh_token.added": {
        "oidcSessionId": "oidc_session_id",
        "expiresAt": "expires_at",
    },
    "oidc_session.refresh_token.renewed": {
        "oidcSessionId": "oidc_session_id",
        "expiresAt": "expires_at",
    },
    "oidc_session.revoked": {
        "oidcSessionId": "oidc_session_id",
        "userId": "user_id",
        "reason": "reason",
    },
    "org.added": {
        "orgId": "org_id",
        "name": "name",
    },
    "org.member.added": {
        "userId": "user_id",
        "roles": "roles",
    },
    "org.member.changed": {
        "userId": "user_id",
        "roles": "roles",
    },
    "org.member.removed": {
        "userId": "user_id",
    },
    "project.added": {
        "projectId": "project_id",
        "name": "name",
    },
    "project.removed": {
        "projectId": "project_id",
        "name": "name",
    },
    "session.added": {
        "sessionId": "session_id",
        "userId": "user_id",
        "userName": "user_name",
        "passwordCheckedAt": "password_checked_at",
    },
    "session.removed": {
        "sessionId": "session_id",
        "userId": "user_id",
        "userName": "user_name",
    },
    "target.added": {
        "targetId": "target_id",
        "name": "name",
        "endpoint": "endpoint",
        "timeoutSeconds": "timeout_seconds",
        "targetType": "target_type",
        "interruptOnError": "interrupt_on_error",
        "payloadType": "payload_type",
    },
    "target.changed": {
        "targetId": "target_id",
        "changed": "changed",
    },
    "target.delivery.failed": {
        "targetId": "target_id",
        "deliveryId": "delivery_id",
        "trigger": "trigger",
        "attempts": "attempts",
        "lastStatusCode": "last_status_code",
        "lastError": "last_error",
    },
    "target.paused": {
        "targetId": "target_id",
        "name": "name",
        "reason": "reason",
    },
    "target.public_key.activated": {
        "targetId": "target_id",
        "keyId": "key_id",
        "deactivatedKeyId": "deactivated_key_id",
    },
    "target.public_key.added": {
        "targetId": "target_id",
        "keyId": "key_id",
        "publicKey": "public_key",
        "fingerprint": "fingerprint",
        "algorithm": "algorithm",
        "expirationDate": "expiration_date",
    },
    "target.public_key.deactivated": {
        "targetId": "target_id",
        "keyId": "key_id",
    },
    "target.public_key.removed": {
        "targetId": "target_id",
        "keyId": "key_id",
    },
    "target.removed": {
        "targetId": "target_id",
        "name": "name",
    },
    "target.resumed": {
        "targetId": "target_id",
        "name": "name",
    },
    "user.deactivated": {
        "userId": "user_id",
        "userName": "user_name",
    },
    "user.human.added": {
        "userId": "user_id",
        "userName": "user_name",
        "givenName": "given_name",
        "familyName": "family_name",
        "displayName": "display_name",
        "nickName": "nick_name",
        "preferredLanguage": "preferred_language",
        "email": "email",
        "emailVerified": "email_verified",
        "phone": "phone",
        "phoneVerified": "phone_verified",
        "metadata": "metadata",
        "passwordChangeRequired": "password_change_required",
    },
    "user.human.changed": {
        "userId": "user_id",
        "userName": "user_name",
        "changed": "changed",
    },
    "user.human.password.changed": {
        "userId": "user_id",
        "userName": "user_name",
        "changeRequired": "change_required",
    },
    "user.human.password.check.failed": {
        "userId": "user_id",
        "userName": "user_name",
        "failedAttempts": "failed_attempts",
    },
    "user.human.password.check.succeeded": {
        "userId": "user_id",
        "userName": "user_name",
    },
    "user.human.password.hash.updated": {
        "userId": "user_id",
        "userName": "user_name",
    },
    "user.locked": {
        "userId": "user_id",
        "userName": "user_name",
        "lockedAt": "locked_at",
        "reason": "reason",
    },
    "user.machine.added": {
        "userId": "user_id",
        "userName": "user_name",
        "name": "name",
        "description": "description",
        "accessTokenType": "access_token_type",
    },
    "user.machine.changed": {
        "userId": "user_id",
        "userName": "user_name",
        "changed": "changed",
    },
    "user.machine.secret.removed": {
        "userId": "user_id",
        "userName": "user_name",
    },
    "user.machine.secret.set": {
        "userId": "user_id",
        "userName": "user_name",
    },
    "user.metadata.removed": {
        "userId": "user_id",
        "userName": "user_name",
        "key": "key",
    },
    "user.metadata.set": {
        "userId": "user_id",
        "userName": "user_name",
        "key": "key",
        "value": "value",
    },
    "user.pat.added": {
        "userId": "user_id",
        "userName": "user_name",
        "tokenId": "token_id",
        "expirationDate": "expiration_date",
    },
    "user.pat.removed": {
        "userId": "user_id",
        "userName": "user_name",
        "tokenId": "token_id",
    },
    "user.reactivated": {
        "userId": "user_id",
        "userName": "user_name",
    },
    "user.removed": {
        "userId": "user_id",
        "userName": "user_name",
    },
    "user.unlocked": {
        "userId": "user_id",
        "userName": "user_name",
    },
}


def event_data(event_type: str, data: Mapping[str, Any]) -> EventData:
    """``data`` as its type's class (an :class:`EventData` for a type not known)."""
    cls = EVENT_DATA.get(event_type)
    if cls is None:
        return EventData(raw=data)
    members = MEMBERS[event_type]
    values = {attr: data.get(name) for name, attr in members.items()}
    return cls(raw=data, **values)
