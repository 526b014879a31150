"""Table definitions (SQLAlchemy Core). Migrations in ``migrations/`` create them.

``events`` and ``unique_constraints`` are the event store; every other table is
a read table maintained in the same transaction as the events that change it.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    func,
)

metadata = MetaData()

ID = String(20)
TS = DateTime(timezone=True)
# Buckets of target_stats' latency histogram (keyhook.storage.target_stats.BOUNDS).
STAT_BUCKETS = 78

events = Table(
    "events",
    metadata,
    Column(
        "position",
        BigInteger().with_variant(Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    Column("instance_id", ID, nullable=False),
    Column("aggregate_type", String(40), nullable=False),
    Column("aggregate_id", ID, nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("event_type", String(100), nullable=False),
    Column("resource_owner", ID, nullable=False),
    Column("creator", ID, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("payload", Text, nullable=False),
    UniqueConstraint(
        "instance_id",
        "aggregate_type",
        "aggregate_id",
        "sequence",
        name="uq_events_aggregate_sequence",
    ),
)
Index("ix_events_type_position", events.c.event_type, events.c.position)

unique_constraints = Table(
    "unique_constraints",
    metadata,
    Column("instance_id", ID, primary_key=True),
    Column("unique_type", String(60), primary_key=True),
    Column("unique_field", String(400), primary_key=True),
)

instances = Table(
    "instances",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("default_org_id", ID, nullable=False),
    Column("admin_user_id", ID, nullable=False),
    Column("actions_generation", BigInteger, nullable=False, default=0),
    Column("lockout_max_attempts", Integer, nullable=False, default=5, server_default="5"),
    Column("created_at", TS, nullable=False),
)

orgs = Table(
    "orgs",
    metadata,
    Column("id", ID, primary_key=True),
    Column("instance_id", ID, nullable=False),
    Column("name", String(200), nullable=False),
    Column("created_at", TS, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", ID, primary_key=True),
    Column("instance_id", ID, nullable=False),
    Column("org_id", ID, nullable=False),
    Column("user_name", String(200), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("state", String(30), nullable=False),
    Column("given_name", String(200), nullable=False, default=""),
    Column("family_name", String(200), nullable=False, default=""),
    Column("display_name", String(200), nullable=False, default=""),
    Column("nick_name", String(200), nullable=False, default=""),
    Column("preferred_language", String(20), nullable=False, default=""),
    Column("email", String(320), nullable=False, default=""),
    Column("email_verified", Boolean, nullable=False, default=False),
    Column("phone", String(40), nullable=False, default=""),
    Column("phone_verified", Boolean, nullable=False, default=False),
    Column("password_hash", Text, nullable=True),
    # The user must choose a new password at its next sign-in (an initial password).
    Column(
        "password_change_required", Boolean, nullable=False, default=False, server_default=false()
    ),
    # A machine user's client secret (client credentials grant), argon2-hashed.
    Column("secret_hash", Text, nullable=True),
    Column("failed_attempts", Integer, nullable=False, default=0),
    Column("sequence", Integer, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("changed_at", TS, nullable=False),
)
Index("ix_users_org_name", users.c.instance_id, users.c.org_id, users.c.user_name)
Index("ix_users_lower_user_name", func.lower(users.c.user_name))
# ListUsers: the instance's users in id order, and their count, from the index alone.
Index("ix_users_instance", users.c.instance_id, users.c.id)

# Exact row totals per instance, kept by the projections in the transactions that add
# and remove the rows (keyhook.command.row_counts): a list's total without counting
# 100,000 rows. A total is the sum of a few slots, so concurrent writers on PostgreSQL
# do not all queue for one row's lock.
row_counts = Table(
    "row_counts",
    metadata,
    Column("instance_id", ID, primary_key=True),
    Column("table_name", String(40), primary_key=True),
    Column("slot", Integer, primary_key=True),
    Column("row_count", BigInteger, nullable=False),
)

user_metadata = Table(
    "user_metadata",
    metadata,
    Column("user_id", ID, primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("value", Text, nullable=False),
)

personal_access_tokens = Table(
    "personal_access_tokens",
    metadata,
    Column("id", ID, primary_key=True),
    Column("user_id", ID, nullable=False),
    Column("instance_id", ID, nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("expires_at", TS, nullable=True),
    Column("created_at", TS, nullable=False),
)

# Who administers what: a user's roles on the instance (resource_type "instance",
# resource_id the instance id) or on one organization ("org", the org id). Roles are a
# JSON list of names from keyhook.domain.roles.
administrators = Table(
    "administrators",
    metadata,
    Column("user_id", ID, primary_key=True),
    Column("resource_id", ID, primary_key=True),
    Column("instance_id", ID, nullable=False),
    Column("resource_type", String(20), nullable=False),
    Column("roles", Text, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("changed_at", TS, nullable=False),
)
Index("ix_administrators_instance", administrators.c.instance_id, administrators.c.user_id)

targets = Table(
    "targets",
    metadata,
    Column("id", ID, primary_key=True),
    Column("instance_id", ID, nullable=False),
    Column("name", String(200), nullable=False),
    Column("endpoint", String(2048), nullable=False),
    Column("timeout_seconds", Float, nullable=False),
    Column("target_type", String(20), nullable=False),
    Column("interrupt_on_error", Boolean, nullable=False),
    Column("headers_sealed", Text, nullable=True),
    Column("signing_keys_sealed", Text, nullable=False),
    Column("paused", Boolean, nullable=False, default=False, server_default=false()),
    Column("created_at", TS, nullable=False),
    Column("changed_at", TS, nullable=False),
    # PAYLOAD_TYPE_JSON, _JWT or _JWE (docs/api.md, "Payload types").
    Column("payload_type", String(30), nullable=False, server_default="PAYLOAD_TYPE_JSON"),
)

# The public keys a target registered for JWE payloads; at most one active. Public, so
# stored in the clear.
target_public_keys = Table(
    "target_public_keys",
    metadata,
    Column("id", ID, primary_key=True),
    Column("instance_id", ID, nullable=False),
    Column("target_id", ID, nullable=False),
    Column("public_key_pem", Text, nullable=False),
    Column("fingerprint", String(80), nullable=False),
    Column("algorithm", String(30), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("expires_at", TS, nullable=True),
    Column("created_at", TS, nullable=False),
    Column("changed_at", TS, nullable=False),
)
Index(
    "ix_target_public_keys_target", target_public_keys.c.target_id, target_public_keys.c.created_at
)

executions = Table(
    "executions",
    metadata,
    Column("instance_id", ID, primary_key=True),
    Column("condition_key", String(300), primary_key=True),
    Column("target_ids", Text, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("changed_at", TS, nullable=False),
)

execution_calls = Table(
    "execution_calls",
    metadata,
    Column("id", ID, primary_key=True),
    Column("instance_id", ID, nullable=False),
    Column("target_id", ID, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("trigger", String(300), nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("duration_ms", Float, nullable=False),
    Column("error", Text, nullable=True),
    Column("created_at", TS, nullable=False),
    # The first CALL_BODY_CHARS of what the target got (secrets removed) and answered,
    # and the status the API caller got when the target interrupted the call.
    Column("request_body", Text, nullable=True),
    Column("response_body", Text, nullable=True),
    Column("caller_status", Integer, nullable=True),
)
Index("ix_execution_calls_target", execution_calls.c.target_id, execution_calls.c.created_at)
Index("ix_execution_calls_created", execution_calls.c.created_at)
# ListTargetCalls: the instance's calls newest first, and their count, from the index alone.
Index("ix_execution_calls_instance", execution_calls.c.instance_id, execution_calls.c.id)
Index(
    "ix_execution_calls_instance_created",
    execution_calls.c.instance_id,
    execution_calls.c.created_at,
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", ID, primary_key=True),
    Column("instance_id", ID, nullable=False),
    Column("user_id", ID, nullable=False),
    Column("org_id", ID, nullable=False),
    Column("login_name", String(200), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("password_checked_at", TS, nullable=True),
    Column("sequence", Integer, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("changed_at", TS, nullable=False),
)
Index("ix_sessions_user", sessions.c.user_id)

# The outbox: one row per (event or async call, target), written in the transaction
# that appends the event. ``attempts`` is the position in the retry schedule.
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", ID, primary_key=True),
    Column("instance_id", ID, nullable=False),
    Column("target_id", ID, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("trigger", String(300), nullable=False),
    Column("event_position", BigInteger, nullable=True),
    Column("payload", Text, nullable=False),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", TS, nullable=False),
    Column("lease_owner", String(80), nullable=True),
    Column("lease_until", TS, nullable=True),
    Column("last_status_code", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
)
# The worker's claims: per target, its pending deliveries in due order (delivery_queue).
Index(
    "ix_deliveries_target_due",
    deliveries.c.status,
    deliveries.c.target_id,
    deliveries.c.next_attempt_at,
)
Index("ix_deliveries_target", deliveries.c.target_id, deliveries.c.created_at)
Index("ix_deliveries_finished", deliveries.c.status, deliveries.c.updated_at)
# ListDeliveries: the instance's deliveries in id order, and their count, from the index
# alone (the rows carry their bodies: a scan of the table reads every body).
Index("ix_deliveries_instance", deliveries.c.instance_id, deliveries.c.id)
# The overview: an instance's deliveries of the last 24 hours.
Index("ix_deliveries_instance_created", deliveries.c.instance_id, deliveries.c.created_at)

delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("id", ID, primary_key=True),
    Column("delivery_id", ID, nullable=False),
    Column("worker", String(80), nullable=False),
    Column("attempted_at", TS, nullable=False),
    Column("duration_ms", Float, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("response_body", Text, nullable=True),
    Column("error", Text, nullable=True),
    # The headers sent (a JSON object), custom header values masked; NULL when nothing
    # was sent (the network policy refused, the target was deleted) and before 0016.
    Column("request_headers", Text, nullable=True),
)
Index("ix_delivery_attempts_delivery", delivery_attempts.c.delivery_id)

# Per target, source ("call" or "delivery") and hour: what succeeded and failed, and a
# histogram of durations (keyhook.storage.target_stats), kept where calls and attempts
# are written. Bucket bNN holds durations up to 2^((NN - 4) / 4) ms.
target_stats = Table(
    "target_stats",
    metadata,
    Column("instance_id", ID, primary_key=True),
    Column("target_id", ID, primary_key=True),
    Column("source", String(10), primary_key=True),
    Column("hour_at", TS, primary_key=True),
    Column("succeeded", BigInteger, nullable=False),
    Column("failed", BigInteger, nullable=False),
    Column("gave_up", BigInteger, nullable=False),
    # The hour's last call or attempt: when, the call's or the delivery's id, how it went.
    Column("last_at", TS, nullable=False),
    Column("last_ref", ID, nullable=False),
    Column("last_status", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("last_ok", Boolean, nullable=False),
    *(
        Column(f"b{i:02d}", BigInteger, nullable=False, server_default="0")
        for i in range(STAT_BUCKETS)
    ),
)
# The overview and the targets' health: an instance's rows of the last 24 hours.
Index("ix_target_stats_instance_hour", target_stats.c.instance_id, target_stats.c.hour_at)

projects = Table(
    "projects",
    metadata,
    Column("id", ID, primary_key=True),
    Column("instance_id", ID, nullable=False),
    Column("org_id", ID, nullable=False),
    Column("name", String(200), nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("changed_at", TS, nullable=False),
)

# OIDC applications. The client secret is stored as an argon2 hash and shown once.
applications = Table(
    "applications",
    metadata,
    Column("id", ID, primary_key=True),
    Column("instance_id", ID, nullable=False),
    Column("project_id", ID, nullable=False),
    Column("name", String(200), nullable=False),
    Column("client_id", String(100), nullable=False, unique=True),
    Column("client_secret_hash", Text, nullable=True),
    Column("app_type", String(20), nullable=False),
    Column("auth_method", String(20), nullable=False),
    Column("redirect_uris", Text, nullable=False),
    Column("post_logout_redirect_uris", Text, nullable=False),
    Column("grant_types", Text, nullable=False),
    Column("response_types", Text, nullable=False),
    Column("access_token_type", String(20), nullable=False),
    # id_token_signed_response_alg (RS256, ES256, ...); null: the OpenID Connect default
    Column("id_token_alg", String(10), nullable=True),
    Column("sequence", Integer, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("changed_at", TS, nullable=False),
)
Index("ix_applications_project", applications.c.project_id)

# Keys that sign ID and access tokens (web keys); the private half is sealed with the
# master key. ``state`` is initial, active (the one that signs) or inactive; ``active``
# mirrors state = active. An inactive key stays published (JWKS) until ``retired_until``
# so its tokens still verify. ``key_config`` is the WebKey's type as JSON
# ({"rsa":{"bits","hasher"}}, {"ecdsa":{"curve"}} or {"ed25519":{}}).
oidc_signing_keys = Table(
    "oidc_signing_keys",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("instance_id", ID, nullable=False),
    Column("algorithm", String(10), nullable=False),
    Column("private_key_sealed", Text, nullable=False),
    Column("public_jwk", Text, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("retired_until", TS, nullable=True),
    Column("created_at", TS, nullable=False),
    Column("state", String(20), nullable=False),
    Column("key_config", Text, nullable=False),
    Column("changed_at", TS, nullable=False),
)

# An authorization request from /oauth/v2/authorize, until its code is exchanged.
# ``code_hash`` is the SHA-256 of the code handed to the client (the code itself is
# never stored); ``status`` is pending, code, exchanged or failed.
oidc_auth_requests = Table(
    "oidc_auth_requests",
    metadata,
    Column("id", ID, primary_key=True),
    Column("instance_id", ID, nullable=False),
    Column("app_id", ID, nullable=False),
    Column("client_id", String(100), nullable=False),
    Column("redirect_uri", Text, nullable=False),
    Column("scopes", Text, nullable=False),
    Column("state", Text, nullable=True),
    Column("nonce", Text, nullable=True),
    Column("code_challenge", String(128), nullable=True),
    Column("user_id", ID, nullable=True),
    Column("session_id", ID, nullable=True),
    Column("auth_time", TS, nullable=True),
    Column("code_hash", String(64), nullable=True, unique=True),
    Column("code_expires_at", TS, nullable=True),
    Column("oidc_session_id", ID, nullable=True),
    Column("status", String(20), nullable=False),
    Column("expires_at", TS, nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("changed_at", TS, nullable=False),
)
Index("ix_oidc_auth_requests_expires", oidc_auth_requests.c.expires_at)

# A grant: what one code exchange or client credentials request started. The current
# refresh token is kept as its SHA-256; rotation replaces it, so an old one no longer
# matches anything.
oidc_sessions = Table(
    "oidc_sessions",
    metadata,
    Column("id", ID, primary_key=True),
    Column("instance_id", ID, nullable=False),
    Column("user_id", ID, nullable=False),
    Column("org_id", ID, nullable=False),
    Column("client_id", String(100), nullable=False),
    Column("scopes", Text, nullable=False),
    Column("auth_time", TS, nullable=True),
    Column("login_session_id", ID, nullable=True),
    Column("refresh_token_hash", String(64), nullable=True, unique=True),
    Column("refresh_expires_at", TS, nullable=True),
    Column("revoked", Boolean, nullable=False, server_default=false()),
    # authorization_code or client_credentials: whose tokens these are (an app's or a
    # machine user's), never guessed from the client id.
    Column("grant_type", String(30), nullable=False, server_default="authorization_code"),
    Column("sequence", Integer, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("changed_at", TS, nullable=False),
)
Index("ix_oidc_sessions_user", oidc_sessions.c.user_id)
Index("ix_oidc_sessions_login_session", oidc_sessions.c.login_session_id)
Index("ix_oidc_sessions_changed", oidc_sessions.c.changed_at)

# Refresh tokens replaced by rotation, by hash: one presented again means it was
# stolen or leaked, and its grant is revoked (RFC 9700 §4.14.2).
oidc_rotated_refresh_tokens = Table(
    "oidc_rotated_refresh_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("oidc_session_id", ID, nullable=False),
    Column("rotated_at", TS, nullable=False),
)
Index("ix_oidc_rotated_refresh_tokens_session", oidc_rotated_refresh_tokens.c.oidc_session_id)

# Access tokens by id (the JWT's ``jti``); an opaque (bearer) token is found by its hash.
oidc_access_tokens = Table(
    "oidc_access_tokens",
    metadata,
    Column("id", ID, primary_key=True),
    Column("instance_id", ID, nullable=False),
    Column("oidc_session_id", ID, nullable=False),
    Column("user_id", ID, nullable=False),
    Column("client_id", String(100), nullable=False),
    Column("scopes", Text, nullable=False),
    Column("token_hash", String(64), nullable=True, unique=True),
    Column("expires_at", TS, nullable=False),
    Column("revoked", Boolean, nullable=False, server_default=false()),
    Column("created_at", TS, nullable=False),
)
Index("ix_oidc_access_tokens_session", oidc_access_tokens.c.oidc_session_id)
Index("ix_oidc_access_tokens_expires", oidc_access_tokens.c.expires_at)

# Relay targets across nodes (PostgreSQL; keyhook.actions.relay_peers): the node whose
# socket holds a relay target's listener, kept alive by a heartbeat, and the calls made
# on one node for a listener on another, with their answers (ids travel by NOTIFY).
relay_listeners = Table(
    "relay_listeners",
    metadata,
    Column("target_id", ID, primary_key=True),
    Column("node_id", String(32), nullable=False),
    Column("heartbeat_at", TS, nullable=False),
)
relay_calls = Table(
    "relay_calls",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("target_id", ID, nullable=False),
    Column("from_node", String(32), nullable=False),
    Column("request", LargeBinary, nullable=False),
    Column("answer", LargeBinary, nullable=True),
    Column("created_at", TS, nullable=False),
)
