"""row counts: the exact totals of lists, kept in the write transactions

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    op.create_table(
        "row_counts",
        sa.Column("instance_id", sa.String(length=20), nullable=False),
        sa.Column("table_name", sa.String(length=40), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("row_count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("instance_id", "table_name", "slot"),
    )
    # The users already there, counted once; from now on the projections keep the total.
    op.execute(
        "INSERT INTO row_counts (instance_id, table_name, slot, row_count) "
        "SELECT instance_id, 'users', 0, count(*) FROM users GROUP BY instance_id"
    )


def downgrade() -> None:
    op.drop_table("row_counts")
