"""deliveries due by target: claims walk each target's due rows, not every pending row

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deliveries_target_due", ["status", "target_id", "next_attempt_at"], unique=False
        )
        batch_op.drop_index("ix_deliveries_due")


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_deliveries_due", ["status", "next_attempt_at"], unique=False)
        batch_op.drop_index("ix_deliveries_target_due")
