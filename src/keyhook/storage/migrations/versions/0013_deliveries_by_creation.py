"""deliveries by creation: the overview's last 24 hours from an index

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"


def upgrade() -> None:
    op.create_index("ix_deliveries_instance_created", "deliveries", ["instance_id", "created_at"])
    op.create_index(
        "ix_execution_calls_instance_created", "execution_calls", ["instance_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_execution_calls_instance_created", table_name="execution_calls")
    op.drop_index("ix_deliveries_instance_created", table_name="deliveries")
