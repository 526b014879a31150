"""administrators: users' roles on the instance and on organizations; a password
the user must change at its next sign-in; user names unique in the instance

User names were unique per organization only, while the login page and client
credentials find a user by name across the instance, so an organization's
administrator could shadow another organization's user. The claim ``login_name``
now holds each name once per instance; names already shared by users of two
organizations (which a new instance cannot have) keep one claim between them.

The admin machine user each instance was set up with becomes its ``IAM_OWNER``, as
first start makes it from now on (with an ``instance.member.added`` event; an
instance set up before this migration has its row only).

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"


def upgrade() -> None:
    op.create_table(
        "administrators",
        sa.Column("user_id", sa.String(length=20), nullable=False),
        sa.Column("resource_id", sa.String(length=20), nullable=False),
        sa.Column("instance_id", sa.String(length=20), nullable=False),
        sa.Column("resource_type", sa.String(length=20), nullable=False),
        sa.Column("roles", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "resource_id"),
    )
    op.create_index("ix_administrators_instance", "administrators", ["instance_id", "user_id"])
    op.execute(
        "INSERT INTO unique_constraints (instance_id, unique_type, unique_field) "
        "SELECT instance_id, 'login_name', lower(user_name) FROM users "
        "GROUP BY instance_id, lower(user_name)"
    )
    op.add_column(
        "users",
        sa.Column(
            "password_change_required",
            sa.Boolean(),
            nullable=False,
            server_default=sa.false(),
        ),
    )
    op.execute(
        "INSERT INTO administrators (user_id, resource_id, instance_id, resource_type, roles, "
        "created_at, changed_at) SELECT admin_user_id, id, id, 'instance', '[\"IAM_OWNER\"]', "
        "created_at, created_at FROM instances"
    )


def downgrade() -> None:
    op.execute("DELETE FROM unique_constraints WHERE unique_type = 'login_name'")
    op.drop_column("users", "password_change_required")
    op.drop_index("ix_administrators_instance", table_name="administrators")
    op.drop_table("administrators")
