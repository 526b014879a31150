"""indexes for lists

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index("ix_users_instance", ["instance_id", "id"], unique=False)

    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_deliveries_instance", ["instance_id", "id"], unique=False)

    with op.batch_alter_table("execution_calls", schema=None) as batch_op:
        batch_op.create_index("ix_execution_calls_instance", ["instance_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("execution_calls", schema=None) as batch_op:
        batch_op.drop_index("ix_execution_calls_instance")

    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_instance")

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("ix_users_instance")
