"""grant types, rotated refresh tokens

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.create_table(
        "oidc_rotated_refresh_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("oidc_session_id", sa.String(length=20), nullable=False),
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    with op.batch_alter_table("oidc_rotated_refresh_tokens", schema=None) as batch_op:
        batch_op.create_index(
            "ix_oidc_rotated_refresh_tokens_session", ["oidc_session_id"], unique=False
        )

    with op.batch_alter_table("oidc_sessions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "grant_type",
                sa.String(length=30),
                server_default="authorization_code",
                nullable=False,
            )
        )
    # Grants made before this column: client credentials ones name no application.
    op.execute(
        "UPDATE oidc_sessions SET grant_type = 'client_credentials' "
        "WHERE client_id NOT IN (SELECT client_id FROM applications)"
    )


def downgrade() -> None:
    with op.batch_alter_table("oidc_sessions", schema=None) as batch_op:
        batch_op.drop_column("grant_type")

    with op.batch_alter_table("oidc_rotated_refresh_tokens", schema=None) as batch_op:
        batch_op.drop_index("ix_oidc_rotated_refresh_tokens_session")

    op.drop_table("oidc_rotated_refresh_tokens")
