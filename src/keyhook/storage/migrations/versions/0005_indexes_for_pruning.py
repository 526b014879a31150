"""indexes for pruning

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_deliveries_finished", ["status", "updated_at"], unique=False)

    with op.batch_alter_table("execution_calls", schema=None) as batch_op:
        batch_op.create_index("ix_execution_calls_created", ["created_at"], unique=False)

    with op.batch_alter_table("oidc_access_tokens", schema=None) as batch_op:
        batch_op.create_index("ix_oidc_access_tokens_expires", ["expires_at"], unique=False)

    with op.batch_alter_table("oidc_auth_requests", schema=None) as batch_op:
        batch_op.create_index("ix_oidc_auth_requests_expires", ["expires_at"], unique=False)

    with op.batch_alter_table("oidc_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_oidc_sessions_changed", ["changed_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("oidc_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_oidc_sessions_changed")

    with op.batch_alter_table("oidc_auth_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_oidc_auth_requests_expires")

    with op.batch_alter_table("oidc_access_tokens", schema=None) as batch_op:
        batch_op.drop_index("ix_oidc_access_tokens_expires")

    with op.batch_alter_table("execution_calls", schema=None) as batch_op:
        batch_op.drop_index("ix_execution_calls_created")

    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_finished")
