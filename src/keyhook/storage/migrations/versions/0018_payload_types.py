"""payload types: a target's payloadType, and the public keys JWE payloads are encrypted to

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"


def upgrade() -> None:
    with op.batch_alter_table("targets") as batch:
        batch.add_column(
            sa.Column(
                "payload_type",
                sa.String(length=30),
                nullable=False,
                server_default="PAYLOAD_TYPE_JSON",
            )
        )
    op.create_table(
        "target_public_keys",
        sa.Column("id", sa.String(length=20), nullable=False),
        sa.Column("instance_id", sa.String(length=20), nullable=False),
        sa.Column("target_id", sa.String(length=20), nullable=False),
        sa.Column("public_key_pem", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(length=80), nullable=False),
        sa.Column("algorithm", sa.String(length=30), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_target_public_keys_target", "target_public_keys", ["target_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_target_public_keys_target", table_name="target_public_keys")
    op.drop_table("target_public_keys")
    with op.batch_alter_table("targets") as batch:
        batch.drop_column("payload_type")
