"""call bodies: what a synchronous target got and answered, and what the caller was told

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"


def upgrade() -> None:
    op.add_column("execution_calls", sa.Column("request_body", sa.Text(), nullable=True))
    op.add_column("execution_calls", sa.Column("response_body", sa.Text(), nullable=True))
    op.add_column("execution_calls", sa.Column("caller_status", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("execution_calls", "caller_status")
    op.drop_column("execution_calls", "response_body")
    op.drop_column("execution_calls", "request_body")
