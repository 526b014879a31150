"""oidc grants, tokens, machine secrets

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_table(
        "oidc_access_tokens",
        sa.Column("id", sa.String(length=20), nullable=False),
        sa.Column("instance_id", sa.String(length=20), nullable=False),
        sa.Column("oidc_session_id", sa.String(length=20), nullable=False),
        sa.Column("user_id", sa.String(length=20), nullable=False),
        sa.Column("client_id", sa.String(length=100), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("oidc_access_tokens", schema=None) as batch_op:
        batch_op.create_index("ix_oidc_access_tokens_session", ["oidc_session_id"], unique=False)

    op.create_table(
        "oidc_auth_requests",
        sa.Column("id", sa.String(length=20), nullable=False),
        sa.Column("instance_id", sa.String(length=20), nullable=False),
        sa.Column("app_id", sa.String(length=20), nullable=False),
        sa.Column("client_id", sa.String(length=100), nullable=False),
        sa.Column("redirect_uri", sa.Text(), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=True),
        sa.Column("nonce", sa.Text(), nullable=True),
        sa.Column("code_challenge", sa.String(length=128), nullable=True),
        sa.Column("user_id", sa.String(length=20), nullable=True),
        sa.Column("session_id", sa.String(length=20), nullable=True),
        sa.Column("auth_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("code_hash", sa.String(length=64), nullable=True),
        sa.Column("code_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("oidc_session_id", sa.String(length=20), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code_hash"),
    )
    op.create_table(
        "oidc_sessions",
        sa.Column("id", sa.String(length=20), nullable=False),
        sa.Column("instance_id", sa.String(length=20), nullable=False),
        sa.Column("user_id", sa.String(length=20), nullable=False),
        sa.Column("org_id", sa.String(length=20), nullable=False),
        sa.Column("client_id", sa.String(length=100), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("auth_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("login_session_id", sa.String(length=20), nullable=True),
        sa.Column("refresh_token_hash", sa.String(length=64), nullable=True),
        sa.Column("refresh_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("refresh_token_hash"),
    )
    with op.batch_alter_table("oidc_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_oidc_sessions_login_session", ["login_session_id"], unique=False)
        batch_op.create_index("ix_oidc_sessions_user", ["user_id"], unique=False)

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("secret_hash", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("secret_hash")

    with op.batch_alter_table("oidc_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_oidc_sessions_user")
        batch_op.drop_index("ix_oidc_sessions_login_session")

    op.drop_table("oidc_sessions")
    op.drop_table("oidc_auth_requests")
    with op.batch_alter_table("oidc_access_tokens", schema=None) as batch_op:
        batch_op.drop_index("ix_oidc_access_tokens_session")

    op.drop_table("oidc_access_tokens")
