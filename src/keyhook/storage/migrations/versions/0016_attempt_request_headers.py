"""attempt request headers: what Keyhook sent on each delivery attempt

The headers as written on the wire, custom header values masked (they are secrets and
never stored in the log in clear): a JSON object of header names to values.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"


def upgrade() -> None:
    op.add_column("delivery_attempts", sa.Column("request_headers", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("delivery_attempts", "request_headers")
