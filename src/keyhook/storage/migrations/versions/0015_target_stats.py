"""target stats: per target and hour, what succeeded and failed and how long it took

Counted from the calls and attempts already stored (keyhook.storage.target_stats).

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from keyhook.storage.target_stats import rebuild_sql

revision = "0015"
down_revision = "0014"
BUCKETS = 78


def upgrade() -> None:
    op.create_table(
        "target_stats",
        sa.Column("instance_id", sa.String(length=20), nullable=False),
        sa.Column("target_id", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("hour_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("succeeded", sa.BigInteger(), nullable=False),
        sa.Column("failed", sa.BigInteger(), nullable=False),
        sa.Column("gave_up", sa.BigInteger(), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_ref", sa.String(length=20), nullable=False),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_ok", sa.Boolean(), nullable=False),
        *(
            sa.Column(f"b{i:02d}", sa.BigInteger(), nullable=False, server_default="0")
            for i in range(BUCKETS)
        ),
        sa.PrimaryKeyConstraint("instance_id", "target_id", "source", "hour_at"),
    )
    op.create_index("ix_target_stats_instance_hour", "target_stats", ["instance_id", "hour_at"])
    bind = op.get_bind()
    # Driver SQL: the statement's text holds colons that are not parameters.
    bind.exec_driver_sql(rebuild_sql(bind.dialect.name == "sqlite"))


def downgrade() -> None:
    op.drop_index("ix_target_stats_instance_hour", table_name="target_stats")
    op.drop_table("target_stats")
