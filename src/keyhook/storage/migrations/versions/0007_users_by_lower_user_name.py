"""users found by their user name in any case

Client credentials and the login page look a user up by ``lower(user_name)``;
without this index each lookup read every user (issue 9: flat cost as the data
grows).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.create_index("ix_users_lower_user_name", "users", [sa.text("lower(user_name)")])


def downgrade() -> None:
    op.drop_index("ix_users_lower_user_name", table_name="users")
